import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { RefusalAudit } from '../audit/refusals.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { ApiKeyVerifier } from '../auth/api-key.js';
import { parseRequest, success, toRestPayload } from '../contract/index.js';
import type { Logger } from '../logging/logger.js';
import type { ServiceMetrics } from '../metrics/metrics.js';
import type { CallContext } from './call.js';
import type { DocLink, EndpointDoc } from './openapi.js';
import { accessLog } from './plugins/access-log.js';
import { apiDocs } from './plugins/api-docs.js';
import { apiKeyAuth } from './plugins/auth.js';
import { clientErrorHandler, trackRequests } from './plugins/client-errors.js';
import { errorHandler } from './plugins/errors.js';
import { refuseUnknownRoutes } from './plugins/not-found.js';
import { probes } from './plugins/probes.js';
import { auditRefusals } from './plugins/refusal-audit.js';
import { requestId, requestIdOf } from './plugins/request-id.js';
import { shutdown } from './plugins/shutdown.js';
import { connectionCap, readConnectionLimits, serverTimeouts, type ConnectionLimits } from './plugins/timeouts.js';

export type { CallContext } from './call.js';
export { CALLER_KEY_ID_HEADER } from './plugins/auth.js';
export { sendError } from './plugins/errors.js';

/** Largest request body accepted, in bytes; bigger ones answer 413. */
export const DEFAULT_BODY_LIMIT = 4 * 1024 * 1024;

export interface HttpServiceOptions {
  /** The service name used in logs and messages. */
  name: string;
  logger: Logger;
  apiKey: ApiKeyVerifier;
  /** Whether the caller key id the gateway forwards is believed (the subgraphs); see plugins/auth.ts. */
  trustForwardedCaller: boolean;
  /** The audit trail: refused calls are written to it. Closed with the service. */
  audit: AuditLog;
  bodyLimit?: number;
  /** Timeouts and the connection cap; from HTTP_* settings when absent. */
  limits?: ConnectionLimits;
  /** Extra readiness checks; each throws when the service is not ready. */
  readiness?: Array<() => Promise<void>>;
  metrics: ServiceMetrics;
  /** One line on what the service does, for its API docs. */
  description?: string;
  /** Further pages of the service its API docs link to. */
  docLinks?: DocLink[];
}

const VERSION = '0.1.0';

/**
 * A Fastify instance with what every service shares, one plugin per concern
 * (lib/http/plugins), in the order a request meets them: request ids, drain
 * on shutdown, unknown routes and missing keys refused before the body is
 * read, then the contract's envelopes for every error, the access log and
 * metrics, the audit of refusals, the probes and the API docs; and below
 * Fastify, deadlines for every phase of a connection and a cap on their number.
 */
export function createHttpService(options: HttpServiceOptions): FastifyInstance {
  const limits = options.limits ?? readConnectionLimits();
  const refusals = new RefusalAudit(options.audit, options.name, options.logger, options.metrics.registry);
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // The caller's id is logged, echoed and forwarded: only a short, plain one is kept.
    requestIdHeader: false,
    genReqId: requestIdOf,
    // Malformed HTTP, oversized headers and timeouts answer the envelope too (Node answers before any route).
    clientErrorHandler: clientErrorHandler({ refusals, limits, registry: options.metrics.registry, log: options.logger }),
    ...serverTimeouts(limits),
    // Calls arriving while the service closes answer the contract's envelope (plugins/shutdown.ts), not Fastify's own 503 body.
    return503OnClosing: false,
    // One access line per call, written when it answers (plugins/access-log.ts), instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.decorateRequest('call', null as unknown as CallContext);
  app.decorateRequest('refusal', null);
  app.decorate('endpointDocs', [] as EndpointDoc[]);

  app.register(connectionCap, { maxConnections: limits.maxConnections, registry: options.metrics.registry });
  app.register(trackRequests);
  app.register(requestId);
  app.register(shutdown, { service: options.name });
  app.register(refuseUnknownRoutes, { service: options.name });
  app.register(apiKeyAuth, { apiKey: options.apiKey, trustForwardedCaller: options.trustForwardedCaller });
  app.register(errorHandler, { service: options.name });
  app.register(accessLog, { metrics: options.metrics });
  app.register(auditRefusals, { refusals });
  app.register(probes, { service: options.name, apiKey: options.apiKey, readiness: options.readiness ?? [], metrics: options.metrics });
  app.register(apiDocs, { title: `CR8TOR Publisher — ${options.name} service`, description: options.description ?? '', version: VERSION, links: options.docLinks ?? [] });
  app.addHook('onClose', async () => {
    refusals.flush();
    await options.audit.close();
  });
  return app;
}

/**
 * Registers a contract endpoint: a POST whose body is checked by `schema` and
 * whose result is shaped by the response schema (lib/contract/codec.ts) and
 * wrapped in the success envelope; its documentation is generated from the
 * same schemas. A body that is not the contract's is a
 * refusal (audited as one); failures of the work are the handler's to audit.
 */
export function postEndpoint<S extends z.ZodType, P extends z.ZodType>(
  app: FastifyInstance,
  path: string,
  schema: S,
  doc: Omit<EndpointDoc, 'path' | 'request' | 'response'> & { response: P },
  handler: (body: z.output<S>, call: CallContext, request: FastifyRequest) => Promise<unknown>,
): void {
  app.endpointDocs.push({ path, request: schema, ...doc });
  app.post(path, async (request) => {
    let body: z.output<S>;
    try {
      body = parseRequest(schema, request.body);
    } catch (error) {
      request.refusal = error instanceof Error ? error.message : 'Invalid request body.';
      throw error;
    }
    return success(toRestPayload(doc.response, await handler(body, request.call, request)));
  });
}
