import type { ApolloServerPlugin } from '@apollo/server';
import type { ServiceMetrics } from '../metrics/metrics.js';
import { operationLabel } from './operation-names.js';

/**
 * Counts GraphQL operations by name and outcome. Only `known` names (and the
 * gateway's fetches for them) are counted by name; any other is `other`, so a
 * caller cannot grow the metrics by naming operations.
 */
export function metricsPlugin(metrics: ServiceMetrics, known: ReadonlySet<string>): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ operationName, response }) {
          const failed = response.body.kind === 'single' && (response.body.singleResult.errors?.length ?? 0) > 0;
          metrics.graphqlOperations.inc({ operation: operationLabel(operationName, known), outcome: failed ? 'error' : 'success' });
        },
      };
    },
  };
}
