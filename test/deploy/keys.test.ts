/**
 * `npm run keys` and `npm start` as a user meets them: without key files
 * `npm start` says what is missing and how to create it, and exits; `npm run
 * keys` writes three fresh random keys (0600) that the services then start
 * with, and never overwrites keys without --force.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { apiKeySecretNames } from '../../lib/auth/api-key.js';
import { fromRoot } from '../../lib/paths.js';
import { tempFolder } from '../support/filestore-fs.js';
import { freePort, runToEnd, spawnCollecting, stopService } from '../support/processes.js';

const KEY_NAMES = Object.values(apiKeySecretNames);

/** Nothing but what any shell has, and the secrets folder. */
const bareEnv = (secrets: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, SECRETS_MNT_PATH: secrets, ...extra });

function runScript(script: string, args: readonly string[], env: NodeJS.ProcessEnv) {
  return runToEnd(process.execPath, ['--import', 'tsx', fromRoot(script), ...args], env, 60_000);
}

const readKeys = (dir: string) => Promise.all(KEY_NAMES.map((name) => readFile(path.join(dir, name), 'utf8')));

describe('npm start without key files', () => {
  test('says which keys are missing and to run `npm run keys`, exits non-zero, no stack trace, starts nothing', { timeout: 90_000 }, async () => {
    const { dir, cleanup } = await tempFolder('cr8tor-nokeys-');
    try {
      const run = await runScript('scripts/start-all.ts', [], bareEnv(dir));
      assert.notEqual(run.code, 0);
      for (const name of KEY_NAMES) assert.ok(run.stderr.includes(name), `names ${name}: ${run.stderr}`);
      assert.match(run.stderr, /npm run keys/);
      assert.ok(run.stderr.includes(dir), 'names the folder it looked in');
      assert.doesNotMatch(run.stderr, /^\s+at /m, 'no stack trace');
      assert.equal(run.stdout, '', 'no service started (they would log to stdout)');
    } finally {
      await cleanup();
    }
  });

  test('a bad secret store setting is one line naming it', { timeout: 90_000 }, async () => {
    const run = await runScript('scripts/start-all.ts', [], bareEnv('./secrets', { SECRETS_PROVIDER: 'vault' }));
    assert.notEqual(run.code, 0);
    assert.equal(run.stderr.trim(), 'npm start: Invalid setting SECRETS_PROVIDER: must be one of files, azure-keyvault (got "vault").');
  });
});

describe('npm run keys', () => {
  test('writes three fresh 32-byte base64url keys, 0600, in a 0700 folder it creates; refuses to overwrite; --force replaces', { timeout: 120_000 }, async () => {
    const { dir: parent, cleanup } = await tempFolder('cr8tor-keys-');
    const dir = path.join(parent, 'secrets');
    try {
      const first = await runScript('scripts/keys.ts', [], bareEnv(dir));
      assert.equal(first.code, 0, first.stderr);
      assert.equal(((await stat(dir)).mode & 0o777).toString(8), '700');
      const keys = await readKeys(dir);
      for (const [i, key] of keys.entries()) {
        assert.equal(((await stat(path.join(dir, KEY_NAMES[i]!))).mode & 0o777).toString(8), '600', `${KEY_NAMES[i]} is 0600`);
        assert.match(key, /^[A-Za-z0-9_-]+$/, 'base64url, no newline');
        assert.equal(Buffer.from(key, 'base64url').length, 32);
        assert.ok(!first.stdout.includes(key) && !first.stderr.includes(key), 'the key is never printed');
      }
      assert.equal(new Set(keys).size, 3, 'three different keys');

      const again = await runScript('scripts/keys.ts', [], bareEnv(dir));
      assert.notEqual(again.code, 0);
      assert.match(again.stderr, /already holds .*nothing was written.*--force/);
      assert.doesNotMatch(again.stderr, /^\s+at /m);
      assert.deepEqual(await readKeys(dir), keys, 'the keys are unchanged');

      const forced = await runScript('scripts/keys.ts', ['--force'], bareEnv(dir));
      assert.equal(forced.code, 0, forced.stderr);
      const replaced = await readKeys(dir);
      for (const [i, key] of replaced.entries()) assert.notEqual(key, keys[i], `${KEY_NAMES[i]} is new`);
    } finally {
      await cleanup();
    }
  });

  test('one existing key is enough to refuse: nothing else is written', { timeout: 60_000 }, async () => {
    const { dir, cleanup } = await tempFolder('cr8tor-keys-');
    try {
      await writeFile(path.join(dir, apiKeySecretNames.metadata), 'kept');
      const run = await runScript('scripts/keys.ts', [], bareEnv(dir));
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, new RegExp(apiKeySecretNames.metadata));
      await assert.rejects(stat(path.join(dir, apiKeySecretNames.approval)), { code: 'ENOENT' });
      assert.equal(await readFile(path.join(dir, apiKeySecretNames.metadata), 'utf8'), 'kept');
    } finally {
      await cleanup();
    }
  });

  test('npm start then runs all three services with those keys (the gateway is ready)', { timeout: 180_000 }, async () => {
    const { dir, cleanup } = await tempFolder('cr8tor-keys-');
    try {
      assert.equal((await runScript('scripts/keys.ts', [], bareEnv(dir))).code, 0);
      const [approval, metadata, publish] = [await freePort(), await freePort(), await freePort()];
      const env = bareEnv(dir, { APPROVAL_PORT: String(approval), METADATA_CONTAINER_PORT: String(metadata), PUBLISH_CONTAINER_PORT: String(publish), BIND_HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
      const p = spawnCollecting(process.execPath, ['--import', 'tsx', fromRoot('scripts/start-all.ts')], env);
      let ended = false;
      void p.exited.then(() => (ended = true));
      try {
        for (;;) {
          assert.ok(!ended, `npm start ended: ${p.stderr()}`);
          const status = await fetch(`http://127.0.0.1:${approval}/readyz`).then((r) => r.status, () => 0);
          if (status === 200) break;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        const key = await readFile(path.join(dir, apiKeySecretNames.approval), 'utf8');
        const answer = await fetch(`http://127.0.0.1:${approval}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': key },
          body: JSON.stringify({ query: '{ __typename }' }),
        });
        assert.equal(answer.status, 200, 'the generated approval key is accepted');
      } finally {
        await stopService(p);
      }
    } finally {
      await cleanup();
    }
  });
});
