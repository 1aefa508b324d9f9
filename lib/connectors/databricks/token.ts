import { createHash } from 'node:crypto';
import type https from 'node:https';
import { AppError } from '../../errors.js';
import { networkReason, unreachable } from '../failures.js';
import { httpsRequest, jsonBody } from './http.js';

/** The service principal's OAuth client credentials, read from the two named secrets. */
export interface ServicePrincipal {
  clientId: string;
  clientSecret: string;
}

/** Where tokens come from and how failures are named. */
export interface TokenEndpoint {
  /** The workspace origin, `https://host:port`. */
  origin: string;
  /** The source as named in messages. */
  where: string;
  /** The secret holding the client id, named in messages. */
  clientIdSecret: string;
  /** The connector's agent (SOURCE_ALLOWED_HOSTS, trusted CAs). */
  agent: https.Agent;
  timeoutMs: number;
}

interface Cached {
  token: string;
  /** When to stop using it (ms since the epoch): shortly before it expires. */
  refreshAt: number;
}

/** Tokens of this process, by workspace, client id and a hash of the secret: every request of the hour shares one. */
const cache = new Map<string, Cached>();
const pending = new Map<string, Promise<Cached>>();

/** Without `expires_in`, a token is assumed to last this long (Databricks issues one-hour tokens). */
const DEFAULT_LIFETIME_S = 3600;
/** A token is renewed this long before it expires (at most half its lifetime). */
const RENEW_BEFORE_S = 300;

/**
 * OAuth machine-to-machine tokens for a Databricks workspace: POST
 * `{host}/oidc/v1/token` with HTTP Basic client credentials,
 * `grant_type=client_credentials&scope=all-apis`. The same token authorises
 * the Unity Catalog REST API and the SQL warehouse. Tokens are cached in the
 * process until shortly before they expire; concurrent callers share one
 * request; a token the workspace refused is dropped with {@link invalidate}.
 */
export class TokenSource {
  private readonly key: string;

  constructor(
    private readonly endpoint: TokenEndpoint,
    private readonly principal: ServicePrincipal,
  ) {
    const secretHash = createHash('sha256').update(principal.clientSecret).digest('hex');
    this.key = `${endpoint.origin}\u0000${principal.clientId}\u0000${secretHash}`;
  }

  /** A valid access token, from the cache or a new token request. */
  async get(): Promise<string> {
    const cached = cache.get(this.key);
    if (cached && Date.now() < cached.refreshAt) return cached.token;
    let request = pending.get(this.key);
    if (!request) {
      request = this.request().finally(() => pending.delete(this.key));
      pending.set(this.key, request);
    }
    const fresh = await request;
    cache.set(this.key, fresh);
    return fresh.token;
  }

  /** Forgets a token the workspace refused (revoked or expired early), so the next {@link get} asks for a new one. */
  invalidate(token: string): void {
    if (cache.get(this.key)?.token === token) cache.delete(this.key);
  }

  private async request(): Promise<Cached> {
    const { endpoint, principal } = this;
    // As the original service and Databricks' own SDKs send it: base64(client_id:client_secret).
    const basic = Buffer.from(`${principal.clientId}:${principal.clientSecret}`).toString('base64');
    let answer;
    try {
      answer = await httpsRequest({
        method: 'POST',
        url: new URL('/oidc/v1/token', endpoint.origin),
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: 'grant_type=client_credentials&scope=all-apis',
        agent: endpoint.agent,
        timeoutMs: endpoint.timeoutMs,
      });
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw unreachable(endpoint.where, networkReason(error) ?? `token request failed (${(error as Error).message})`, error);
    }
    const body = jsonBody(answer) as { access_token?: unknown; expires_in?: unknown; error?: unknown } | undefined;
    // An OAuth error answer is a JSON object; anything else is not a workspace answering.
    if ((answer.status === 400 || answer.status === 401 || answer.status === 403) && typeof body === 'object' && body !== null) {
      const code = typeof body?.error === 'string' ? ` (${body.error.replace(/[^\w.-]/g, '').slice(0, 60)})` : '';
      throw new AppError(
        'SOURCE_AUTH_FAILED',
        `The ${endpoint.where} refused the service principal's OAuth credentials${code} (client id from secret '${endpoint.clientIdSecret}').`,
      );
    }
    if (answer.status !== 200 || typeof body?.access_token !== 'string' || body.access_token === '') {
      throw unreachable(endpoint.where, `the OAuth token request was answered with HTTP ${answer.status} and no access token`, undefined);
    }
    const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_LIFETIME_S;
    const renewBefore = Math.min(RENEW_BEFORE_S, lifetime / 2);
    return { token: body.access_token, refreshAt: Date.now() + (lifetime - renewBefore) * 1000 };
  }
}

/** Empties the process's token cache (tests). */
export function clearTokenCache(): void {
  cache.clear();
}
