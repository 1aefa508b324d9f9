import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { failure } from '../../contract/index.js';
import { AppError, appError, publicError } from '../../errors.js';

/** Sends the contract's error envelope. */
export function sendError(reply: FastifyReply, status: number, detail: string): FastifyReply {
  return reply.code(status).type('application/json').send(failure(detail));
}

/**
 * Refuses a call before its body is read: the envelope, marked as a refusal
 * for the audit trail, and `Connection: close`, so that the unread body can
 * neither be read later nor be taken for the next request on the connection.
 */
export function refuse(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  request.refusal = error.detail;
  reply.header('connection', 'close');
  return sendError(reply, error.status, error.detail);
}

/** Options of {@link errorHandler}. */
export interface ErrorHandlerOptions {
  /** The service name, for the answer to an unknown route. */
  service: string;
}

/**
 * Every error a route or Fastify throws answers the contract's envelope with
 * the status of the error table; unknown errors are masked and logged, the
 * caller's mistakes are logged at info level. Bodies Fastify refuses before
 * reading them (too large, wrong type, bad length) close the connection.
 */
export const errorHandler = fp<ErrorHandlerOptions>(
  async (app, options) => {
    app.setErrorHandler((error: unknown, request, reply) => {
      const { status, detail } = publicError(classify(error));
      // A caller's mistake on a connection that is gone (it left, or a deadline cut it and was answered already).
      if (status < 500 && request.raw.socket?.destroyed) {
        request.log.debug({ err: error }, 'request aborted');
        return;
      }
      if (status >= 500) {
        // Only our own faults are errors; a source, destination or subgraph failing (502–504) is a warning.
        request.log[status === 500 ? 'error' : 'warn']({ err: error }, 'request failed');
      } else {
        request.log.info({ status, detail }, 'request rejected');
        if (!(error instanceof AppError)) request.refusal = detail;
      }
      if (status === 400 || status === 413 || status === 415) reply.header('connection', 'close');
      sendError(reply, status, detail);
    });
    // Unknown routes are refused in onRequest (not-found.ts); this is the same answer should one get here.
    app.setNotFoundHandler((request, reply) => {
      refuse(request, reply, notFound(request, options.service));
    });
  },
  { name: 'cr8tor-errors' },
);

/** The 404 for a request no route takes; the path is shortened, since it is the caller's. */
export function notFound(request: FastifyRequest, service: string): AppError {
  return appError('ROUTE_NOT_FOUND', { method: request.method, path: request.url.split('?')[0] ?? '', service });
}

/** The error of the table for anything a handler or Fastify itself throws. */
function classify(error: unknown): unknown {
  if (error instanceof AppError) return error;
  const e = error as { code?: string; statusCode?: number; message?: string };
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return appError('PAYLOAD_TOO_LARGE');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return appError('UNSUPPORTED_MEDIA_TYPE');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return appError('INVALID_REQUEST', { problem: 'the body is empty; expected a JSON object' });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('MALFORMED_REQUEST', 'Invalid Content-Length.');
  }
  if (error instanceof SyntaxError || e?.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return appError('INVALID_REQUEST', { problem: 'not valid JSON' });
  }
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new AppError('MALFORMED_REQUEST', e.message ?? 'Bad request.', { status: e.statusCode });
  }
  return error;
}
