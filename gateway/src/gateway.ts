import { readFileSync } from 'node:fs';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { offlinePlugins } from '../../lib/graphql/apollo-plugins.js';
import { SUPERGRAPH_PATH } from '../../lib/graphql/compose.js';
import { apolloCaches, QUERY_PLAN_CACHE_MIB } from '../../lib/graphql/caches.js';
import { errorLogPlugin, formatGraphQLError } from '../../lib/graphql/errors.js';
import { graphqlLimitsPlugin, parseOptions, type GraphQLLimits } from '../../lib/graphql/limits.js';
import type { ConnectionLimits } from '../../lib/http/plugins/timeouts.js';
import type { Logger } from '../../lib/logging/logger.js';
import type { ServiceMetrics } from '../../lib/metrics/metrics.js';
import { metricsPlugin } from '../../lib/graphql/metrics-plugin.js';
import { operationCheckPlugin } from '../../lib/graphql/operation-check.js';
import type { GatewayContext } from './context.js';
import { subgraphFetcher } from './subgraph-fetcher.js';
import { SubgraphSource } from './subgraph-source.js';

/** Where and with which key the gateway reaches each subgraph. */
export interface SubgraphEndpoints {
  metadata: { url: string; apiKey: string };
  publish: { url: string; apiKey: string };
}

/**
 * The federated graph: an Apollo Gateway over the checked-in supergraph
 * (schema/supergraph.graphql), routing to the configured subgraph URLs rather
 * than the placeholders composed into the file. Apollo's anonymous usage
 * telemetry is switched off here, in code: nothing leaves a secure environment.
 * Operations beyond `limits` are refused before they are planned (the REST
 * shims' operations fit the smallest limits the settings allow). Operations are
 * counted by name only when `knownOperations` names them.
 */
export async function createGatewayServer(
  endpoints: SubgraphEndpoints,
  log: Logger,
  metrics: ServiceMetrics,
  limits: GraphQLLimits,
  knownOperations: ReadonlySet<string>,
  connections: Pick<ConnectionLimits, 'keepAliveTimeoutMs'>,
): Promise<ApolloServer<GatewayContext>> {
  process.env.APOLLO_TELEMETRY_DISABLED = '1';
  const fetcher = subgraphFetcher(connections.keepAliveTimeoutMs);
  const gateway = new ApolloGateway({
    supergraphSdl: readFileSync(SUPERGRAPH_PATH, 'utf8'),
    buildService: ({ name }) => {
      const endpoint = endpoints[name as keyof SubgraphEndpoints];
      if (!endpoint) throw new Error(`The supergraph names an unknown subgraph '${name}'.`);
      return new SubgraphSource(name, endpoint.url, endpoint.apiKey, fetcher, log);
    },
    logger: log,
    experimental_approximateQueryPlanStoreMiB: QUERY_PLAN_CACHE_MIB,
  });
  const server = new ApolloServer<GatewayContext>({
    gateway,
    formatError: formatGraphQLError(log),
    includeStacktraceInErrorResponses: false,
    // SIGTERM/SIGINT belong to lib/service/run.ts, which closes the whole service (Apollo with it).
    stopOnTerminationSignals: false,
    parseOptions: parseOptions(limits),
    ...apolloCaches(),
    plugins: [
      ...offlinePlugins(),
      operationCheckPlugin(),
      graphqlLimitsPlugin(limits),
      metricsPlugin(metrics, knownOperations),
      errorLogPlugin(log),
      // The subgraph connections close with the server (after in-flight calls have drained).
      { serverWillStart: async () => ({ serverWillStop: async () => fetcher.close() }) },
    ],
  });
  await server.start();
  return server;
}
