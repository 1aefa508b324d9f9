import type { ApolloServer, BaseContext } from '@apollo/server';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bracketNesting, MAX_NESTING } from './limits.js';

/**
 * Mounts `apollo` at `/graphql` (GET and POST), with the request's call
 * context. Requests Apollo Server would answer unclearly, or should never see,
 * are refused here first (see {@link refusal}).
 */
export function mountGraphQL<Context extends BaseContext>(
  app: FastifyInstance,
  apollo: ApolloServer<Context>,
  context: (request: FastifyRequest) => Promise<Context>,
): void {
  app.route({
    method: ['GET', 'POST'],
    url: '/graphql',
    preHandler: refuseEarly,
    handler: fastifyApolloHandler(apollo, { context }),
  });
  // GraphQL over HTTP is GET and POST: another method on /graphql is a 405 saying so.
  app.route({
    method: ['PUT', 'PATCH', 'DELETE'],
    url: '/graphql',
    handler: async (request, reply) => {
      reply.header('allow', 'GET, POST');
      await refuse(request, reply, { status: 405, code: 'BAD_REQUEST', detail: 'Send GraphQL operations with POST (or queries with GET).' });
    },
  });
}

/** A request refused before Apollo Server sees it. */
interface Refusal {
  status: number;
  code: string;
  detail: string;
}

async function refuseEarly(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const refused = refusal(request);
  if (refused) await refuse(request, reply, refused);
}

/** Answers a refusal as Apollo Server answers its own (a GraphQL error with code, status and detail), logged at info. */
async function refuse(request: FastifyRequest, reply: FastifyReply, { status, code, detail }: Refusal): Promise<void> {
  request.log.info({ code, status, detail }, 'GraphQL request refused');
  await reply.code(status).send({ errors: [{ message: detail, extensions: { code, status, detail } }] });
}

/**
 * Why a request is refused before Apollo Server parses it, if it is:
 * - a POST body that is not JSON (415; Fastify parses text/plain bodies, and refuses other types with 415 itself);
 * - a batch, a JSON array of operations (400; one operation per request);
 * - a persisted query (400; none is stored, and Apollo Server's own answer is a 200);
 * - a document nesting brackets deeper than {@link MAX_NESTING} (400): graphql-js's
 *   parser recurses once per level, so such a document could overflow the stack,
 *   and Apollo Server's hooks cannot refuse a document before parsing it.
 */
function refusal(request: FastifyRequest): Refusal | undefined {
  const params = request.method === 'GET' ? request.query : request.body;
  const mediaType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (request.method === 'POST' && mediaType && mediaType !== 'application/json') {
    return { status: 415, code: 'BAD_REQUEST', detail: 'Unsupported content type: send the operation as application/json.' };
  }
  if (Array.isArray(params)) return { status: 400, code: 'BAD_REQUEST', detail: 'Batched operations (a JSON array) are not accepted: send one operation per request.' };
  if (typeof params !== 'object' || params === null) return undefined;
  const { query, extensions } = params as { query?: unknown; extensions?: unknown };
  if (persistedQuery(extensions)) {
    return { status: 400, code: 'PERSISTED_QUERY_NOT_SUPPORTED', detail: 'Persisted queries are not supported: send the operation itself in `query`.' };
  }
  if (typeof query === 'string' && bracketNesting(query) > MAX_NESTING) {
    return { status: 400, code: 'GRAPHQL_PARSE_FAILED', detail: `Syntax Error: Document nests brackets more than ${MAX_NESTING} levels deep.` };
  }
  return undefined;
}

/** Whether a request's `extensions` (an object, or JSON text in a GET) asks for a persisted query. */
function persistedQuery(extensions: unknown): boolean {
  let value = extensions;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return false; // Apollo Server refuses malformed extensions itself.
    }
  }
  return typeof value === 'object' && value !== null && 'persistedQuery' in value;
}
