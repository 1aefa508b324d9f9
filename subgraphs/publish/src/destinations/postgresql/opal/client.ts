import http from 'node:http';
import https from 'node:https';
import { networkReason } from '../../../../../../lib/connectors/failures.js';
import { AppError, type ErrorCode } from '../../../../../../lib/errors.js';

/** How to reach OPAL and who to be there. */
export interface OpalClientOptions {
  /** Base URL; the REST API is under `{baseUrl}/ws`. */
  baseUrl: string;
  username: string;
  password: string;
  /** Where the password came from, for messages. */
  passwordSecretName: string;
  /** Skip TLS certificate verification (for this client's connections only). */
  noSslVerify: boolean;
  timeoutMs: number;
}

/** One OPAL answer: status and body (parsed JSON when it is JSON). */
export interface OpalResponse {
  status: number;
  body: unknown;
}

export interface OpalCall {
  /** Query parameters, in order; each value is percent-encoded. */
  query?: ReadonlyArray<[string, string]>;
  /** A JSON body. */
  body?: unknown;
}

/** The largest answer read from OPAL. */
const MAX_BODY_BYTES = 32 * 1024 * 1024;

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * A small client for the OPAL REST API (as obiba/opal serves it under `/ws`): HTTP Basic
 * authentication on every call, JSON in and out, path segments and query
 * values percent-encoded. TLS verification is on unless `noSslVerify`, and
 * then only for this client's own agent, never process-wide.
 *
 * Failures become AppErrors naming OPAL, the step and the HTTP status, not
 * OPAL's address (our infrastructure: the destination logs it). No message
 * ever holds the password, the Authorization header, or any value registered
 * with {@link redact}.
 */
export class OpalClient {
  readonly origin: string;
  private readonly base: URL;
  private readonly authorization: string;
  private readonly agent: http.Agent;
  private readonly secrets = new Set<string>();

  constructor(private readonly options: OpalClientOptions) {
    this.base = new URL(options.baseUrl);
    if (this.base.protocol !== 'https:' && this.base.protocol !== 'http:') {
      throw new AppError('DESTINATION_NOT_READY', 'The OPAL address (DESTINATION_OPAL_HOST) is not an http(s) URL.');
    }
    this.origin = `${this.base.origin}${this.base.pathname.replace(/\/+$/, '')}`;
    this.authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`, 'utf8').toString('base64')}`;
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent({ keepAlive: true, ...(options.noSslVerify ? { rejectUnauthorized: false } : {}) })
        : new http.Agent({ keepAlive: true });
    this.redact(options.password);
  }

  /** Registers a value that must never appear in an error message. */
  redact(value: string): void {
    if (value.length > 0) this.secrets.add(value);
  }

  /** Sends one call to `{base}/ws/{segments…}`; network failures throw, any HTTP status is answered. */
  async send(step: string, method: string, segments: readonly string[], call: OpalCall = {}): Promise<OpalResponse> {
    const path = segments.map((s) => encodeURIComponent(s)).join('/');
    const query = (call.query ?? []).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
    const url = new URL(`${this.origin}/ws/${path}${query ? `?${query}` : ''}`);
    const body = call.body === undefined ? undefined : Buffer.from(JSON.stringify(call.body), 'utf8');
    const headers: Record<string, string> = { accept: 'application/json', authorization: this.authorization, 'user-agent': 'cr8tor-publisher' };
    if (body) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(body.length);
    }
    let answer: { status: number; type: string; bytes: Buffer };
    try {
      answer = await this.request(url, method, headers, body);
    } catch (error) {
      throw this.unreachable(step, error);
    }
    const text = answer.bytes.toString('utf8');
    let parsed: unknown = text.length > 0 ? text : undefined;
    if (text.length > 0 && /json/i.test(answer.type)) {
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON after all: keep the text
      }
    }
    return { status: answer.status, body: parsed };
  }

  /** {@link send}, throwing {@link failure} unless the status is one of `ok`. */
  async expect(step: string, method: string, segments: readonly string[], ok: readonly number[], call: OpalCall = {}): Promise<OpalResponse> {
    const response = await this.send(step, method, segments, call);
    if (!ok.includes(response.status)) throw this.failure(step, response);
    return response;
  }

  /** Proves OPAL answers and accepts the credentials: the current user's profile, as the Python client does on connect. */
  async checkCredentials(): Promise<void> {
    await this.expect('check credentials', 'GET', ['system', 'subject-profile', '_current'], [200]);
  }

  /** The AppError for an unexpected answer: OPAL, the step, the status and OPAL's own reason. */
  failure(step: string, response: OpalResponse, code: ErrorCode = 'DESTINATION_FAILED'): AppError {
    const who = `user '${this.options.username}'`;
    if (response.status === 401) {
      return new AppError(code, `OPAL rejected the credentials of ${who} (password from secret '${this.options.passwordSecretName}') at step '${step}': HTTP 401.`);
    }
    if (response.status === 403) {
      return new AppError(code, `OPAL refused ${who} at step '${step}': HTTP 403 (the user lacks the permission).`);
    }
    const reason = this.reason(response.body);
    return new AppError(code, `OPAL failed at step '${step}': HTTP ${response.status}${reason ? ` (${reason})` : ''}.`);
  }

  /** Closes the client's idle connections. */
  close(): void {
    this.agent.destroy();
  }

  private unreachable(step: string, error: unknown): AppError {
    const code = (error as { code?: string }).code;
    if (code && TLS_CODES.has(code)) {
      return new AppError(
        'DESTINATION_FAILED',
        `OPAL could not be reached at step '${step}': its TLS certificate was not accepted (${code}). Trust its CA (NODE_EXTRA_CA_CERTS) or set DESTINATION_OPAL_NO_SSL_VERIFY=true.`,
        { cause: error },
      );
    }
    // Other client errors may name the host: they go to the log (the destination logs the cause), not the caller.
    const why = networkReason(error) ?? 'the request failed (the service log has the reason)';
    return new AppError('DESTINATION_FAILED', `OPAL could not be reached at step '${step}': ${why}.`, { cause: error });
  }

  /** OPAL's reason from an error body (`{"status":"NoSuchProject","arguments":[…]}`), short and scrubbed. */
  private reason(body: unknown): string {
    let text = '';
    if (body && typeof body === 'object') {
      const { status, arguments: args, message } = body as { status?: unknown; arguments?: unknown; message?: unknown };
      const parts = [status, message, ...(Array.isArray(args) ? args : [])].filter((p): p is string | number => typeof p === 'string' || typeof p === 'number');
      text = parts.join(': ');
    } else if (typeof body === 'string' && !/^\s*</.test(body)) {
      text = body;
    }
    text = this.scrub(text.replace(/\s+/g, ' ').trim());
    return text.length > 200 ? `${text.slice(0, 200)}…` : text;
  }

  private scrub(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('[redacted]');
    return out;
  }

  private request(url: URL, method: string, headers: Record<string, string>, body: Buffer | undefined): Promise<{ status: number; type: string; bytes: Buffer }> {
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(url, { method, headers, agent: this.agent, timeout: this.options.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            res.destroy(new Error(`answer larger than ${MAX_BODY_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), bytes: Buffer.concat(chunks, size) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('connection timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(body);
    });
  }
}
