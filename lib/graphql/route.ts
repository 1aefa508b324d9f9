import type { ApolloServer, BaseContext } from '@apollo/server';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bracketNesting, MAX_NESTING } from './limits.js';

/**
 * Mounts `apollo` at `/graphql` (GET and POST), with the request's call
 * context. A document nesting brackets deeper than {@link MAX_NESTING} is
 * refused here, before Apollo Server parses it: graphql-js's parser recurses
 * once per level, so such a document could overflow the stack, and Apollo
 * Server's own hooks cannot refuse a document before parsing with a 400.
 */
export function mountGraphQL<Context extends BaseContext>(
  app: FastifyInstance,
  apollo: ApolloServer<Context>,
  context: (request: FastifyRequest) => Promise<Context>,
): void {
  app.route({
    method: ['GET', 'POST'],
    url: '/graphql',
    preHandler: refuseDeepNesting,
    handler: fastifyApolloHandler(apollo, { context }),
  });
}

async function refuseDeepNesting(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const source = documentOf(request.method === 'GET' ? request.query : request.body);
  if (source === undefined || bracketNesting(source) <= MAX_NESTING) return;
  const detail = `Syntax Error: Document nests brackets more than ${MAX_NESTING} levels deep.`;
  await reply.code(400).send({ errors: [{ message: detail, extensions: { code: 'GRAPHQL_PARSE_FAILED', status: 400, detail } }] });
}

/** The `query` of a GraphQL request, when it is a string (anything else is Apollo Server's to refuse). */
function documentOf(params: unknown): string | undefined {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return undefined;
  const query = (params as { query?: unknown }).query;
  return typeof query === 'string' ? query : undefined;
}
