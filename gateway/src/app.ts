import type { FastifyInstance } from 'fastify';
import { AuditLog } from '../../lib/audit/audit-log.js';
import type { ApiKeyVerifier } from '../../lib/auth/api-key.js';
import { API_KEY_HEADER } from '../../lib/auth/api-key.js';
import { appError } from '../../lib/errors.js';
import { readGraphQLLimits, type GraphQLLimits } from '../../lib/graphql/limits.js';
import { readKnownOperationNames } from '../../lib/graphql/operation-names.js';
import { mountGraphQL } from '../../lib/graphql/route.js';
import { readConnectionLimits, type ConnectionLimits } from '../../lib/http/plugins/timeouts.js';
import { createHttpService } from '../../lib/http/service.js';
import type { Logger } from '../../lib/logging/logger.js';
import { ServiceMetrics } from '../../lib/metrics/metrics.js';
import { explorer, EXPLORER_PATH, SUPERGRAPH_SDL_PATH } from './explorer.js';
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
  /** The audit trail (refused calls); from AUDIT_LOG_PATH when absent. */
  audit?: AuditLog;
  /** Timeouts and the connection cap; from HTTP_* settings when absent. */
  limits?: ConnectionLimits;
}

/** The approval service: the federated graph at `/graphql` (explored at `/explorer`) and the CLI's `/project/*` REST shims. */
export async function buildGatewayApp(options: GatewayAppOptions): Promise<FastifyInstance> {
  const metrics = options.metrics ?? new ServiceMetrics('approval');
  const limits = options.limits ?? readConnectionLimits();
  const app = createHttpService({
    name: 'approval',
    description: 'The approval service: the single entry point. REST shims for the CR8TOR CLI over the federated GraphQL graph at /graphql.',
    metrics,
    logger: options.log,
    apiKey: options.apiKey,
    // The caller is who presented the approval key here: a caller key id header from outside is dropped.
    trustForwardedCaller: false,
    audit: options.audit ?? AuditLog.fromEnv(),
    limits,
    readiness: (['metadata', 'publish'] as const).map((name) => () => subgraphReady(name, options.subgraphs[name], options.log)),
    docLinks: [
      { href: EXPLORER_PATH, text: 'GraphQL explorer (GraphiQL): run operations against /graphql with your key' },
      { href: SUPERGRAPH_SDL_PATH, text: 'The supergraph SDL: every type and field of the federated graph' },
    ],
  });
  const graph = await createGatewayServer(options.subgraphs, options.log, metrics, options.graphqlLimits ?? readGraphQLLimits(), options.knownOperations ?? readKnownOperationNames(), limits);
  app.addHook('onClose', async () => graph.stop());
  app.register(explorer);
  projectRoutes(app, graph);
  mountGraphQL(app, graph, async (request) => request.call);
  return app;
}

/**
 * A subgraph is ready when its own readiness probe answers 200. It is asked
 * with its key, so its reasons reach the gateway's log and its keyed /readyz;
 * where it is (an internal address) goes to the log only.
 */
async function subgraphReady(name: string, endpoint: { url: string; apiKey: string }, log: Logger): Promise<void> {
  const url = new URL('/readyz', endpoint.url);
  let res: Response;
  try {
    res = await fetch(url, { headers: { [API_KEY_HEADER]: endpoint.apiKey }, signal: AbortSignal.timeout(2000) });
  } catch (error) {
    log.warn({ subgraph: name, url: url.origin, err: error }, 'subgraph unreachable');
    throw appError('SUBGRAPH_UNAVAILABLE', { service: name });
  }
  if (res.ok) return;
  const body = (await res.json().catch(() => ({}))) as { problems?: unknown };
  throw appError('SUBGRAPH_UNAVAILABLE', Array.isArray(body.problems) ? { service: name, problems: body.problems.map(String) } : { service: name, status: res.status });
}
