/**
 * Graceful shutdown of the publish service as a real process: on SIGTERM it
 * stops accepting calls and lets a running package finish within the grace
 * period; when the grace period is too short, it exits anyway and the package
 * cut short leaves nothing that looks finished in staging.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createPgDatabase, pgSettings, type TestPgDatabase } from './support/databases.js';
import { freePort, spawnService, waitForHealthy, type ServiceProcess } from './support/processes.js';
import { dataset, sqlSource, transferRequest } from './support/requests.js';

const KEY = 'publish-shutdown-key';
let db: TestPgDatabase;
let root: string;
let secrets: string;
let mount: string;

before(async () => {
  db = await createPgDatabase('shut');
  await db.client.query(`CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 8) AS payload FROM generate_series(1, 400000) AS g`);
  root = await mkdtemp(path.join(os.tmpdir(), 'cr8tor-shutdown-'));
  secrets = path.join(root, 'secrets');
  mount = path.join(root, 'lsc');
  await mkdir(secrets);
  await mkdir(path.join(mount, 'staging'), { recursive: true });
  await mkdir(path.join(mount, 'production'), { recursive: true });
  await writeFile(path.join(secrets, 'publishserviceapikey'), KEY);
  await writeFile(path.join(secrets, 'postgresql-user'), pgSettings.user);
  await writeFile(path.join(secrets, 'postgresql-password'), pgSettings.password);
});

after(async () => {
  await db?.drop();
  await rm(root, { recursive: true, force: true });
});

async function start(graceMs: number): Promise<{ p: ServiceProcess; url: string }> {
  const port = await freePort();
  const p = spawnService('publish', {
    PUBLISH_CONTAINER_PORT: String(port),
    SECRETS_MNT_PATH: secrets,
    TARGET_STORAGE_ACCOUNT_LSC_SDE_MNT_PATH: mount,
    SHUTDOWN_GRACE_MS: String(graceMs),
    AUDIT_LOG_PATH: path.join(root, 'audit.jsonl'),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHealthy(p, `${url}/healthz`);
  return { p, url };
}

function packageCall(url: string, startTime: string): Promise<{ status: number; body: any }> {
  const body = { ...transferRequest(sqlSource('postgresql', db.database), dataset('public', ['big']), { project_start_time: startTime }), destination: { name: 'LSC', type: 'filestore', format: 'csv' } };
  return fetch(`${url}/data-publish/package`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': KEY }, body: JSON.stringify(body) }).then(
    async (res) => ({ status: res.status, body: await res.json() }),
    (error: unknown) => ({ status: 0, body: { error: String(error) } }),
  );
}

/** Waits until the package's COPY runs on the source. */
async function extractionRunning(): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    const { rows } = await db.client.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query ILIKE 'COPY%' AND state = 'active'`, [db.database]);
    if (rows.length > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the extraction never started');
}

describe('SIGTERM', () => {
  test('a running package finishes within the grace period; new calls are refused; the process exits 0', async () => {
    const { p, url } = await start(60_000);
    const running = packageCall(url, '20250401_000000');
    await extractionRunning();
    p.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    const late = await fetch(`${url}/healthz`).then(
      (res) => res.status,
      () => 0,
    );
    assert.ok(late === 0 || late === 503, `a call during shutdown is refused (got ${late})`);
    const res = await running;
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(await p.exited, 0);
    const files = res.body.payload.data_retrieved.map((f: { file_path: string }) => f.file_path);
    assert.ok(files.length > 0 && files.every((f: string) => /^data\/outputs\/big(\.part\d+)?\.csv$/.test(f)), files.join(', '));
    for (const f of files) assert.ok(existsSync(path.join(mount, 'staging', 'Pr004', '20250401_000000', f)), `${f} is staged`);
  });

  test('a package cut short by the grace period leaves nothing that looks finished', async () => {
    const { p, url } = await start(100);
    const running = packageCall(url, '20250402_000000');
    await extractionRunning();
    p.child.kill('SIGTERM');
    const code = await p.exited;
    assert.notEqual(code, 0, 'the process gave up on the running call');
    const res = await running;
    assert.notEqual(res.status, 200);
    const staged = existsSync(path.join(mount, 'staging', 'Pr004')) ? await readdir(path.join(mount, 'staging', 'Pr004')) : [];
    assert.ok(!staged.includes('20250402_000000'), `no finished-looking package folder (found ${staged.join(', ')})`);
  });
});
