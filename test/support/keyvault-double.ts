/**
 * A protocol-level Azure Key Vault double: an in-process HTTPS server on a free
 * loopback port that speaks the part of the Key Vault secrets REST API the real
 * `@azure/keyvault-secrets` client uses, so tests drive the real client (its
 * challenge-authentication policy, retries, TLS and error mapping) instead of a
 * mocked function.
 *
 * What it models:
 * - the challenge flow: any request without `Authorization` gets 401 with
 *   `WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>", resource="https://vault.azure.net"`;
 *   a bearer token the double did not issue gets 401 too;
 * - identities and access policies: every token it issues is bound to one
 *   identity (an Entra application's client id), and each identity has the
 *   secret permissions its access policy grants (`get`, `list`); a request its
 *   identity may not make is answered as Key Vault answers it, 403 `Forbidden`
 *   with inner code `AccessDenied` and a message naming the identity, the
 *   permission and the vault, whether or not the secret exists;
 * - `GET /secrets/{name}/` and `GET /secrets/{name}/{version}` → SecretBundle JSON,
 *   404 `SecretNotFound`, 403 `Forbidden` (inner code `SecretDisabled`) for a disabled secret;
 * - `GET /secrets?maxresults=n[&$skiptoken=…]` → SecretListResult with `nextLink`;
 * - names outside Key Vault's rule `^[0-9a-zA-Z-]{1,127}$` → 400 `BadParameter`;
 * - a missing or unknown `api-version` → 400;
 * - the headers Key Vault puts on every answer (`x-ms-request-id`,
 *   `x-ms-keyvault-service-version`, `x-ms-keyvault-region`,
 *   `x-ms-keyvault-network-info`, no-cache headers).
 * It does not model RBAC (role assignments answer 403 `ForbiddenByRbac`
 * instead), writes, deletion and recovery, certificates or keys, or throttling
 * beyond {@link KeyVaultDouble.failNext}.
 * Anything else (other methods, paths, query keys, a GET with a body) is answered
 * 400/405 with a body saying what was not understood, and recorded in
 * {@link KeyVaultDouble.unexpected} so a test can assert that nothing else was called.
 *
 * TLS: a throwaway CA and a server certificate for 127.0.0.1, localhost and
 * {@link KEYVAULT_TEST_HOST} are made with the `openssl` CLI once per test
 * process; pass {@link KeyVaultDouble.ca} to the client as `tlsOptions: { ca }`
 * (see {@link KeyVaultDouble.clientOptions}), or to a child process in a file
 * named by NODE_EXTRA_CA_CERTS.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stopHttpServer } from './http-server.js';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import type { SecretClientOptions } from '@azure/keyvault-secrets';

const run = promisify(execFile);

/** The API versions `@azure/keyvault-secrets` 4.11.2 may send (`SecretClientOptions.serviceVersion`). */
export const KEYVAULT_API_VERSIONS = ['7.0', '7.1', '7.2', '7.3', '7.4', '7.5', '7.6', '2025-07-01'] as const;
/** The resource the challenge names; the client asks its credential for `<resource>/.default`. */
export const KEYVAULT_RESOURCE = 'https://vault.azure.net';
/** Key Vault's rule for object names. */
export const KEYVAULT_NAME = /^[0-9a-zA-Z-]{1,127}$/;
/**
 * A vault host name the test certificate also covers. A real client refuses a
 * challenge whose resource (`vault.azure.net`) is not a suffix of the vault's
 * host, so a process run with production settings must reach the double by a
 * name like this one, resolved to 127.0.0.1 (see outbound-guard.ts).
 */
export const KEYVAULT_TEST_HOST = 'cr8tor-test.vault.azure.net';
/** The secret permissions an access policy grants that the double distinguishes. */
export type SecretPermission = 'get' | 'list';

export interface TestTls {
  /** PEM of the throwaway CA that signed {@link cert}. */
  ca: string;
  /** PEM of the server certificate (SAN IP:127.0.0.1, DNS:localhost, DNS:{@link KEYVAULT_TEST_HOST}). */
  cert: string;
  /** PEM of the server key. */
  key: string;
}

let tlsOnce: Promise<TestTls> | undefined;

/**
 * A throwaway CA and server certificate for 127.0.0.1/localhost, made once per
 * process with `openssl` in a temporary folder that is removed straight after.
 */
export function testTls(): Promise<TestTls> {
  tlsOnce ??= makeTestTls();
  return tlsOnce;
}

async function makeTestTls(): Promise<TestTls> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cr8tor-kv-tls-'));
  const f = (name: string) => path.join(dir, name);
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    await run('openssl', [
      'req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=CR8TOR test CA (throwaway)',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await run('openssl', ['req', '-new', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1']);
    await writeFile(
      f('server.ext'),
      `subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:${KEYVAULT_TEST_HOST}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`,
    );
    await run('openssl', [
      'x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-set_serial', `0x${randomBytes(8).toString('hex')}`,
      '-days', '2', '-sha256', '-extfile', f('server.ext'), '-out', f('server.pem'),
    ]);
    const [ca, cert, key] = await Promise.all([readFile(f('ca.pem'), 'utf8'), readFile(f('server.pem'), 'utf8'), readFile(f('server.key'), 'utf8')]);
    return { ca, cert, key };
  } catch (error) {
    throw new Error(`Could not make the test TLS certificates with openssl: ${(error as Error).message}`, { cause: error });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One request as the double received it. */
export interface KeyVaultRequest {
  method: string;
  /** The path without the query, as sent (percent-encoding kept). */
  path: string;
  /** The query, decoded (`api-version`, `maxresults`, …). */
  query: Record<string, string>;
  /** Whether an `Authorization` header was present at all. */
  authorization: boolean;
  /** Whether it carried a bearer token the double issued. */
  validToken: boolean;
  /** The identity the token was issued to, when it was one the double issued. */
  identity: string | undefined;
  /** The status the double answered. */
  status: number;
}

/** A call the client made to the double's credential. */
export interface TokenRequest {
  scopes: string[];
  tenantId: string | undefined;
  enableCae: boolean | undefined;
}

interface StoredVersion {
  version: string;
  value: string;
  contentType: string | undefined;
  enabled: boolean;
  created: number;
  updated: number;
  tags: Record<string, string>;
}

export interface SetSecretOptions {
  contentType?: string;
  enabled?: boolean;
  tags?: Record<string, string>;
}

export interface KeyVaultDoubleOptions {
  /** The tenant the challenge names (`authorization="https://login.microsoftonline.com/<tenant>"`). */
  tenantId?: string;
  /** The bearer token {@link KeyVaultDouble.credential} issues (for {@link KeyVaultDouble.identity}); random by default. */
  token?: string;
  /** The host name in {@link KeyVaultDouble.vaultUrl} and in secret ids: `127.0.0.1` unless {@link KEYVAULT_TEST_HOST}. */
  host?: '127.0.0.1' | typeof KEYVAULT_TEST_HOST;
}

export interface KeyVaultDouble {
  /** `https://<host>:<port>`: the vault URL to give the client. */
  readonly vaultUrl: string;
  /** The port the double listens on, on 127.0.0.1. */
  readonly port: number;
  readonly tenantId: string;
  /** The identity {@link credential} stands for; its access policy grants get and list unless changed. */
  readonly identity: string;
  /** The bearer token {@link credential} issues, bound to {@link identity}. */
  readonly token: string;
  /** PEM of the CA that signed the double's certificate. */
  readonly ca: string;
  /** A credential that issues {@link token} and records each call in {@link tokenRequests}. */
  readonly credential: TokenCredential;
  /** Client options for the double: its CA, no challenge-resource check (loopback), no retries. */
  readonly clientOptions: SecretClientOptions;
  /** Every request received, in order. */
  readonly requests: KeyVaultRequest[];
  /** A line per request the double did not understand; a test should expect it empty. */
  readonly unexpected: string[];
  readonly tokenRequests: TokenRequest[];
  /** A new bearer token bound to `identity`, as Entra ID issues one for the vault (the Entra double calls this). */
  issueToken(identity: string): string;
  /** A credential that issues tokens bound to `identity` (without recording them in {@link tokenRequests}). */
  credentialFor(identity: string): TokenCredential;
  /** Sets the secret permissions of `identity`'s access policy (none: no policy, every request refused). */
  setAccessPolicy(identity: string, permissions: readonly SecretPermission[]): void;
  /** Stores a new version of a secret (creating it) and returns the version id. */
  setSecret(name: string, value: string, options?: SetSecretOptions): string;
  /** Every value stored, for asserting that none leaks into a message. */
  values(): string[];
  /** The next `times` authorised requests are answered with `status` (e.g. 503 with Retry-After: 0). */
  failNext(status: number, times?: number): void;
  /** Empties the request, token and unexpected logs. */
  clearLog(): void;
  /** Stops listening and drops open connections; later requests are refused. */
  stop(): Promise<void>;
}

/** The region the double says it is in (in headers and access-denied messages). */
const REGION = 'uksouth';

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'cache-control': 'no-cache',
    pragma: 'no-cache',
    expires: '-1',
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'x-ms-keyvault-region': REGION,
    'x-ms-request-id': randomUUID(),
    'x-ms-keyvault-service-version': '1.9.2643.1',
    'x-ms-keyvault-network-info': `conn_type=Ipv4;addr=127.0.0.1;act_addr_fam=InterNetwork;`,
    'x-content-type-options': 'nosniff',
    'strict-transport-security': 'max-age=31536000;includeSubDomains',
    ...headers,
  });
  res.end(text);
}

function serviceError(code: string, message: string, innerCode?: string): { error: { code: string; message: string; innererror?: { code: string } } } {
  return { error: { code, message, ...(innerCode === undefined ? {} : { innererror: { code: innerCode } }) } };
}

/** A stable object id for an identity, as Entra gives each service principal one. */
function objectIdOf(identity: string): string {
  const h = createHash('sha256').update(identity).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Starts a Key Vault double on 127.0.0.1, port 0. */
export async function startKeyVaultDouble(options: KeyVaultDoubleOptions = {}): Promise<KeyVaultDouble> {
  const tls = await testTls();
  const tenantId = options.tenantId ?? '72f988bf-0000-4000-8000-00000000c8a7';
  const identity = 'a1b2c3d4-0000-4000-8000-00000000c8a7';
  const tokens = new Map<string, string>();
  const issueToken = (forIdentity: string) => {
    const issued = `kv-test-token-${randomBytes(12).toString('hex')}`;
    tokens.set(issued, forIdentity);
    return issued;
  };
  const token = options.token ?? issueToken(identity);
  tokens.set(token, identity);
  const policies = new Map<string, Set<SecretPermission>>([[identity, new Set<SecretPermission>(['get', 'list'])]]);
  const vaultName = 'cr8tor-test';
  const secrets = new Map<string, StoredVersion[]>();
  const requests: KeyVaultRequest[] = [];
  const unexpected: string[] = [];
  const tokenRequests: TokenRequest[] = [];
  let failures: { status: number; left: number } | undefined;
  let vaultUrl = '';

  const challenge = `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="${KEYVAULT_RESOURCE}"`;
  const now = () => Math.floor(Date.now() / 1000);
  const idOf = (name: string, version?: string) => `${vaultUrl}/secrets/${name}${version ? `/${version}` : ''}`;

  function attributes(v: StoredVersion) {
    return { enabled: v.enabled, created: v.created, updated: v.updated, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 };
  }

  function bundle(name: string, v: StoredVersion) {
    return {
      value: v.value,
      id: idOf(name, v.version),
      attributes: attributes(v),
      tags: v.tags,
      ...(v.contentType === undefined ? {} : { contentType: v.contentType }),
    };
  }

  /** Answers an understood request with a token the double issued to `caller`. */
  function answer(req: IncomingMessage, res: ServerResponse, segments: string[], query: URLSearchParams, caller: string): number {
    const needed: SecretPermission = segments.length === 1 ? 'list' : 'get';
    if (!policies.get(caller)?.has(needed)) {
      const who = `appid=${caller};oid=${objectIdOf(caller)};iss=https://sts.windows.net/${tenantId}/`;
      json(res, 403, serviceError('Forbidden', `The user, group or application '${who}' does not have secrets ${needed} permission on key vault '${vaultName};location=${REGION}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`, 'AccessDenied'));
      return 403;
    }
    if (failures && failures.left > 0) {
      failures.left -= 1;
      const { status } = failures;
      json(res, status, serviceError('ServiceUnavailable', `Injected failure ${status}.`), { 'retry-after': '0' });
      return status;
    }
    if (segments.length === 1) {
      // GET /secrets?maxresults=n[&$skiptoken=offset]
      const names = [...secrets.keys()].sort();
      const max = Number(query.get('maxresults') ?? '25');
      const offset = Number(query.get('$skiptoken') ?? '0');
      const page = names.slice(offset, offset + max).map((name) => {
        const latest = secrets.get(name)!.at(-1)!;
        return { id: idOf(name), attributes: attributes(latest), tags: latest.tags, ...(latest.contentType === undefined ? {} : { contentType: latest.contentType }) };
      });
      const next = offset + max < names.length ? `${vaultUrl}/secrets?api-version=${query.get('api-version')}&$skiptoken=${offset + max}&maxresults=${max}` : null;
      json(res, 200, { value: page, nextLink: next });
      return 200;
    }
    const name = decodeURIComponent(segments[1]!);
    if (!KEYVAULT_NAME.test(name)) {
      json(res, 400, serviceError('BadParameter', `The request URI contains an invalid name: ${name}`));
      return 400;
    }
    const version = segments[2] ? decodeURIComponent(segments[2]) : '';
    const versions = secrets.get(name);
    const found = version ? versions?.find((v) => v.version === version) : versions?.at(-1);
    if (!found) {
      json(res, 404, serviceError('SecretNotFound', `A secret with (name/id) ${version ? `${name}/${version}` : name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`));
      return 404;
    }
    if (!found.enabled) {
      json(res, 403, serviceError('Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled'));
      return 403;
    }
    json(res, 200, bundle(name, found));
    return 200;
  }

  function handle(req: IncomingMessage, res: ServerResponse, bodyLength: number): void {
    const url = new URL(req.url ?? '/', 'https://double.invalid');
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const auth = req.headers.authorization;
    const caller = auth?.startsWith('Bearer ') ? tokens.get(auth.slice('Bearer '.length)) : undefined;
    const validToken = caller !== undefined;
    const entry: KeyVaultRequest = { method: req.method ?? '?', path: url.pathname, query, authorization: auth !== undefined, validToken, identity: caller, status: 0 };
    requests.push(entry);
    const reject = (status: number, why: string) => {
      unexpected.push(`${entry.method} ${req.url}: ${why}`);
      json(res, status, serviceError('KeyVaultDoubleDoesNotUnderstand', `The Key Vault double does not understand ${entry.method} ${req.url}: ${why}`));
      entry.status = status;
    };

    // Routes: /secrets, /secrets/{name}, /secrets/{name}/{version} (trailing slash allowed).
    const segments = url.pathname.replace(/\/$/, '').split('/').slice(1);
    if (segments[0] !== 'secrets' || segments.length > 3) return reject(400, 'only the secrets API is served (/secrets, /secrets/{name}/, /secrets/{name}/{version}).');
    if (segments.some((s) => s === '')) return reject(400, 'empty path segment.');
    if (req.method !== 'GET') return reject(405, `method ${req.method} is not served (only GET).`);
    if (bodyLength > 0) return reject(400, 'a GET with a body.');
    const allowed = segments.length === 1 ? ['api-version', 'maxresults', '$skiptoken'] : ['api-version'];
    const extra = Object.keys(query).filter((k) => !allowed.includes(k));
    if (extra.length > 0) return reject(400, `query keys not understood: ${extra.join(', ')}.`);
    const apiVersion = url.searchParams.get('api-version');
    if (!apiVersion || !(KEYVAULT_API_VERSIONS as readonly string[]).includes(apiVersion)) {
      return reject(400, `api-version ${apiVersion === null ? 'is missing' : `'${apiVersion}' is not known`}.`);
    }
    if (segments.length === 1) {
      const max = query.maxresults;
      if (max !== undefined && !/^[1-9][0-9]*$/.test(max)) return reject(400, `maxresults '${max}' is not a positive number.`);
      if (max !== undefined && Number(max) > 25) {
        json(res, 400, serviceError('BadParameter', 'invalid maxresults: must be between 1 and 25.'));
        entry.status = 400;
        return;
      }
    }

    if (caller === undefined) {
      // The challenge: no token yet, or not ours (the real service challenges a bad token too).
      const message = auth === undefined ? 'Request is missing a Bearer or PoP token.' : 'AKV10000: Request is missing a valid Bearer token.';
      json(res, 401, serviceError('Unauthorized', message), { 'www-authenticate': challenge });
      entry.status = 401;
      return;
    }
    entry.status = answer(req, res, segments, url.searchParams, caller);
  }

  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    let bodyLength = 0;
    req.on('data', (chunk: Buffer) => {
      bodyLength += chunk.length;
    });
    req.on('end', () => {
      try {
        handle(req, res, bodyLength);
      } catch (error) {
        unexpected.push(`${req.method} ${req.url}: the double failed: ${(error as Error).message}`);
        if (!res.headersSent) json(res, 500, serviceError('KeyVaultDoubleFailed', (error as Error).message));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  vaultUrl = `https://${options.host ?? '127.0.0.1'}:${port}`;

  const credential: TokenCredential = {
    async getToken(scopes: string | string[], opts?: GetTokenOptions): Promise<AccessToken> {
      tokenRequests.push({ scopes: Array.isArray(scopes) ? [...scopes] : [scopes], tenantId: opts?.tenantId, enableCae: opts?.enableCae });
      return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };

  let stopped = false;
  return {
    vaultUrl,
    port,
    tenantId,
    identity,
    token,
    ca: tls.ca,
    credential,
    clientOptions: { tlsOptions: { ca: tls.ca }, disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } },
    requests,
    unexpected,
    tokenRequests,
    issueToken,
    credentialFor(forIdentity) {
      return { getToken: async (): Promise<AccessToken> => ({ token: issueToken(forIdentity), expiresOnTimestamp: Date.now() + 3_600_000 }) };
    },
    setAccessPolicy(forIdentity, permissions) {
      if (permissions.length === 0) policies.delete(forIdentity);
      else policies.set(forIdentity, new Set(permissions));
    },
    setSecret(name, value, opts = {}) {
      if (!KEYVAULT_NAME.test(name)) throw new Error(`Key Vault would refuse the secret name '${name}'.`);
      const version = randomBytes(16).toString('hex');
      const t = now();
      const list = secrets.get(name) ?? [];
      list.push({ version, value, contentType: opts.contentType, enabled: opts.enabled ?? true, created: t, updated: t, tags: opts.tags ?? {} });
      secrets.set(name, list);
      return version;
    },
    values() {
      return [...secrets.values()].flatMap((list) => list.map((v) => v.value));
    },
    failNext(status, times = 1) {
      failures = { status, left: times };
    },
    clearLog() {
      requests.length = 0;
      unexpected.length = 0;
      tokenRequests.length = 0;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopHttpServer(server);
    },
  };
}
