import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginSchemaReportingDisabled, ApolloServerPluginUsageReportingDisabled } from '@apollo/server/plugin/disabled';

/**
 * Plugins every Apollo Server of ours installs: nothing reports to Apollo's
 * cloud (usage or schema), and no landing page loads scripts from a CDN. A
 * secure environment must not phone home.
 */
export function offlinePlugins(): ApolloServerPlugin[] {
  return [ApolloServerPluginUsageReportingDisabled(), ApolloServerPluginSchemaReportingDisabled(), ApolloServerPluginLandingPageDisabled()];
}
