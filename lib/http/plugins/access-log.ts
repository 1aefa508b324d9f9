import fp from 'fastify-plugin';
import type { ServiceMetrics } from '../../metrics/metrics.js';

/** Options of {@link accessLog}. */
export interface AccessLogOptions {
  metrics: ServiceMetrics;
}

/**
 * One access line per call, written when it answers (method, route, status,
 * milliseconds), and the HTTP metrics by route template. Open routes (probes,
 * scrapes, docs) come every few seconds: their lines are at debug level.
 */
export const accessLog = fp<AccessLogOptions>(
  async (app, options) => {
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url;
      const labels = { route: route ?? 'unmatched', method: request.method, status: String(reply.statusCode) };
      options.metrics.httpRequests.inc(labels);
      options.metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
      const line = { method: request.method, path: route ?? (request.url.split('?')[0] ?? '').slice(0, 200), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 };
      if (request.routeOptions.config.open === true) request.log.debug(line, 'request completed');
      else request.log.info(line, 'request completed');
    });
  },
  { name: 'cr8tor-access-log' },
);
