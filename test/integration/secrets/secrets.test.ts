/**
 * Secret providers: files in a folder (as the Key Vault CSI driver mounts them)
 * and Azure Key Vault read with the real `@azure/keyvault-secrets` client against
 * a protocol-level double (test/support/keyvault-double.ts), asserting both what
 * the provider returns and what went over the wire.
 *
 * Run: node --import tsx --test test/integration/secrets/secrets.test.ts
 */
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { AppError, type ErrorCode } from '../../../lib/errors.js';
import { ConfigError } from '../../../lib/config/env.js';
import { FileSecretProvider, secretProviderFromEnv } from '../../../lib/secrets/index.js';
import { KeyVaultSecretProvider } from '../../../lib/secrets/keyvault-provider.js';
import { startKeyVaultDouble, type KeyVaultDouble, type KeyVaultRequest } from '../../support/keyvault-double.js';

/** Names every provider must refuse before any lookup. */
const INVALID_NAMES: [string, string][] = [
  ['../x', 'a parent-folder path'],
  ['a/b', 'a slash'],
  ['a\\b', 'a backslash'],
  ['x\u0000', 'a NUL byte'],
  ['', 'the empty name'],
  ['a'.repeat(200), '200 characters'],
  ['a'.repeat(128), '128 characters'],
  ['.', 'a dot'],
  ['..', 'two dots'],
  ['a.b', 'a dot inside'],
  [' x', 'a space'],
  ['x\n', 'a newline'],
  ['%2e%2e', 'percent-encoding'],
  ['sécret', 'a non-ASCII letter'],
];

/** Asserts that `promise` rejects with an AppError of `code` whose message matches every pattern. */
async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, ...patterns: (RegExp | string)[]): Promise<AppError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof AppError, `expected an AppError, got ${String(caught)}`);
  assert.equal(caught.code, code, `code of: ${caught.message}`);
  for (const p of patterns) {
    if (typeof p === 'string') assert.ok(caught.message.includes(p), `message ${JSON.stringify(caught.message)} should include ${JSON.stringify(p)}`);
    else assert.match(caught.message, p);
  }
  return caught;
}

/** The messages of an error's causes, where what callers are not told (a folder, a vault) goes for the log. */
function causeText(error: Error): string {
  const parts: string[] = [];
  for (let e = error.cause as Error | undefined, i = 0; e && i < 5; e = e.cause as Error | undefined, i++) parts.push(String(e.message));
  return parts.join(' | ');
}

/** The message names no folder or vault of ours; its causes (the log) do. */
function whereOnlyInCause(error: AppError, where: string): void {
  assert.ok(!error.message.includes(where), `the caller's message ${JSON.stringify(error.message)} must not name ${where}`);
  assert.ok(causeText(error).includes(where), `the cause (for the log) should name ${where}: ${causeText(error)}`);
}

function assertNotIn(message: string, ...secrets: string[]): void {
  for (const s of secrets) assert.ok(!message.includes(s), `message ${JSON.stringify(message)} must not contain ${JSON.stringify(s)}`);
}

/** A raw HTTPS request to the double, trusting its CA, for checking the double itself. */
function fetchRaw(kv: KeyVaultDouble, method: string, pathAndQuery: string, token = kv.token): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${kv.vaultUrl}${pathAndQuery}`, { method, ca: kv.ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('FileSecretProvider', () => {
  let root: string;
  let dir: string;
  let provider: FileSecretProvider;

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'cr8tor-secrets-test-'));
    dir = path.join(root, 'secrets');
    await mkdir(dir);
    provider = new FileSecretProvider(dir);
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reads a value and strips one trailing newline, and only one', async () => {
    const cases: [string, string, string][] = [
      ['plain', 'hunter2', 'hunter2'],
      ['lf', 'hunter2\n', 'hunter2'],
      ['crlf', 'hunter2\r\n', 'hunter2'],
      ['two-lf', 'hunter2\n\n', 'hunter2\n'],
      ['inner', 'line1\nline2\n', 'line1\nline2'],
      ['spaces', '  padded  \n', '  padded  '],
      ['empty', '', ''],
      ['just-lf', '\n', ''],
      ['db_password', 'underscore names are fine for files', 'underscore names are fine for files'],
    ];
    for (const [name, content, expected] of cases) {
      await writeFile(path.join(dir, name), content);
      assert.equal(await provider.get(name), expected, name);
    }
  });

  it('accepts a name of exactly 127 characters', async () => {
    const name = 'n'.repeat(127);
    await writeFile(path.join(dir, name), 'long-name-value\n');
    assert.equal(await provider.get(name), 'long-name-value');
  });

  it('reports a missing secret as SECRET_NOT_FOUND naming the secret, not the folder (the log has it)', async () => {
    const error = await rejectsWith(provider.get('no-such-secret'), 'SECRET_NOT_FOUND', "'no-such-secret'");
    whereOnlyInCause(error, dir);
    assert.equal(error.status, 404);
    assert.equal(error.transient, false);
  });

  it('refuses malformed names with INVALID_REQUEST before touching any file', async () => {
    // A file one level up: if '../x' ever reached the file system it would be read.
    await writeFile(path.join(root, 'x'), 'outside-value');
    // A provider whose folder does not exist: any file access would answer SECRET_NOT_FOUND (ENOENT), not INVALID_REQUEST.
    const nowhere = new FileSecretProvider(path.join(root, 'does-not-exist'));
    for (const p of [provider, nowhere]) {
      for (const [name, why] of INVALID_NAMES) {
        const error = await rejectsWith(p.get(name), 'INVALID_REQUEST', /secret name/);
        assert.equal(error.status, 422, why);
        assertNotIn(error.message, 'outside-value');
      }
    }
  });

  it('follows a symlink the way the CSI driver mounts secrets (name -> ..data/name)', async () => {
    await mkdir(path.join(dir, '..data'), { recursive: true });
    await writeFile(path.join(dir, '..data', 'csi-secret'), 'from-csi\n');
    await symlink(path.join('..data', 'csi-secret'), path.join(dir, 'csi-secret'));
    assert.equal(await provider.get('csi-secret'), 'from-csi');
  });

  it('treats a dangling symlink, a folder, or a symlink to a folder as not found', async () => {
    await symlink(path.join(dir, 'gone'), path.join(dir, 'dangling'));
    await mkdir(path.join(dir, 'a-folder'));
    await symlink(path.join(dir, 'a-folder'), path.join(dir, 'link-to-folder'));
    for (const name of ['dangling', 'a-folder', 'link-to-folder']) {
      await rejectsWith(provider.get(name), 'SECRET_NOT_FOUND', `'${name}'`);
    }
  });

  it('reports a symlink loop as SECRET_STORE_FAILED naming the secret and the cause code', async () => {
    await symlink('loop', path.join(dir, 'loop'));
    await rejectsWith(provider.get('loop'), 'SECRET_STORE_FAILED', "'loop'", 'ELOOP');
  });

  it('check(name) reads that secret now; a missing one, or a missing folder, makes the store not ready, naming the folder for the log only', async () => {
    await writeFile(path.join(dir, 'own-api-key'), 'own-key-value\n');
    await provider.check('own-api-key');
    const absent = await rejectsWith(provider.check('not-written'), 'SECRET_STORE_FAILED', "'not-written'", 'not in the secret store');
    whereOnlyInCause(absent, dir);
    const missing = path.join(root, 'missing-folder');
    whereOnlyInCause(await rejectsWith(new FileSecretProvider(missing).check('own-api-key'), 'SECRET_STORE_FAILED', "'own-api-key'"), missing);
    await rejectsWith(provider.check('../x'), 'INVALID_REQUEST', /secret name/);
  });
});

describe('KeyVaultSecretProvider against the Key Vault double', () => {
  let kv: KeyVaultDouble;

  const provider = (options: { cacheTtlMs?: number; cacheMaxEntries?: number } = {}, credential?: TokenCredential) =>
    new KeyVaultSecretProvider(kv.vaultUrl, credential ?? kv.credential, { ...options, clientOptions: kv.clientOptions });
  const wire = (r: KeyVaultRequest) => `${r.method} ${r.path} auth=${r.validToken ? 'token' : r.authorization ? 'bad' : 'none'} -> ${r.status}`;

  before(async () => {
    kv = await startKeyVaultDouble();
    kv.setSecret('db-password', 'pa55-w0rd-value');
    kv.setSecret('api-key', 'first-api-key-value');
  });

  beforeEach(() => kv.clearLog());

  afterEach(() => {
    assert.deepEqual(kv.unexpected, [], 'the double received requests it does not understand');
  });

  after(async () => {
    await kv.stop();
  });

  it('reads a value through the challenge flow with a bearer token', async () => {
    const p = provider();
    assert.equal(await p.get('db-password'), 'pa55-w0rd-value');
    assert.deepEqual(kv.requests.map(wire), ['GET /secrets/db-password/ auth=none -> 401', 'GET /secrets/db-password/ auth=token -> 200']);
    for (const r of kv.requests) assert.match(r.query['api-version'] ?? '', /^\d/);
    assert.deepEqual(kv.tokenRequests, [{ scopes: ['https://vault.azure.net/.default'], tenantId: kv.tenantId, enableCae: true }]);

    // Later requests send the token straight away: no second challenge, no second token.
    assert.equal(await p.get('api-key'), 'first-api-key-value');
    assert.deepEqual(kv.requests.slice(2).map(wire), ['GET /secrets/api-key/ auth=token -> 200']);
    assert.equal(kv.tokenRequests.length, 1);
  });

  it('reports a missing secret as SECRET_NOT_FOUND naming it, with no value, token or vault URL in the message', async () => {
    const error = await rejectsWith(provider().get('missing-one'), 'SECRET_NOT_FOUND', "'missing-one'");
    whereOnlyInCause(error, kv.vaultUrl);
    assertNotIn(error.message, kv.token, ...kv.values());
    assert.deepEqual(kv.requests.map(wire).at(-1), 'GET /secrets/missing-one/ auth=token -> 404');
  });

  it("answers a name with '_' (which Key Vault forbids) with the provider's clear INVALID_REQUEST", async () => {
    const error = await rejectsWith(provider().get('db_password'), 'INVALID_REQUEST', "'db_password'", "letters, digits and '-'");
    assertNotIn(error.message, kv.token, ...kv.values());
    // The vault itself refused it, as the service does.
    assert.deepEqual(kv.requests.map(wire).at(-1), 'GET /secrets/db_password/ auth=token -> 400');
  });

  it('refuses malformed names before any request', async () => {
    const p = provider();
    for (const [name] of INVALID_NAMES) await rejectsWith(p.get(name), 'INVALID_REQUEST', /secret name/);
    assert.deepEqual(kv.requests, []);
  });

  it('serves a cached value within the TTL without asking the vault again', async () => {
    kv.setSecret('cached', 'value-1');
    const p = provider({ cacheTtlMs: 60_000 });
    assert.equal(await p.get('cached'), 'value-1');
    kv.setSecret('cached', 'value-2');
    assert.equal(await p.get('cached'), 'value-1');
    assert.equal(await p.get('cached'), 'value-1');
    assert.deepEqual(kv.requests.map(wire), ['GET /secrets/cached/ auth=none -> 401', 'GET /secrets/cached/ auth=token -> 200']);
  });

  it('fetches again once the TTL has passed', async () => {
    kv.setSecret('short-lived', 'old-value');
    const p = provider({ cacheTtlMs: 40 });
    assert.equal(await p.get('short-lived'), 'old-value');
    kv.setSecret('short-lived', 'new-value');
    await sleep(80);
    assert.equal(await p.get('short-lived'), 'new-value');
    assert.equal(kv.requests.filter((r) => r.path === '/secrets/short-lived/' && r.status === 200).length, 2);
  });

  it('bounds the cache: the least recently used names go first, so requests naming many secrets cannot grow it', async () => {
    for (let i = 1; i <= 5; i++) kv.setSecret(`lru-${i}`, `value-${i}`);
    const p = provider({ cacheTtlMs: 60_000, cacheMaxEntries: 3 });
    for (let i = 1; i <= 5; i++) assert.equal(await p.get(`lru-${i}`), `value-${i}`);
    assert.equal(p.cachedEntries, 3);
    const asked = (name: string) => kv.requests.filter((r) => r.path === `/secrets/${name}/` && r.status === 200).length;
    await p.get('lru-5');
    assert.equal(asked('lru-5'), 1, 'a recent name is served from the cache');
    await p.get('lru-1');
    assert.equal(asked('lru-1'), 2, 'an evicted name is read from the vault again');
    assert.equal(p.cachedEntries, 3);
  });

  it('remembers "no such secret" only for the TTL, and within the same bound', async () => {
    const p = provider({ cacheTtlMs: 40, cacheMaxEntries: 2 });
    const misses = () => kv.requests.filter((r) => r.path === '/secrets/never-there/' && r.status === 404).length;
    await rejectsWith(p.get('never-there'), 'SECRET_NOT_FOUND', "'never-there'");
    await rejectsWith(p.get('never-there'), 'SECRET_NOT_FOUND', "'never-there'");
    assert.equal(misses(), 1, 'a burst asks once');
    await sleep(80);
    await rejectsWith(p.get('never-there'), 'SECRET_NOT_FOUND');
    assert.equal(misses(), 2, 'asked again after the TTL: a secret created since is found');
    kv.setSecret('never-there', 'now-here');
    await sleep(80);
    assert.equal(await p.get('never-there'), 'now-here');
    for (const name of ['gone-1', 'gone-2', 'gone-3']) await rejectsWith(p.get(name), 'SECRET_NOT_FOUND');
    assert.equal(p.cachedEntries, 2);
  });

  it('retries a 503 with the production retry settings', async () => {
    // Production's own retry options (clientOptions without retryOptions).
    const { retryOptions: _ignored, ...noRetryOverride } = kv.clientOptions;
    const p = new KeyVaultSecretProvider(kv.vaultUrl, kv.credential, { clientOptions: noRetryOverride });
    assert.equal(await p.get('db-password'), 'pa55-w0rd-value'); // authenticate first
    kv.clearLog();
    kv.setSecret('flaky', 'eventually');
    kv.failNext(503, 1);
    assert.equal(await p.get('flaky'), 'eventually');
    assert.deepEqual(kv.requests.map(wire), ['GET /secrets/flaky/ auth=token -> 503', 'GET /secrets/flaky/ auth=token -> 200']);
  });

  it('reports a token the vault rejects as SECRET_STORE_FAILED without the token', async () => {
    const wrong = 'not-the-vault-token-0123456789';
    const bad: TokenCredential = { getToken: async (): Promise<AccessToken> => ({ token: wrong, expiresOnTimestamp: Date.now() + 3_600_000 }) };
    const error = await rejectsWith(provider({}, bad).get('db-password'), 'SECRET_STORE_FAILED', "'db-password'", 'HTTP 401');
    whereOnlyInCause(error, kv.vaultUrl);
    assertNotIn(error.message, wrong, kv.token, ...kv.values());
    assert.ok(kv.requests.every((r) => r.status === 401));
  });

  it('reports a disabled secret as a failure naming it, without its value', async () => {
    kv.setSecret('disabled-one', 'disabled-value', { enabled: false });
    const error = await rejectsWith(provider().get('disabled-one'), 'SECRET_STORE_FAILED', "'disabled-one'", 'HTTP 403 SecretDisabled');
    assertNotIn(error.message, 'disabled-value', kv.token);
  });

  it('really verifies TLS: without the test CA the client refuses the double', async () => {
    const { tlsOptions: _ca, ...withoutCa } = kv.clientOptions;
    const p = new KeyVaultSecretProvider(kv.vaultUrl, kv.credential, { clientOptions: withoutCa });
    const error = await rejectsWith(p.check('db-password'), 'SECRET_STORE_FAILED');
    whereOnlyInCause(error, kv.vaultUrl);
    assert.match(error.message, /UNABLE_TO_VERIFY|SELF_SIGNED|CERT/);
    assert.deepEqual(kv.requests, []);
  });

  it('needs disableChallengeResourceVerification on loopback: otherwise the client refuses the challenge', async () => {
    const p = new KeyVaultSecretProvider(kv.vaultUrl, kv.credential, { clientOptions: { ...kv.clientOptions, disableChallengeResourceVerification: false } });
    const error = await rejectsWith(p.check('db-password'), 'SECRET_STORE_FAILED');
    whereOnlyInCause(error, kv.vaultUrl);
    assert.match(causeText(error), /challenge resource 'vault\.azure\.net' does not match/);
    assert.deepEqual(kv.requests.map(wire), ['GET /secrets/db-password/ auth=none -> 401']);
    assert.deepEqual(kv.tokenRequests, []);
  });

  it('the double fails loudly on anything it does not speak, and records it', async () => {
    const res = await fetchRaw(kv, 'POST', `/secrets/db-password?api-version=2025-07-01`);
    assert.equal(res.status, 405);
    assert.match(res.body, /does not understand POST/);
    const unknown = await fetchRaw(kv, 'GET', `/keys/some-key/?api-version=2025-07-01`);
    assert.equal(unknown.status, 400);
    const noVersion = await fetchRaw(kv, 'GET', `/secrets/db-password/`);
    assert.equal(noVersion.status, 400);
    assert.equal(kv.unexpected.length, 3);
    kv.clearLog();
  });

  it('check(name) gets that one secret now, past the cache (no List needed), and refreshes the cache', async () => {
    const p = provider({ cacheTtlMs: 60_000 });
    kv.setSecret('own-key', 'own-key-1');
    assert.equal(await p.get('own-key'), 'own-key-1');
    kv.setSecret('own-key', 'own-key-2');
    await p.check('own-key');
    await p.check('own-key');
    assert.deepEqual(kv.requests.map(wire), [
      'GET /secrets/own-key/ auth=none -> 401',
      'GET /secrets/own-key/ auth=token -> 200',
      'GET /secrets/own-key/ auth=token -> 200',
      'GET /secrets/own-key/ auth=token -> 200',
    ]);
    assert.equal(await p.get('own-key'), 'own-key-2', 'the value read by the check is served');
    assert.equal(kv.requests.length, 4);
    assert.ok(kv.requests.every((r) => r.path !== '/secrets'), 'no list request');
    const absent = await rejectsWith(p.check('not-in-vault'), 'SECRET_STORE_FAILED', "'not-in-vault'", 'HTTP 404');
    assertNotIn(absent.message, kv.token, ...kv.values());
  });

  it('enforces access policies per identity: Get alone reads and passes readiness, and never needs List', async () => {
    const getOnly = 'get-only-client-id';
    kv.setAccessPolicy(getOnly, ['get']);
    const p = provider({}, kv.credentialFor(getOnly));
    await p.check('db-password');
    assert.equal(await p.get('api-key'), 'first-api-key-value');
    assert.ok(kv.requests.filter((r) => r.validToken).every((r) => r.identity === getOnly && r.status === 200));
    // The same identity may not list: the double enforces the policy, so a check that listed would fail.
    const list = await fetchRaw(kv, 'GET', '/secrets?api-version=2025-07-01&maxresults=1', kv.issueToken(getOnly));
    assert.equal(list.status, 403);
    assert.equal(JSON.parse(list.body).error.innererror.code, 'AccessDenied');
  });

  it('refuses an identity without Get as Key Vault does (403 Forbidden, AccessDenied), whether or not the secret exists, and says what is missing', async () => {
    const listOnly = 'list-only-client-id';
    kv.setAccessPolicy(listOnly, ['list']);
    for (const name of ['db-password', 'no-such-one']) {
      const res = await fetchRaw(kv, 'GET', `/secrets/${name}/?api-version=2025-07-01`, kv.issueToken(listOnly));
      assert.equal(res.status, 403);
      const body = JSON.parse(res.body);
      assert.deepEqual(Object.keys(body.error).sort(), ['code', 'innererror', 'message']);
      assert.equal(body.error.code, 'Forbidden');
      assert.deepEqual(body.error.innererror, { code: 'AccessDenied' });
      assert.match(body.error.message, /^The user, group or application 'appid=list-only-client-id;oid=[0-9a-f-]{36};iss=https:\/\/sts\.windows\.net\/[0-9a-f-]+\/' does not have secrets get permission on key vault '[a-z0-9-]+;location=[a-z]+'\. /);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      for (const header of ['x-ms-request-id', 'x-ms-keyvault-service-version', 'x-ms-keyvault-region', 'x-ms-keyvault-network-info']) assert.ok(res.headers[header], header);
      assert.equal(res.headers['cache-control'], 'no-cache');
      assert.ok(!res.body.includes('pa55-w0rd-value'));
    }
    const p = provider({}, kv.credentialFor(listOnly));
    for (const attempt of [p.check('db-password'), p.get('db-password')]) {
      const error = await rejectsWith(attempt, 'SECRET_STORE_FAILED', "'db-password'", 'HTTP 403 AccessDenied', 'Get permission on secrets', 'Key Vault Secrets User');
      whereOnlyInCause(error, kv.vaultUrl);
      assertNotIn(error.message, listOnly, 'pa55-w0rd-value', kv.token);
    }
    // No policy at all reads the same.
    kv.setAccessPolicy(listOnly, []);
    await rejectsWith(provider({}, kv.credentialFor(listOnly)).check('db-password'), 'SECRET_STORE_FAILED', 'HTTP 403 AccessDenied');
  });

  it('check() fails with SECRET_STORE_FAILED naming the vault, without the token, when the vault is down', async () => {
    const down = await startKeyVaultDouble();
    try {
      down.setSecret('db-password', 'down-vault-value');
      const p = new KeyVaultSecretProvider(down.vaultUrl, down.credential, { clientOptions: down.clientOptions });
      await p.check('db-password'); // authenticated: the client now holds a token
      assert.equal(await p.get('db-password'), 'down-vault-value');
      assert.equal(down.tokenRequests.length, 1);
      await down.stop();
      const error = await rejectsWith(p.check('db-password'), 'SECRET_STORE_FAILED', "'db-password'", 'could not be read');
      whereOnlyInCause(error, down.vaultUrl);
      assertNotIn(error.message, down.token, 'down-vault-value');
      assert.equal(error.transient, true);
      // A read of an uncached secret fails the same way.
      const read = await rejectsWith(p.get('other-secret'), 'SECRET_STORE_FAILED', "'other-secret'");
      whereOnlyInCause(read, down.vaultUrl);
      assertNotIn(read.message, down.token, 'down-vault-value');
      // A value cached before the outage is still served within its TTL.
      assert.equal(await p.get('db-password'), 'down-vault-value');
      assert.deepEqual(down.unexpected, []);
    } finally {
      await down.stop();
    }
  });
});

describe('secretProviderFromEnv', () => {
  it('chooses secret files by default, in ./secrets unless SECRETS_MNT_PATH says otherwise', async () => {
    const byDefault = await secretProviderFromEnv({});
    assert.ok(byDefault instanceof FileSecretProvider);
    assert.equal(byDefault.description, `secret files in ${path.resolve('./secrets')}`);

    const mounted = await secretProviderFromEnv({ SECRETS_MNT_PATH: '/mnt/secrets-store', SECRETS_PROVIDER: 'files' });
    assert.ok(mounted instanceof FileSecretProvider);
    assert.equal(mounted.description, 'secret files in /mnt/secrets-store');
  });

  it('chooses Azure Key Vault when SECRETS_PROVIDER=azure-keyvault', async () => {
    const p = await secretProviderFromEnv({ SECRETS_PROVIDER: 'azure-keyvault', AZURE_KEYVAULT_URL: 'https://cr8tor-test.vault.azure.net' });
    assert.ok(p instanceof KeyVaultSecretProvider);
    assert.match(p.description, /cr8tor-test\.vault\.azure\.net/);
  });

  it('names AZURE_KEYVAULT_URL when it is missing or not a URL', async () => {
    for (const env of [{ SECRETS_PROVIDER: 'azure-keyvault' }, { SECRETS_PROVIDER: 'azure-keyvault', AZURE_KEYVAULT_URL: '  ' }, { SECRETS_PROVIDER: 'azure-keyvault', AZURE_KEYVAULT_URL: 'not a url' }]) {
      await assert.rejects(secretProviderFromEnv(env), (error: unknown) => error instanceof ConfigError && error.message.includes('AZURE_KEYVAULT_URL'));
    }
  });

  it('with workload identity (AZURE_FEDERATED_TOKEN_FILE) names AZURE_CLIENT_ID or AZURE_TENANT_ID when missing, and AZURE_AUTHORITY_HOST when not a URL', async () => {
    const base = { SECRETS_PROVIDER: 'azure-keyvault', AZURE_KEYVAULT_URL: 'https://cr8tor-test.vault.azure.net', AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token' };
    const ids = { AZURE_CLIENT_ID: '11111111-2222-4333-8444-555555555555', AZURE_TENANT_ID: '72f988bf-0000-4000-8000-00000000c8a7' };
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{ ...base, AZURE_TENANT_ID: ids.AZURE_TENANT_ID }, /AZURE_CLIENT_ID: is required with workload identity/],
      [{ ...base, AZURE_CLIENT_ID: ids.AZURE_CLIENT_ID, AZURE_TENANT_ID: ' ' }, /AZURE_TENANT_ID: is required with workload identity/],
      [{ ...base, ...ids, AZURE_AUTHORITY_HOST: 'login.microsoftonline.com' }, /AZURE_AUTHORITY_HOST/],
    ];
    for (const [env, pattern] of cases) {
      await assert.rejects(secretProviderFromEnv(env), (error: unknown) => error instanceof ConfigError && pattern.test(error.message));
    }
    assert.ok((await secretProviderFromEnv({ ...base, ...ids, AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.com/' })) instanceof KeyVaultSecretProvider);
  });

  it('names SECRETS_PROVIDER when it is not a known store', async () => {
    await assert.rejects(secretProviderFromEnv({ SECRETS_PROVIDER: 'vault' }), (error: unknown) => error instanceof ConfigError && /SECRETS_PROVIDER/.test(error.message));
  });
});
