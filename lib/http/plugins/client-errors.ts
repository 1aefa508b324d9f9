import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import fp from 'fastify-plugin';
import { Counter, type Registry } from 'prom-client';
import type { RefusalAudit } from '../../audit/refusals.js';
import { failure } from '../../contract/index.js';
import { appError, type AppError } from '../../errors.js';
import type { Logger } from '../../logging/logger.js';
import type { ConnectionLimits } from './timeouts.js';

/** The request a connection last received (once its headers were in) and its answer. */
const lastRequest = new WeakMap<Duplex, { request: IncomingMessage; response: ServerResponse }>();

/** Remembers each connection's current request, for {@link clientErrorHandler}. */
export const trackRequests = fp(
  async (app) => {
    app.server.on('request', (request: IncomingMessage, response: ServerResponse) => lastRequest.set(request.socket, { request, response }));
  },
  { name: 'cr8tor-track-requests' },
);

/** Options of {@link clientErrorHandler}. */
export interface ClientErrorOptions {
  refusals: RefusalAudit;
  limits: ConnectionLimits;
  registry: Registry;
  log: Logger;
}

/**
 * Fastify's `clientErrorHandler`: a request Node's HTTP parser refused
 * (malformed, headers too large) or cut (headers or body not received in
 * time) answers the contract's envelope, unless an answer is already under
 * way on the connection, which is then closed. Each is audited and counted in
 * `cr8tor_http_client_errors_total` by status.
 */
export function clientErrorHandler(options: ClientErrorOptions): (error: Error & { code?: string; rawPacket?: unknown }, socket: Duplex) => void {
  const counted = new Counter({
    name: 'cr8tor_http_client_errors_total',
    help: 'Requests refused by the HTTP parser or cut by a timeout before any route took them, by status.',
    labelNames: ['status'] as const,
    registers: [options.registry],
  });
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const last = lastRequest.get(socket);
    const receiving = last !== undefined && !last.request.complete ? last : undefined;
    const refusal = refusalFor(error, receiving !== undefined, options.limits);
    const line = receiving ? { method: receiving.request.method, path: (receiving.request.url ?? '').split('?')[0]!.slice(0, 200) } : requestLine(error.rawPacket);
    counted.inc({ status: String(refusal.status) });
    const client = (socket as { remoteAddress?: string }).remoteAddress ?? 'unknown';
    options.log.info({ client, status: refusal.status, code: error.code, ...line }, 'request refused before routing');
    options.refusals.refused({ client, ...line, status: refusal.status, reason: refusal.detail });
    const answering = last !== undefined && last.response.headersSent && !last.response.writableEnded;
    if (socket.writable && !answering) {
      const body = JSON.stringify(failure(refusal.detail));
      socket.write(`HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    }
    socket.destroy();
  };
}

function refusalFor(error: { code?: string }, receivingBody: boolean, limits: ConnectionLimits): AppError {
  if (error.code === 'HPE_HEADER_OVERFLOW') return appError('HEADERS_TOO_LARGE');
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return receivingBody
      ? appError('REQUEST_TIMEOUT', { late: 'body', withinMs: limits.headersTimeoutMs + limits.bodyTimeoutMs })
      : appError('REQUEST_TIMEOUT', { late: 'headers', withinMs: limits.headersTimeoutMs });
  }
  return appError('MALFORMED_REQUEST');
}

/** Method and path from the start of what the parser refused, when they can be read there. */
function requestLine(raw: unknown): { method?: string; path?: string } {
  const match = Buffer.isBuffer(raw) ? /^([A-Z]{1,16}) ([^\s?]{1,200})/.exec(raw.subarray(0, 256).toString('latin1')) : null;
  return match ? { method: match[1]!, path: match[2]! } : {};
}
