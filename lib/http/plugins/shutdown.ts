import fp from 'fastify-plugin';
import { appError } from '../../errors.js';
import { sendError } from './errors.js';

/** Options of {@link shutdown}. */
export interface ShutdownOptions {
  /** The service name, for the answer. */
  service: string;
}

/**
 * Draining on close. Once `close()` starts, requests can still reach the
 * service (pipelined behind a running call, or on a keep-alive connection
 * racing the close): they answer 503 with the envelope. Calls still running
 * answer with `Connection: close`, or their keep-alive connection would hold
 * the close up; unless another request waits behind one on the same
 * connection, which must be answered too (its refusal then closes it).
 */
export const shutdown = fp<ShutdownOptions>(
  async (app, options) => {
    let closing = false;
    app.addHook('preClose', async () => {
      closing = true;
    });
    /** Requests received and not yet answered, per connection (a pipelining client queues several). */
    const pending = new WeakMap<object, number>();

    app.addHook('onRequest', async (request, reply) => {
      const socket = request.raw.socket as object | null;
      if (socket) {
        pending.set(socket, (pending.get(socket) ?? 0) + 1);
        reply.raw.once('close', () => pending.set(socket, (pending.get(socket) ?? 1) - 1));
      }
      if (closing) {
        request.log.info('request refused: the service is shutting down');
        const error = appError('SHUTTING_DOWN', { service: options.service });
        return sendError(reply, error.status, error.detail);
      }
    });

    app.addHook('onSend', async (request, reply, payload) => {
      const socket = request.raw.socket as object | null;
      if (closing && (!socket || (pending.get(socket) ?? 0) <= 1)) reply.header('connection', 'close');
      return payload;
    });
  },
  { name: 'cr8tor-shutdown' },
);
