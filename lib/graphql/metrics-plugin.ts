import type { ApolloServerPlugin } from '@apollo/server';
import type { ServiceMetrics } from '../metrics/metrics.js';

/** Counts GraphQL operations by name and outcome. */
export function metricsPlugin(metrics: ServiceMetrics): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ operationName, response }) {
          const failed = response.body.kind === 'single' && (response.body.singleResult.errors?.length ?? 0) > 0;
          metrics.graphqlOperations.inc({ operation: operationName ?? 'anonymous', outcome: failed ? 'error' : 'success' });
        },
      };
    },
  };
}
