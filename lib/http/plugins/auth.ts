import type { IncomingMessage, ServerResponse } from 'node:http';
import fp from 'fastify-plugin';
import { API_KEY_HEADER, type ApiKeyVerifier } from '../../auth/api-key.js';
import { appError } from '../../errors.js';
import { refuse } from './errors.js';

/**
 * Header the gateway uses to tell a subgraph which key its own caller
 * presented (a key id, never a key).
 */
export const CALLER_KEY_ID_HEADER = 'x-cr8tor-caller-key-id';

/** Headers the services use between themselves; from anyone else they are dropped. */
const INTERNAL_HEADER = /^x-cr8tor-/i;
const KEY_ID = /^key-[0-9a-f]{12}$/;

/** Options of {@link apiKeyAuth}. */
export interface ApiKeyAuthOptions {
  apiKey: ApiKeyVerifier;
  /**
   * Whether {@link CALLER_KEY_ID_HEADER} may name the caller: true on the
   * subgraphs, where it is believed only on calls that carry the subgraph's
   * own key (which only the gateway holds); false on the gateway, which takes
   * the caller from its own check alone.
   */
  trustForwardedCaller: boolean;
}

/**
 * `x-api-key` checked in constant time on every route but the open ones
 * (probes, metrics, API docs), before the body is read: a call without the
 * key answers 403 and its connection is closed. Sets `request.call`.
 */
export const apiKeyAuth = fp<ApiKeyAuthOptions>(
  async (app, options) => {
    app.addHook('onRequest', async (request, reply) => {
      const forwarded = dropInternalHeaders(request.raw);
      const open = request.routeOptions.config.open === true;
      if (!open && !options.apiKey.verify(request.headers[API_KEY_HEADER])) {
        return refuse(request, reply, appError('UNAUTHORISED'));
      }
      const believed = options.trustForwardedCaller && !open && forwarded !== undefined && KEY_ID.test(forwarded);
      const answered = answerWritten(reply.raw);
      request.call = { requestId: request.id, keyId: believed ? forwarded : options.apiKey.keyId, log: request.log, disconnected: disconnection(answered), answered };
    });
  },
  { name: 'cr8tor-auth' },
);

/** A signal that aborts when the answer never reached the caller: its connection went away before it. */
function disconnection(answered: Promise<boolean>): AbortSignal {
  const controller = new AbortController();
  void answered.then((reached) => {
    if (!reached) controller.abort(appError('CALLER_DISCONNECTED'));
  });
  return controller.signal;
}

/** True once the response has been handed to the connection in full ('finish'), false when it closed before. */
function answerWritten(response: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    response.once('finish', () => resolve(true));
    response.once('close', () => resolve(response.writableFinished));
  });
}

/**
 * Removes every `x-cr8tor-*` header from the request, so nothing after this
 * can read one a caller set; gives the caller key id header's value, if it
 * came once.
 */
function dropInternalHeaders(raw: IncomingMessage): string | undefined {
  const value = raw.headers[CALLER_KEY_ID_HEADER];
  let found = false;
  for (const name of Object.keys(raw.headers)) {
    if (INTERNAL_HEADER.test(name)) {
      delete raw.headers[name];
      found = true;
    }
  }
  if (found) {
    const kept: string[] = [];
    for (let i = 0; i + 1 < raw.rawHeaders.length; i += 2) {
      if (!INTERNAL_HEADER.test(raw.rawHeaders[i]!)) kept.push(raw.rawHeaders[i]!, raw.rawHeaders[i + 1]!);
    }
    raw.rawHeaders.splice(0, raw.rawHeaders.length, ...kept);
  }
  return typeof value === 'string' ? value : undefined;
}
