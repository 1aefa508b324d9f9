import type { CallContext } from '../../lib/http/service.js';

/** The context of one gateway operation: the HTTP call it serves. */
export type GatewayContext = CallContext;
