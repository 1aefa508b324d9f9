import fp from 'fastify-plugin';
import type { RefusalAudit } from '../../audit/refusals.js';

/** Options of {@link auditRefusals}. */
export interface RefusalAuditOptions {
  refusals: RefusalAudit;
}

/**
 * One audit event per call the HTTP layer refused (unknown route, no key,
 * a body too large, of the wrong type, not JSON or not the contract's, and
 * any other 400), once it has answered. Failures of data operations are
 * audited by the operation itself (lib/audit/track.ts).
 */
export const auditRefusals = fp<RefusalAuditOptions>(
  async (app, options) => {
    app.addHook('onResponse', async (request, reply) => {
      const reason = request.refusal ?? (reply.statusCode === 400 ? 'Bad request (HTTP 400).' : null);
      if (reason === null) return;
      options.refusals.refused({
        request_id: request.id,
        client: request.raw.socket?.remoteAddress ?? 'unknown',
        method: request.method,
        path: request.url,
        status: reply.statusCode,
        reason,
      });
    });
  },
  { name: 'cr8tor-refusal-audit' },
);
