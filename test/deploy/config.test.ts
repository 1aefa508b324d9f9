/**
 * Start-up configuration: each service is started as its own process with
 * settings from the environment. A bad setting or a missing key stops it with
 * a non-zero exit and exactly one stderr line naming the setting or secret; a
 * good configuration serves /healthz.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { keys } from '../support/platform.js';
import { freePort, runToExit, spawnService, stopService, waitForHealthy, type ServiceProcessName } from '../support/processes.js';

/** A process test may legitimately take a few seconds (tsx compiles on start); this only stops a hung one. */
const GUARD = { timeout: 60_000 };

const KEY_FILES = { approval: 'approvalserviceapikey', metadata: 'metadataserviceapikey', publish: 'publishserviceapikey' } as const;

let root: string;
/** A secrets folder holding every service's key. */
let allKeys: string;

async function secretsFolder(name: string, files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(root, `${name}-`));
  for (const [file, value] of Object.entries(files)) await writeFile(path.join(dir, file), value);
  return dir;
}

/** Asserts the process refused to start with one stderr line matching every pattern. */
function assertRefused(result: { code: number | null; stderr: string }, ...patterns: RegExp[]): void {
  assert.notEqual(result.code, 0, 'the process exited 0');
  assert.notEqual(result.code, null, 'the process was killed rather than exiting');
  const lines = result.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `expected one stderr line, got:\n${result.stderr}`);
  for (const pattern of patterns) assert.match(lines[0]!, pattern);
}

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cr8tor-config-'));
  allKeys = await secretsFolder('all', {
    [KEY_FILES.approval]: keys.approval,
    [KEY_FILES.metadata]: keys.metadata,
    [KEY_FILES.publish]: keys.publish,
  });
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('a bad setting stops the service with one line naming it', { concurrency: true }, () => {
  /** A bad value of a setting, and what else the line must say. */
  const badSettings: Array<[ServiceProcessName, string, string, RegExp?]> = [
    ['metadata', 'METADATA_CONTAINER_PORT', 'abc', /port/],
    ['publish', 'PUBLISH_CONTAINER_PORT', '70000', /port/],
    ['approval', 'APPROVAL_PORT', '-1', /port/],
    ['approval', 'METADATA_CONTAINER_PORT', '80x', /port/],
    ['approval', 'HTTP_HEADERS_TIMEOUT_MS', 'soon'],
    ['metadata', 'HTTP_BODY_TIMEOUT_MS', '0'],
    ['publish', 'HTTP_KEEP_ALIVE_TIMEOUT_MS', '-5'],
    ['approval', 'HTTP_MAX_CONNECTIONS', '1.5'],
    ['publish', 'LOG_LEVEL', 'loud', /fatal, error, warn, info, debug, trace, silent/],
  ];
  for (const [service, variable, value, also] of badSettings) {
    test(`${service}: ${variable}=${value}`, GUARD, async () => {
      const result = await runToExit(service, { SECRETS_MNT_PATH: allKeys, [variable]: value });
      assertRefused(result, new RegExp(variable), new RegExp(value.replace('.', '\\.')), ...(also ? [also] : []));
    });
  }

  test('SECRETS_PROVIDER=bogus names the setting and the known providers', GUARD, async () => {
    const result = await runToExit('metadata', { SECRETS_MNT_PATH: allKeys, SECRETS_PROVIDER: 'bogus' });
    assertRefused(result, /SECRETS_PROVIDER/, /bogus/, /files/, /azure-keyvault/);
  });

  test('SECRETS_PROVIDER=azure-keyvault without AZURE_KEYVAULT_URL names the missing setting', GUARD, async () => {
    const result = await runToExit('publish', { SECRETS_PROVIDER: 'azure-keyvault' });
    assertRefused(result, /AZURE_KEYVAULT_URL/);
  });

  test('a connector setting that is not a number names it', GUARD, async () => {
    const result = await runToExit('metadata', { SECRETS_MNT_PATH: allKeys, SOURCE_CONNECT_TIMEOUT_MS: 'soon' });
    assertRefused(result, /SOURCE_CONNECT_TIMEOUT_MS/, /soon/);
  });
});

describe('a missing API key stops the service with one line naming the secret', { concurrency: true }, () => {
  for (const service of ['metadata', 'publish', 'approval'] as const) {
    test(`${service} without ${KEY_FILES[service]}`, GUARD, async () => {
      const others = Object.fromEntries(Object.entries(KEY_FILES).filter(([s]) => s !== service).map(([s, file]) => [file, keys[s as ServiceProcessName]]));
      const dir = await secretsFolder(`no-${service}`, others);
      const result = await runToExit(service, { SECRETS_MNT_PATH: dir });
      assertRefused(result, new RegExp(KEY_FILES[service]));
    });
  }

  test('the gateway also needs the keys it sends the subgraphs', GUARD, async () => {
    const dir = await secretsFolder('gateway-no-publish', { [KEY_FILES.approval]: keys.approval, [KEY_FILES.metadata]: keys.metadata });
    const result = await runToExit('approval', { SECRETS_MNT_PATH: dir });
    assertRefused(result, /publishserviceapikey/);
  });

  test('an empty key file is refused like a missing one', GUARD, async () => {
    const dir = await secretsFolder('empty-key', { [KEY_FILES.metadata]: '\n' });
    const result = await runToExit('metadata', { SECRETS_MNT_PATH: dir });
    assertRefused(result, /metadataserviceapikey/, /empty/);
  });

  test('a secrets folder that does not exist names the missing key', GUARD, async () => {
    const result = await runToExit('publish', { SECRETS_MNT_PATH: path.join(root, 'nowhere') });
    assertRefused(result, /publishserviceapikey/);
  });
});

describe('a good configuration', () => {
  test('all three services start, serve /healthz without a key, and stop cleanly on SIGTERM', GUARD, async () => {
    const [metadataPort, publishPort, approvalPort] = [await freePort(), await freePort(), await freePort()];
    const mount = path.join(root, 'lsc');
    await mkdir(path.join(mount, 'staging'), { recursive: true });
    await mkdir(path.join(mount, 'production'), { recursive: true });
    const common = { SECRETS_MNT_PATH: allKeys, TARGET_STORAGE_ACCOUNT_LSC_SDE_MNT_PATH: mount };
    const processes = [
      spawnService('metadata', { ...common, METADATA_CONTAINER_PORT: String(metadataPort) }),
      spawnService('publish', { ...common, PUBLISH_CONTAINER_PORT: String(publishPort) }),
      spawnService('approval', {
        ...common,
        APPROVAL_PORT: String(approvalPort),
        METADATA_CONTAINER_NAME: '127.0.0.1',
        METADATA_CONTAINER_PORT: String(metadataPort),
        PUBLISH_CONTAINER_NAME: '127.0.0.1',
        PUBLISH_CONTAINER_PORT: String(publishPort),
      }),
    ];
    try {
      const ports = [metadataPort, publishPort, approvalPort];
      for (const [i, p] of processes.entries()) await waitForHealthy(p, `http://127.0.0.1:${ports[i]}/healthz`);
      for (const [i, name] of (['metadata', 'publish', 'approval'] as const).entries()) {
        const res = await fetch(`http://127.0.0.1:${ports[i]}/healthz`);
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { status: 'ok', service: name });
      }
      // The gateway found both subgraphs through METADATA_/PUBLISH_CONTAINER_NAME and _PORT.
      const ready = await fetch(`http://127.0.0.1:${approvalPort}/readyz`);
      assert.equal(ready.status, 200, await ready.clone().text());
      // Each service holds the key from its own secret.
      const refused = await fetch(`http://127.0.0.1:${metadataPort}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': keys.publish },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      assert.equal(refused.status, 403);
      const accepted = await fetch(`http://127.0.0.1:${metadataPort}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': keys.metadata },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
      assert.equal(accepted.status, 200);
    } finally {
      const codes = await Promise.all(processes.map(stopService));
      assert.deepEqual(codes, [0, 0, 0]);
    }
  });
});
