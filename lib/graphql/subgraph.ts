import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { fastifyApolloDrainPlugin } from '@as-integrations/fastify';
import type { FastifyInstance } from 'fastify';
import type { CallContext } from '../http/service.js';
import type { Logger } from '../logging/logger.js';
import type { ServiceMetrics } from '../metrics/metrics.js';
import { metricsPlugin } from './metrics-plugin.js';
import { noStorePlugin, offlinePlugins } from './apollo-plugins.js';
import { apolloCaches } from './caches.js';
import { errorLogPlugin, formatGraphQLError } from './errors.js';
import { graphqlLimitsPlugin, parseOptions, readGraphQLLimits, subgraphLimits, type GraphQLLimits } from './limits.js';
import { operationCheckPlugin } from './operation-check.js';
import { readKnownOperationNames } from './operation-names.js';
import { mountGraphQL } from './route.js';
import { subgraphTypeDefs, type SubgraphName } from './sdl.js';

/** The context every subgraph resolver receives: the call it serves. */
export type SubgraphContext = CallContext;

/** A resolver map: type name → field name → resolver (or `__resolveReference`). */
export type Resolvers = Record<string, object>;

/**
 * Serves a subgraph at `/graphql` on the service's Fastify instance: the SDL
 * from schema/, the given resolvers, our error formatting, nothing phoning home.
 * The `x-api-key` check of the HTTP layer applies to it like to any route.
 * Operations beyond `limits` (from GRAPHQL_MAX_* when absent; see
 * {@link subgraphLimits}) are refused before they run. Operations are counted
 * by name only when `knownOperations` (from GRAPHQL_METRICS_OPERATION_NAMES and
 * the REST shims' when absent) names them.
 */
export async function mountSubgraph(
  app: FastifyInstance,
  name: SubgraphName,
  resolvers: Resolvers,
  log: Logger,
  metrics: ServiceMetrics,
  limits: GraphQLLimits = readGraphQLLimits(),
  knownOperations: ReadonlySet<string> = readKnownOperationNames(),
): Promise<ApolloServer<SubgraphContext>> {
  const allowed = subgraphLimits(limits);
  const apollo = new ApolloServer<SubgraphContext>({
    schema: buildSubgraphSchema({ typeDefs: subgraphTypeDefs(name), resolvers: resolvers as never }),
    formatError: formatGraphQLError(log),
    includeStacktraceInErrorResponses: false,
    // SIGTERM/SIGINT belong to lib/service/run.ts, which closes the whole service (Apollo with it).
    stopOnTerminationSignals: false,
    parseOptions: parseOptions(allowed),
    ...apolloCaches(),
    plugins: [
      ...offlinePlugins(),
      ApolloServerPluginInlineTraceDisabled(),
      // No field is cacheable (no @cacheControl in the SDL): without the plugin's
      // hook on every field resolved, answers are never cached all the same.
      ApolloServerPluginCacheControlDisabled(),
      noStorePlugin(),
      operationCheckPlugin(),
      graphqlLimitsPlugin(allowed),
      metricsPlugin(metrics, knownOperations),
      errorLogPlugin(log),
      fastifyApolloDrainPlugin(app),
    ],
  });
  await apollo.start();
  mountGraphQL(app, apollo, async (request) => request.call);
  return apollo;
}
