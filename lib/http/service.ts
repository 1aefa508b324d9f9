import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { API_KEY_HEADER, type ApiKeyVerifier } from '../auth/api-key.js';
import { failure, parseRequest, success } from '../contract/index.js';
import { AppError, publicError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { ServiceMetrics } from '../metrics/metrics.js';
import { docsPage, openApiDocument, type EndpointDoc } from './openapi.js';

/** What every request handler knows about the call it serves. */
export interface CallContext {
  requestId: string;
  /** The identifier of the API key that authorised the call (never the key). */
  keyId: string;
  log: FastifyBaseLogger;
}

/** Paths that answer without a key: probes, metrics and API docs. */
const OPEN_PATHS = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']);

/**
 * Header the gateway uses to tell a subgraph which key its own caller presented
 * (a key id, never a key). Only a caller holding the subgraph's key can set it.
 */
export const CALLER_KEY_ID_HEADER = 'x-cr8tor-caller-key-id';

/** A caller's `x-request-id` is kept only in this form; anything else gets a fresh id. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Largest request body accepted, in bytes; bigger ones answer 413. */
export const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024;

export interface HttpServiceOptions {
  /** The service name used in logs and messages. */
  name: string;
  logger: Logger;
  apiKey: ApiKeyVerifier;
  bodyLimit?: number;
  /** Extra readiness checks; each throws when the service is not ready. */
  readiness?: Array<() => Promise<void>>;
  metrics: ServiceMetrics;
  /** One line on what the service does, for its API docs. */
  description?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    call: CallContext;
  }
  interface FastifyInstance {
    /** The REST endpoints registered with {@link postEndpoint}, for the API docs. */
    endpointDocs: EndpointDoc[];
  }
}

const VERSION = '0.1.0';

/**
 * A Fastify instance with what every service shares: the contract's envelopes
 * for every error, `x-api-key` checked in constant time on every route but the
 * probes, request ids taken from `x-request-id` or made, and `/healthz`, `/readyz`.
 */
export function createHttpService(options: HttpServiceOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // The caller's id is logged, echoed and forwarded: only a short, plain one is kept.
    requestIdHeader: false,
    genReqId: (request: IncomingMessage) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    // Malformed HTTP and oversized headers answer the envelope too (Node answers before any route).
    clientErrorHandler: clientError,
    // A CLI call may legitimately take up to an hour.
    requestTimeout: 0,
    connectionTimeout: 0,
    // Calls arriving while the service closes answer the contract's envelope (below), not Fastify's own 503 body.
    return503OnClosing: false,
    // One access line per call, written when it answers (below), instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
  });

  app.decorateRequest('call', null as unknown as CallContext);
  app.decorate('endpointDocs', [] as EndpointDoc[]);
  let document: Record<string, unknown> | undefined;
  const apiDocument = () =>
    (document ??= openApiDocument(
      { title: `CR8TOR Publisher — ${options.name} service`, description: options.description ?? '', version: VERSION },
      app.endpointDocs,
    ));
  app.get('/openapi.json', async () => apiDocument());
  app.get('/docs', async (_request, reply) => reply.type('text/html; charset=utf-8').send(docsPage(apiDocument())));

  // Set once close() starts (preClose). Requests still reach the service then: pipelined behind a
  // running call, or on a keep-alive connection racing the close. They answer 503 with the envelope.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  /** Requests received and not yet answered, per connection (a pipelining client queues several). */
  const pending = new WeakMap<object, number>();

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    const socket = request.raw.socket as object | null;
    if (socket) {
      pending.set(socket, (pending.get(socket) ?? 0) + 1);
      reply.raw.once('close', () => pending.set(socket, (pending.get(socket) ?? 1) - 1));
    }
    if (closing) {
      request.log.info('request refused: the service is shutting down');
      return sendError(reply, 503, `The ${options.name} service is shutting down; send the call again (to another instance, or once it has restarted).`);
    }
    const path = request.url.split('?')[0] ?? '';
    const open = OPEN_PATHS.has(path) || !request.routeOptions.url;
    if (!open && !options.apiKey.verify(request.headers[API_KEY_HEADER])) {
      return sendError(reply, 403, 'Could not validate API key. Please provide a valid API key in the x-api-key header.');
    }
    const forwarded = request.headers[CALLER_KEY_ID_HEADER];
    const keyId = typeof forwarded === 'string' && /^key-[0-9a-f]{12}$/.test(forwarded) ? forwarded : options.apiKey.keyId;
    request.call = { requestId: request.id, keyId, log: request.log };
  });

  // Calls still running when the service closes answer with `Connection: close`: otherwise
  // their keep-alive connection would hold the close up for keepAliveTimeout (72 s). Unless
  // another request waits behind it on the same connection: that one must be answered too
  // (its refusal then closes the connection), or its caller would see the connection drop.
  app.addHook('onSend', async (request, reply, payload) => {
    const socket = request.raw.socket as object | null;
    if (closing && (!socket || (pending.get(socket) ?? 0) <= 1)) reply.header('connection', 'close');
    return payload;
  });

  app.addHook('onResponse', async (request, reply) => {
    const labels = { route: request.routeOptions.url ?? 'unmatched', method: request.method, status: String(reply.statusCode) };
    options.metrics.httpRequests.inc(labels);
    options.metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
    // Probes and scrapes come every few seconds: they are logged only at debug level.
    const path = request.url.split('?')[0] ?? '';
    const line = { method: request.method, path: request.routeOptions.url ?? path, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 };
    if (OPEN_PATHS.has(path)) request.log.debug(line, 'request completed');
    else request.log.info(line, 'request completed');
  });

  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await options.metrics.text();
    return reply.type(contentType).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    sendError(reply, 404, `No route ${request.method} ${request.url.split('?')[0]} on the ${options.name} service.`);
  });

  app.setErrorHandler((error: unknown, request, reply) => {
    const { status, detail } = classify(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ status, detail }, 'request rejected');
    sendError(reply, status, detail);
  });

  app.get('/healthz', async () => ({ status: 'ok', service: options.name }));

  app.get('/readyz', async (_request, reply) => {
    const failures: string[] = [];
    for (const check of options.readiness ?? []) {
      try {
        await check();
      } catch (error) {
        failures.push(publicError(error).detail);
      }
    }
    if (failures.length > 0) return reply.code(503).send({ status: 'not ready', service: options.name, problems: failures });
    return { status: 'ready', service: options.name };
  });

  return app;
}

/**
 * Registers a contract endpoint: a POST whose body is checked by `schema` and
 * whose result is wrapped in the success envelope; its documentation is
 * generated from the same schema.
 */
export function postEndpoint<S extends z.ZodType, R>(
  app: FastifyInstance,
  path: string,
  schema: S,
  doc: Omit<EndpointDoc, 'path' | 'request'>,
  handler: (body: z.output<S>, call: CallContext, request: FastifyRequest) => Promise<R>,
): void {
  app.endpointDocs.push({ path, request: schema, ...doc });
  app.post(path, async (request) => {
    const body = parseRequest(schema, request.body);
    return success(await handler(body, request.call, request));
  });
}

/** Sends the contract's error envelope. */
export function sendError(reply: FastifyReply, status: number, detail: string): FastifyReply {
  return reply.code(status).type('application/json').send(failure(detail));
}

/**
 * Answers a request Node's HTTP parser refused (malformed, headers too large)
 * with the contract's envelope, then closes the connection.
 */
function clientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, detail] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request headers too large.']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'The request was not received in time.']
        : [400, 'Malformed HTTP request.'];
  const body = JSON.stringify(failure(detail));
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

/** Status and detail for anything a handler or Fastify itself throws. */
function classify(error: unknown): { status: number; detail: string } {
  if (error instanceof AppError) return { status: error.status, detail: error.detail };
  const e = error as { code?: string; statusCode?: number; message?: string };
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, detail: 'Request body too large.' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, detail: 'Unsupported content type: send application/json.' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 422, detail: 'Invalid request body: the body is empty; expected a JSON object.' };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, detail: 'Invalid Content-Length.' };
  }
  if (error instanceof SyntaxError || e?.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return { status: 422, detail: 'Invalid request body: not valid JSON.' };
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, detail: e.message ?? 'Bad request.' };
  }
  return publicError(error);
}
