import type { FastifyBaseLogger } from 'fastify';
import type { EndpointDoc } from './openapi.js';

/** What every request handler knows about the call it serves. */
export interface CallContext {
  requestId: string;
  /** The identifier of the API key that authorised the call (never the key). */
  keyId: string;
  log: FastifyBaseLogger;
  /** The durable job the work runs as, when it runs as one (lib/jobs). */
  jobId?: string | undefined;
  /** Aborts when the caller's connection closes before the call is answered (it left); absent outside an HTTP call. */
  disconnected?: AbortSignal;
  /**
   * Resolves true once the call's answer has been written in full to the
   * caller's connection, false when the connection closed before; absent
   * outside an HTTP call. Work that must follow the answer (a publish's
   * settle) waits for it.
   */
  answered?: Promise<boolean>;
}

declare module 'fastify' {
  interface FastifyRequest {
    call: CallContext;
    /** Why the HTTP layer refused the call, when it did (audited once the answer is sent). */
    refusal: string | null;
  }
  interface FastifyInstance {
    /** The REST endpoints registered with `postEndpoint`, for the API docs. */
    endpointDocs: EndpointDoc[];
  }
  interface FastifyContextConfig {
    /** The route answers without a key (probes, metrics, API docs). */
    open?: boolean;
  }
}
