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

/**
 * `cache-control: no-store` on every GraphQL answer, as Apollo's cache-control
 * plugin sends for an answer that is not cacheable: for the subgraphs, which
 * turn that plugin off (it runs a hook on every field resolved, and nothing of
 * theirs is cacheable).
 */
export function noStorePlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          response.http.headers.set('cache-control', 'no-store');
        },
      };
    },
  };
}
