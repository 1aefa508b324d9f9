/**
 * A protocol-level Microsoft Entra ID double for workload identity: an
 * in-process HTTPS server on a free loopback port that a process points
 * AZURE_AUTHORITY_HOST at, so the real `@azure/identity` (and the MSAL it runs
 * on) gets its Key Vault token the way it does in AKS.
 *
 * What it models:
 * - `GET /{tenant}/v2.0/.well-known/openid-configuration`: the tenant's OpenID
 *   configuration (MSAL reads it when instance discovery is off, as it is for
 *   an authority host that is not one of Entra's clouds);
 * - `POST /{tenant}/oauth2/v2.0/token` with `grant_type=client_credentials`, a
 *   `scope` of `<resource>/.default`, `client_id`, and a client assertion
 *   (`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`,
 *   `client_assertion`: the Kubernetes service account token read from
 *   AZURE_FEDERATED_TOKEN_FILE). The assertion must be an RS256 JWT signed by the
 *   cluster issuer's key, within its validity, and match one of the client's
 *   federated identity credentials by issuer, subject and audience (exactly,
 *   case and all, as Entra matches them). A token is then minted by the Key
 *   Vault double, bound to the client's identity;
 * - refusals as Entra words them: the status, `error`, an `AADSTS…` code in
 *   `error_description` and `error_codes`, with trace and correlation ids and a
 *   timestamp.
 * It does not model instance discovery (`/common/discovery/instance`: asked only
 *   of Entra's own hosts' aliases), other grants (secrets, certificates, users),
 *   the JWKS fetch from the cluster issuer (the double is given the issuer's key),
 *   token caching rules, or conditional access. Any other request is answered
 *   404 and recorded in {@link EntraDouble.unexpected}.
 */
import { generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { stopHttpServer } from './http-server.js';
import { testTls } from './keyvault-double.js';

/** The assertion type Entra requires for a JWT client assertion. */
export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** The audience AKS workload identity puts in the service account token, and Entra expects by default. */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

/** A federated identity credential on an Entra application: which external tokens it trusts. */
export interface FederatedCredential {
  issuer: string;
  subject: string;
  audience: string;
}

/**
 * A Kubernetes cluster's service account token issuer (its OIDC issuer): an
 * RSA key pair, and service account tokens signed with it as the kubelet
 * projects them into a pod.
 */
export class ServiceAccountIssuer {
  readonly publicKey: KeyObject;
  private readonly privateKey: KeyObject;
  readonly kid = randomUUID();

  constructor(readonly url = `https://oidc.prod-aks.azure.com/${randomUUID()}/`) {
    ({ publicKey: this.publicKey, privateKey: this.privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 }));
  }

  /** A projected service account token for `namespace/serviceAccount` (claims overridable, for refusals). */
  token(namespace: string, serviceAccount: string, overrides: Record<string, unknown> = {}, signWith?: KeyObject): string {
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      aud: [TOKEN_EXCHANGE_AUDIENCE],
      exp: now + 3600,
      iat: now,
      nbf: now,
      iss: this.url,
      sub: `system:serviceaccount:${namespace}:${serviceAccount}`,
      'kubernetes.io': { namespace, serviceaccount: { name: serviceAccount, uid: randomUUID() }, pod: { name: `${serviceAccount}-0`, uid: randomUUID() } },
      ...overrides,
    };
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const signed = `${part({ alg: 'RS256', kid: this.kid, typ: 'JWT' })}.${part(claims)}`;
    return `${signed}.${sign('sha256', Buffer.from(signed), signWith ?? this.privateKey).toString('base64url')}`;
  }

  /** A key that is not the issuer's, for a forged token. */
  static otherKey(): KeyObject {
    return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  }
}

/** One token request as the double received it (the assertion itself is not kept). */
export interface EntraRequest {
  method: string;
  path: string;
  /** The form fields of a token request, without `client_assertion`. */
  form: Record<string, string>;
  status: number;
  /** The AADSTS code of a refusal. */
  aadsts: number | undefined;
}

export interface EntraDoubleOptions {
  tenantId: string;
  /** The applications (client ids) and the federated credentials each trusts. */
  clients: Record<string, FederatedCredential[]>;
  /** The cluster issuers whose signing keys Entra knows (from their JWKS), by issuer URL. */
  issuers: ServiceAccountIssuer[];
  /** The resource tokens can be asked for (`<resource>/.default`). */
  resource: string;
  /** Mints an access token for the resource, bound to the client id (the Key Vault double's issueToken). */
  issueToken: (clientId: string) => string;
}

export interface EntraDouble {
  /** `https://127.0.0.1:<port>`: what AZURE_AUTHORITY_HOST points at. */
  readonly authorityHost: string;
  readonly requests: EntraRequest[];
  /** A line per request the double does not serve; a test should expect it empty. */
  readonly unexpected: string[];
  stop(): Promise<void>;
}

/** Entra's refusal body: `error`, and the AADSTS code in `error_description` and `error_codes`. */
function refusal(res: ServerResponse, base: string, status: number, error: string, code: number, message: string): void {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  send(res, status, {
    error,
    error_description: `AADSTS${code}: ${message} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `${base}/error?code=${code}`,
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store, no-cache', pragma: 'no-cache' });
  res.end(text);
}

interface Jwt {
  header: { alg?: unknown; kid?: unknown };
  claims: { iss?: unknown; sub?: unknown; aud?: unknown; exp?: unknown; nbf?: unknown };
  signed: string;
  signature: Buffer;
}

function parseJwt(text: string): Jwt | undefined {
  const parts = text.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    if (typeof header !== 'object' || header === null || typeof claims !== 'object' || claims === null) return undefined;
    return { header, claims, signed: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2]!, 'base64url') };
  } catch {
    return undefined;
  }
}

/** Starts an Entra ID double on 127.0.0.1, port 0, with the Key Vault double's TLS certificate. */
export async function startEntraDouble(options: EntraDoubleOptions): Promise<EntraDouble> {
  const tls = await testTls();
  const requests: EntraRequest[] = [];
  const unexpected: string[] = [];
  let base = '';
  const tenant = options.tenantId.toLowerCase();

  function openIdConfiguration(t: string) {
    const at = `${base}/${t}`;
    return {
      token_endpoint: `${at}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${at}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${at}/v2.0`,
      request_uri_parameter_supported: false,
      authorization_endpoint: `${at}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${at}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${at}/oauth2/v2.0/logout`,
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
    };
  }

  /** Answers a token request; gives the status and the AADSTS code of a refusal. */
  function token(res: ServerResponse, t: string, form: URLSearchParams): { status: number; aadsts?: number } {
    const refuse = (status: number, error: string, code: number, message: string) => {
      refusal(res, base, status, error, code, message);
      return { status, aadsts: code };
    };
    if (t !== tenant) {
      return refuse(400, 'invalid_request', 90002, `Tenant '${t}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
    }
    const grant = form.get('grant_type');
    if (grant !== 'client_credentials') return refuse(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant ?? ''}'.`);
    const clientId = form.get('client_id') ?? '';
    const credentials = options.clients[clientId];
    if (!credentials) {
      return refuse(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${t}'. This can happen if the application has not been installed by the administrator of the tenant.`);
    }
    const assertion = form.get('client_assertion');
    if (form.get('client_assertion_type') !== JWT_BEARER || !assertion) {
      return refuse(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }
    const jwt = parseJwt(assertion);
    if (!jwt || jwt.header.alg !== 'RS256') return refuse(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
    // Entra finds the federated credentials by issuer first: it has no keys for an issuer none of them names.
    const byIssuer = credentials.filter((c) => c.issuer === jwt.claims.iss);
    if (byIssuer.length === 0) {
      return refuse(401, 'invalid_client', 700211, `No matching federated identity record found for presented assertion issuer '${String(jwt.claims.iss)}'.`);
    }
    const issuer = options.issuers.find((i) => i.url === jwt.claims.iss);
    if (!issuer || !verify('sha256', Buffer.from(jwt.signed), issuer.publicKey, jwt.signature)) {
      return refuse(401, 'invalid_client', 700027, 'Client assertion failed signature validation.');
    }
    const now = Math.floor(Date.now() / 1000);
    if (typeof jwt.claims.exp !== 'number' || jwt.claims.exp <= now || (typeof jwt.claims.nbf === 'number' && jwt.claims.nbf > now + 300)) {
      return refuse(401, 'invalid_client', 700024, `Client assertion is not within its valid time range. Current time: ${new Date(now * 1000).toISOString()}.`);
    }
    const audiences = Array.isArray(jwt.claims.aud) ? jwt.claims.aud : [jwt.claims.aud];
    const bySubject = byIssuer.filter((c) => c.subject === jwt.claims.sub);
    if (bySubject.length === 0) {
      return refuse(401, 'invalid_client', 700213, `No matching federated identity record found for presented assertion subject '${String(jwt.claims.sub)}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.`);
    }
    if (!bySubject.some((c) => audiences.includes(c.audience))) {
      return refuse(401, 'invalid_client', 700212, `No matching federated identity record found for presented assertion audience '${audiences.map(String).join(',')}'.`);
    }
    const scope = form.get('scope') ?? '';
    const resource = scope.split(' ').find((s) => s.endsWith('/.default'))?.slice(0, -'/.default'.length);
    if (resource !== options.resource) {
      return refuse(400, 'invalid_resource', 500011, `The resource principal named ${resource ?? scope} was not found in the tenant named ${t}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`);
    }
    send(res, 200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: options.issueToken(clientId) });
    return { status: 200 };
  }

  function handle(req: IncomingMessage, res: ServerResponse, body: string): void {
    const url = new URL(req.url ?? '/', 'https://double.invalid');
    const segments = url.pathname.split('/').slice(1);
    const t = (segments[0] ?? '').toLowerCase();
    const rest = segments.slice(1).join('/');
    const entry: EntraRequest = { method: req.method ?? '?', path: url.pathname, form: {}, status: 0, aadsts: undefined };
    requests.push(entry);
    if (req.method === 'GET' && rest === 'v2.0/.well-known/openid-configuration') {
      if (t !== tenant) {
        refusal(res, base, 400, 'invalid_tenant', 90002, `Tenant '${t}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
        entry.status = 400;
        entry.aadsts = 90002;
        return;
      }
      send(res, 200, openIdConfiguration(t));
      entry.status = 200;
      return;
    }
    if (req.method === 'POST' && rest === 'oauth2/v2.0/token') {
      if (!/^application\/x-www-form-urlencoded\b/.test(req.headers['content-type'] ?? '')) {
        refusal(res, base, 400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.");
        entry.status = 400;
        entry.aadsts = 900144;
        return;
      }
      const form = new URLSearchParams(body);
      for (const [k, v] of form) if (k !== 'client_assertion') entry.form[k] = v;
      const { status, aadsts } = token(res, t, form);
      entry.status = status;
      entry.aadsts = aadsts;
      return;
    }
    unexpected.push(`${req.method} ${req.url}`);
    send(res, 404, { error: 'not_found', error_description: `The Entra ID double does not serve ${req.method} ${url.pathname}.` });
    entry.status = 404;
  }

  const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      try {
        handle(req, res, body);
      } catch (error) {
        unexpected.push(`${req.method} ${req.url}: the double failed: ${(error as Error).message}`);
        if (!res.headersSent) send(res, 500, { error: 'double_failed' });
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let stopped = false;
  return {
    authorityHost: base,
    requests,
    unexpected,
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopHttpServer(server);
    },
  };
}
