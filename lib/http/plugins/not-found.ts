import fp from 'fastify-plugin';
import { notFound, refuse } from './errors.js';

/** Options of {@link refuseUnknownRoutes}. */
export interface NotFoundOptions {
  /** The service name, for the answer. */
  service: string;
}

/**
 * A request no route takes answers 404 as soon as its headers are in, before
 * a byte of its body is read or parsed, and its connection is closed: a body
 * sent to a path that does not exist costs the service nothing.
 */
export const refuseUnknownRoutes = fp<NotFoundOptions>(
  async (app, options) => {
    app.addHook('onRequest', async (request, reply) => {
      if (request.routeOptions.url === undefined) return refuse(request, reply, notFound(request, options.service));
    });
  },
  { name: 'cr8tor-not-found' },
);
