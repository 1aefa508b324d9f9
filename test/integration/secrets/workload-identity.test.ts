/**
 * Key Vault as sites configure it: the metadata service, started as a real
 * process with the settings AKS workload identity injects (AZURE_CLIENT_ID,
 * AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST) and
 * SECRETS_PROVIDER=azure-keyvault, reads its API key through the production
 * code path: the real `@azure/identity` exchanges the service account token for
 * a vault token at the Entra ID double (test/support/entra-double.ts), and the
 * real `@azure/keyvault-secrets` client reads the vault double
 * (test/support/keyvault-double.ts), whose access policy grants Get only.
 * The process may reach loopback only (test/support/outbound-guard.ts): any
 * attempt at the managed-identity endpoint or Entra's public hosts is refused
 * and recorded, and the test fails on it.
 *
 * Run: node --import tsx --test test/integration/secrets/workload-identity.test.ts
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fromRoot } from '../../../lib/paths.js';
import { startEntraDouble, JWT_BEARER, ServiceAccountIssuer, TOKEN_EXCHANGE_AUDIENCE, type EntraDouble } from '../../support/entra-double.js';
import { KEYVAULT_RESOURCE, KEYVAULT_TEST_HOST, startKeyVaultDouble, type KeyVaultDouble } from '../../support/keyvault-double.js';
import { freePort, spawnService, stopService, waitForHealthy, type ServiceProcess } from '../../support/processes.js';

/** A process test may take a few seconds (tsx compiles on start); this only stops a hung one. */
const GUARD = { timeout: 90_000 };

const NAMESPACE = 'cr8tor';
const SERVICE_ACCOUNT = 'cr8tor-publisher-metadata';
const API_KEY_SECRET = 'metadataserviceapikey';
const API_KEY = `metadata-key-${randomBytes(12).toString('hex')}`;
/** Another secret in the vault, which nothing should read or print. */
const OTHER_VALUE = `other-value-${randomBytes(12).toString('hex')}`;

let kv: KeyVaultDouble;
let entra: EntraDouble;
let issuer: ServiceAccountIssuer;
let root: string;
let caFile: string;
/** The metadata service's Entra application (its user-assigned managed identity's client id). */
const clientId = randomUUID();
/** Every access token Entra issued, to check none is printed. */
const issued: string[] = [];

before(async () => {
  kv = await startKeyVaultDouble({ host: KEYVAULT_TEST_HOST });
  issuer = new ServiceAccountIssuer();
  entra = await startEntraDouble({
    tenantId: kv.tenantId,
    clients: { [clientId]: [{ issuer: issuer.url, subject: `system:serviceaccount:${NAMESPACE}:${SERVICE_ACCOUNT}`, audience: TOKEN_EXCHANGE_AUDIENCE }] },
    issuers: [issuer],
    resource: KEYVAULT_RESOURCE,
    issueToken: (id) => {
      const t = kv.issueToken(id);
      issued.push(t);
      return t;
    },
  });
  kv.setSecret(API_KEY_SECRET, API_KEY);
  kv.setSecret('src-other', OTHER_VALUE);
  root = await mkdtemp(path.join(os.tmpdir(), 'cr8tor-wi-'));
  caFile = path.join(root, 'ca.pem');
  await writeFile(caFile, kv.ca);
});

after(async () => {
  await Promise.all([kv?.stop(), entra?.stop()]);
  if (root) await rm(root, { recursive: true, force: true });
});

interface Started {
  p: ServiceProcess;
  port: number;
  /** The lines the outbound guard wrote: every lookup and connection the process tried. */
  outbound(): Promise<string[]>;
  tokenText: string;
}

/** Starts the metadata service with workload identity settings; `token` is what the federated token file holds. */
async function startMetadata(label: string, token: string, env: NodeJS.ProcessEnv = {}): Promise<Started> {
  const port = await freePort();
  const tokenFile = path.join(root, `${label}.token`);
  const outboundLog = path.join(root, `${label}.outbound`);
  await writeFile(tokenFile, token);
  await writeFile(outboundLog, '');
  const p = spawnService('metadata', {
    LOG_LEVEL: 'info',
    METADATA_CONTAINER_PORT: String(port),
    SECRETS_PROVIDER: 'azure-keyvault',
    AZURE_KEYVAULT_URL: `${kv.vaultUrl}/`,
    AZURE_CLIENT_ID: clientId,
    AZURE_TENANT_ID: kv.tenantId,
    AZURE_FEDERATED_TOKEN_FILE: tokenFile,
    // As the workload identity webhook writes it (with a trailing slash).
    AZURE_AUTHORITY_HOST: `${entra.authorityHost}/`,
    NODE_EXTRA_CA_CERTS: caFile,
    NODE_OPTIONS: `--import tsx --import ${fromRoot('test', 'support', 'outbound-guard.ts')}`,
    CR8TOR_TEST_HOSTS: `${KEYVAULT_TEST_HOST}=127.0.0.1`,
    CR8TOR_TEST_OUTBOUND_LOG: outboundLog,
    ...env,
  });
  return {
    p,
    port,
    tokenText: token,
    outbound: async () => (await readFile(outboundLog, 'utf8')).split('\n').filter((l) => l !== ''),
  };
}

/** Only the vault's name (mapped to loopback) was looked up, and only loopback was connected to. */
async function assertLoopbackOnly(s: Started): Promise<void> {
  const lines = await s.outbound();
  assert.ok(lines.some((l) => l.startsWith(`connect ${KEYVAULT_TEST_HOST}:${kv.port} `)), `the outbound guard saw the vault connection:\n${lines.join('\n')}`);
  const bad = lines.filter((l) => l.endsWith('refused'));
  assert.deepEqual(bad, [], `the process tried to reach beyond loopback:\n${lines.join('\n')}`);
  for (const line of lines) {
    assert.match(line, new RegExp(`^(lookup ${KEYVAULT_TEST_HOST.replace(/\./g, '\\.')} -> 127\\.0\\.0\\.1|connect (127\\.0\\.0\\.1|${KEYVAULT_TEST_HOST.replace(/\./g, '\\.')}):\\d+ allowed)$`));
  }
  assert.ok(!lines.some((l) => l.includes('169.254.169.254')), 'no managed-identity probe');
}

/** Nothing the process wrote holds a secret value, the service account token or an access token. */
function assertNoSecrets(s: Started, ...extra: string[]): void {
  const text = s.p.stdout() + s.p.stderr();
  for (const secret of [API_KEY, OTHER_VALUE, s.tokenText, ...issued, ...extra]) {
    assert.ok(!text.includes(secret), `the process output holds a secret (${secret.slice(0, 12)}…)`);
  }
}

async function readyz(port: number, key?: string): Promise<{ status: number; body: { status: string; problems?: string[] } }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`, { headers: key ? { 'x-api-key': key } : {} });
  return { status: res.status, body: (await res.json()) as { status: string; problems?: string[] } };
}

const wire = (r: { method: string; path: string; status: number }) => `${r.method} ${r.path} -> ${r.status}`;

describe('workload identity against the Entra ID and Key Vault doubles, Get-only access policy', () => {
  test('the service reads its key through WorkloadIdentityCredential, is ready, and reaches nothing beyond loopback', GUARD, async () => {
    kv.setAccessPolicy(clientId, ['get']);
    kv.clearLog();
    const entraBefore = entra.requests.length;
    const s = await startMetadata('ready', issuer.token(NAMESPACE, SERVICE_ACCOUNT));
    try {
      await waitForHealthy(s.p, `http://127.0.0.1:${s.port}/healthz`);
      const ready = await readyz(s.port);
      assert.equal(ready.status, 200, JSON.stringify(ready.body));
      assert.deepEqual(ready.body, { status: 'ready', service: 'metadata' });

      // The key the service holds is the vault's.
      const graphql = (key: string) =>
        fetch(`http://127.0.0.1:${s.port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify({ query: '{ __typename }' }) });
      assert.equal((await graphql(API_KEY)).status, 200);
      assert.equal((await graphql('not-the-key')).status, 403);

      // Entra: the tenant's OpenID configuration, then one client-assertion token request.
      const asked = entra.requests.slice(entraBefore);
      assert.deepEqual(asked.map(wire), [
        `GET /${kv.tenantId}/v2.0/.well-known/openid-configuration -> 200`,
        `POST /${kv.tenantId}/oauth2/v2.0/token -> 200`,
      ]);
      const form = asked[1]!.form;
      assert.equal(form.grant_type, 'client_credentials');
      assert.equal(form.client_id, clientId);
      assert.equal(form.client_assertion_type, JWT_BEARER);
      assert.equal(form.scope, `${KEYVAULT_RESOURCE}/.default`);
      assert.deepEqual(entra.unexpected, []);

      // The vault: only Gets of the service's own key, by the service's identity; never a List.
      assert.ok(kv.requests.length >= 3, kv.requests.map(wire).join('\n'));
      assert.deepEqual(kv.requests[0] && wire(kv.requests[0]), `GET /secrets/${API_KEY_SECRET}/ -> 401`);
      for (const r of kv.requests.slice(1)) {
        assert.equal(wire(r), `GET /secrets/${API_KEY_SECRET}/ -> 200`);
        assert.equal(r.identity, clientId);
      }
      assert.deepEqual(kv.unexpected, []);

      await assertLoopbackOnly(s);
      assert.ok((await s.outbound()).includes(`connect 127.0.0.1:${new URL(entra.authorityHost).port} allowed`), 'the token came from the Entra double');
      assertNoSecrets(s);
    } finally {
      assert.equal(await stopService(s.p), 0, s.p.stderr());
    }
  });

  test('without Get the service is not ready, saying why to a key holder and in its log, and ready again once Get is granted', GUARD, async () => {
    kv.setAccessPolicy(clientId, ['get']);
    const s = await startMetadata('revoked', issuer.token(NAMESPACE, SERVICE_ACCOUNT));
    try {
      await waitForHealthy(s.p, `http://127.0.0.1:${s.port}/healthz`);
      assert.equal((await readyz(s.port)).status, 200);

      // List without Get is not enough: the service reads a secret, it never lists the vault.
      for (const permissions of [[], ['list']] as const) {
        kv.setAccessPolicy(clientId, permissions);
        const anonymous = await readyz(s.port);
        assert.equal(anonymous.status, 503);
        assert.deepEqual(anonymous.body, { status: 'not ready', service: 'metadata' }, 'no reasons without the key');
        const detailed = await readyz(s.port, API_KEY);
        assert.equal(detailed.status, 503);
        assert.equal(detailed.body.problems?.length, 1, JSON.stringify(detailed.body));
        const [problem] = detailed.body.problems!;
        assert.match(problem!, new RegExp(`'${API_KEY_SECRET}'`));
        assert.match(problem!, /HTTP 403 AccessDenied/);
        assert.match(problem!, /Get permission on secrets/);
        assert.ok(!problem!.includes(KEYVAULT_TEST_HOST), 'the reason names no vault (the log has it)');
      }
      assert.ok(kv.requests.some((r) => r.status === 403 && r.identity === clientId));

      kv.setAccessPolicy(clientId, ['get']);
      assert.equal((await readyz(s.port)).status, 200);

      // The log said "not ready" with the reason; no value anywhere.
      const logLines = s.p.stdout().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg?: string; problems?: string[] });
      const notReady = logLines.find((l) => l.msg === 'not ready');
      assert.ok(notReady?.problems?.some((p) => /HTTP 403 AccessDenied/.test(p)), 'the log has the reason');
      await assertLoopbackOnly(s);
      assertNoSecrets(s);
    } finally {
      kv.setAccessPolicy(clientId, ['get']);
      assert.equal(await stopService(s.p), 0, s.p.stderr());
    }
  });

  test('without Get from the start the service refuses to start with one line naming its key and the permission', GUARD, async () => {
    kv.setAccessPolicy(clientId, ['list']);
    const s = await startMetadata('no-get', issuer.token(NAMESPACE, SERVICE_ACCOUNT));
    try {
      const code = await s.p.exited;
      assert.equal(code, 1);
      const lines = s.p.stderr().split('\n').filter((l) => l.trim() !== '');
      assert.equal(lines.length, 1, s.p.stderr());
      assert.match(lines[0]!, new RegExp(`no API key: Secret '${API_KEY_SECRET}' could not be read from the secret store \\(HTTP 403 AccessDenied: .*Get permission on secrets`));
      await assertLoopbackOnly(s);
      assertNoSecrets(s);
    } finally {
      kv.setAccessPolicy(clientId, ['get']);
    }
  });
});

describe('Entra ID refuses a token exchange it should refuse, and the service says so without reaching further', { concurrency: true }, () => {
  const cases: Array<[string, () => string, number, NodeJS.ProcessEnv?]> = [
    ['another service account (subject)', () => issuer.token(NAMESPACE, 'cr8tor-publisher-publish'), 700213],
    ['another audience', () => issuer.token(NAMESPACE, SERVICE_ACCOUNT, { aud: ['api://SomethingElse'] }), 700212],
    ['another issuer', () => new ServiceAccountIssuer().token(NAMESPACE, SERVICE_ACCOUNT), 700211],
    ['a forged signature', () => issuer.token(NAMESPACE, SERVICE_ACCOUNT, {}, ServiceAccountIssuer.otherKey()), 700027],
    ['an expired token', () => issuer.token(NAMESPACE, SERVICE_ACCOUNT, { exp: Math.floor(Date.now() / 1000) - 600, iat: Math.floor(Date.now() / 1000) - 4200, nbf: Math.floor(Date.now() / 1000) - 4200 }), 700024],
    ['not a JWT', () => 'not-a-jwt-at-all', 50027],
    ['an unknown client id', () => issuer.token(NAMESPACE, SERVICE_ACCOUNT), 700016, { AZURE_CLIENT_ID: randomUUID() }],
  ];
  for (const [label, token, aadsts, env] of cases) {
    test(`${label}: AADSTS${aadsts}`, GUARD, async () => {
      const s = await startMetadata(`refused-${aadsts}-${label.replace(/\W+/g, '-')}`, token(), env);
      const code = await s.p.exited;
      assert.equal(code, 1, s.p.stderr());
      const lines = s.p.stderr().split('\n').filter((l) => l.trim() !== '');
      assert.equal(lines.length, 1, s.p.stderr());
      assert.match(lines[0]!, new RegExp(`no API key: Secret '${API_KEY_SECRET}' could not be read from the secret store \\(the service's Azure identity could not get a token: AADSTS${aadsts}\\b`));
      const refused = entra.requests.filter((r) => r.aadsts === aadsts && r.form.client_id === (env?.AZURE_CLIENT_ID ?? clientId));
      assert.ok(refused.length >= 1, `Entra refused with AADSTS${aadsts}`);
      await assertLoopbackOnly(s);
      assertNoSecrets(s);
    });
  }
});

test('a federated token file that cannot be read stops the service with one line naming the cause, and no other credential is tried', GUARD, async () => {
  const s = await startMetadata('unreadable-token-file', 'unused', { AZURE_FEDERATED_TOKEN_FILE: path.join(root, 'no-such-token-file') });
  assert.equal(await s.p.exited, 1, s.p.stderr());
  const lines = s.p.stderr().split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, s.p.stderr());
  // One credential's error: DefaultAzureCredential's chain would go on to the developer tools (az, pwsh, azd) and report an aggregate.
  assert.match(lines[0]!, new RegExp(`no API key: Secret '${API_KEY_SECRET}' could not be read from the secret store \\(the service's Azure identity could not get a token: (?!Aggregate)\\w+Error \\(ENOENT\\)\\)`));
  await assertLoopbackOnly(s);
  assertNoSecrets(s);
});

describe('what the outbound guard is there to catch', { concurrency: true }, () => {
  test("without AZURE_AUTHORITY_HOST the identity library goes to Entra's public host: refused, and the start-up line says no token", GUARD, async () => {
    const s = await startMetadata('public-authority', issuer.token(NAMESPACE, SERVICE_ACCOUNT), { AZURE_AUTHORITY_HOST: undefined });
    assert.equal(await s.p.exited, 1, s.p.stderr());
    assert.match(s.p.stderr(), /could not get a token/);
    const lines = await s.outbound();
    assert.ok(lines.includes('connect login.microsoftonline.com:443 refused'), lines.join('\n'));
    assertNoSecrets(s);
  });

  test("without workload identity DefaultAzureCredential's chain probes the managed-identity endpoint: refused", GUARD, async () => {
    const s = await startMetadata('no-workload-identity', 'unused', { AZURE_FEDERATED_TOKEN_FILE: undefined, AZURE_AUTHORITY_HOST: undefined });
    assert.equal(await s.p.exited, 1, s.p.stderr());
    assert.match(s.p.stderr(), /could not get a token/);
    const lines = await s.outbound();
    assert.ok(lines.some((l) => /^connect 169\.254\.169\.254:\d+ refused$/.test(l)), lines.join('\n'));
    assertNoSecrets(s);
  });
});
