import type { FastifyInstance } from 'fastify';
import type { ApiKeyVerifier } from '../../lib/auth/api-key.js';
import { AppError } from '../../lib/errors.js';
import { readGraphQLLimits, type GraphQLLimits } from '../../lib/graphql/limits.js';
import { readKnownOperationNames } from '../../lib/graphql/operation-names.js';
import { mountGraphQL } from '../../lib/graphql/route.js';
import { createHttpService } from '../../lib/http/service.js';
import type { Logger } from '../../lib/logging/logger.js';
import { ServiceMetrics } from '../../lib/metrics/metrics.js';
import { createGatewayServer, type SubgraphEndpoints } from './gateway.js';
import { projectRoutes } from './rest/project-routes.js';

export interface GatewayAppOptions {
  log: Logger;
  apiKey: ApiKeyVerifier;
  subgraphs: SubgraphEndpoints;
  metrics?: ServiceMetrics;
  /** How large a GraphQL operation may be; from GRAPHQL_MAX_* when absent. */
  graphqlLimits?: GraphQLLimits;
  /** Operation names counted by name in the metrics; the REST shims' and GRAPHQL_METRICS_OPERATION_NAMES when absent. */
  knownOperations?: ReadonlySet<string>;
}

/** The approval service: the federated graph at `/graphql` and the CLI's `/project/*` REST shims. */
export async function buildGatewayApp(options: GatewayAppOptions): Promise<FastifyInstance> {
  const metrics = options.metrics ?? new ServiceMetrics('approval');
  const app = createHttpService({
    name: 'approval',
    description: 'The approval service: the single entry point. REST shims for the CR8TOR CLI over the federated GraphQL graph at /graphql.',
    metrics,
    logger: options.log,
    apiKey: options.apiKey,
    readiness: (['metadata', 'publish'] as const).map((name) => () => subgraphReady(name, options.subgraphs[name].url)),
  });
  const graph = await createGatewayServer(options.subgraphs, options.log, metrics, options.graphqlLimits ?? readGraphQLLimits(), options.knownOperations ?? readKnownOperationNames());
  app.addHook('onClose', async () => graph.stop());
  projectRoutes(app, graph);
  mountGraphQL(app, graph, async (request) => request.call);
  return app;
}

/** A subgraph is ready when its own readiness probe answers 200. */
async function subgraphReady(name: string, graphqlUrl: string): Promise<void> {
  const url = new URL('/readyz', graphqlUrl);
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) throw new AppError('SUBGRAPH_UNAVAILABLE', `The ${name} service is not ready (HTTP ${res.status}).`);
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('SUBGRAPH_UNAVAILABLE', `The ${name} service is unreachable at ${url.origin}.`);
  }
}
