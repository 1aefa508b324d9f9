import fp from 'fastify-plugin';
import { API_KEY_HEADER, type ApiKeyVerifier } from '../../auth/api-key.js';
import { publicError } from '../../errors.js';
import type { ServiceMetrics } from '../../metrics/metrics.js';

/** Options of {@link probes}. */
export interface ProbesOptions {
  service: string;
  apiKey: ApiKeyVerifier;
  /** Readiness checks; each throws when the service is not ready. */
  readiness: Array<() => Promise<void>>;
  metrics: ServiceMetrics;
}

/**
 * `GET /healthz` (the process lives), `GET /readyz` and `GET /metrics`, all
 * open. `/readyz` says ready or not to anyone; why not goes to the log (when
 * the reasons change) and only to a caller presenting the service's key.
 */
export const probes = fp<ProbesOptions>(
  async (app, options) => {
    app.get('/healthz', { config: { open: true } }, async () => ({ status: 'ok', service: options.service }));

    let logged = '';
    app.get('/readyz', { config: { open: true } }, async (request, reply) => {
      const problems: string[] = [];
      for (const check of options.readiness) {
        try {
          await check();
        } catch (error) {
          problems.push(publicError(error).detail);
        }
      }
      const now = problems.join('\n');
      if (now !== logged) {
        if (problems.length > 0) request.log.warn({ problems }, 'not ready');
        else request.log.info('ready');
        logged = now;
      }
      if (problems.length === 0) return { status: 'ready', service: options.service };
      const detailed = options.apiKey.verify(request.headers[API_KEY_HEADER]);
      return reply.code(503).send({ status: 'not ready', service: options.service, ...(detailed ? { problems } : {}) });
    });

    app.get('/metrics', { config: { open: true } }, async (_request, reply) => {
      const { contentType, body } = await options.metrics.text();
      return reply.type(contentType).send(body);
    });
  },
  { name: 'cr8tor-probes' },
);
