/**
 * Graceful shutdown of the publish service as a real process: on SIGTERM it
 * stops accepting calls and lets a running package finish within the grace
 * period; a package still running when its jobs' grace (JOBS_SHUTDOWN_GRACE_MS)
 * is over is stopped, cleaned up and answered 503 JOB_INTERRUPTED; when the
 * process's grace period is too short, it exits anyway and the package cut
 * short leaves nothing that looks finished in staging. A call that reaches
 * the service while it closes (pipelined behind the running one) answers 503
 * with the contract's envelope.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createPgDatabase, pgSettings, type TestPgDatabase } from '../support/databases.js';
import { freePort, spawnService, waitForHealthy, type ServiceProcess } from '../support/processes.js';
import { dataset, publishRequest, sqlSource, transferRequest } from '../support/requests.js';

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

async function start(graceMs: number, jobsGraceMs = graceMs - 5_000): Promise<{ p: ServiceProcess; url: string }> {
  const port = await freePort();
  const p = spawnService('publish', {
    PUBLISH_CONTAINER_PORT: String(port),
    SECRETS_MNT_PATH: secrets,
    TARGET_STORAGE_ACCOUNT_LSC_SDE_MNT_PATH: mount,
    SHUTDOWN_GRACE_MS: String(graceMs),
    JOBS_SHUTDOWN_GRACE_MS: String(Math.max(0, jobsGraceMs)),
    AUDIT_LOG_PATH: path.join(root, 'audit.jsonl'),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHealthy(p, `${url}/healthz`);
  return { p, url };
}

function packageBody(startTime: string) {
  return { ...transferRequest(sqlSource('postgresql', db.database), dataset('public', ['big']), { project_start_time: startTime }), destination: { name: 'LSC', type: 'filestore', format: 'csv' } };
}

function packageCall(url: string, startTime: string): Promise<{ status: number; body: any }> {
  const body = packageBody(startTime);
  return fetch(`${url}/data-publish/package`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': KEY }, body: JSON.stringify(body) }).then(
    async (res) => ({ status: res.status, body: await res.json() }),
    (error: unknown) => ({ status: 0, body: { error: String(error) } }),
  );
}

/** A POST as raw HTTP/1.1 bytes, for writing onto a socket. */
function rawPost(route: string, body: unknown): string {
  const json = JSON.stringify(body);
  return `POST ${route} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nx-api-key: ${KEY}\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`;
}

/** The HTTP/1.1 responses in `bytes`, in order (each with a Content-Length body). */
function parseResponses(bytes: Buffer): Array<{ status: number; headers: Record<string, string>; body: string }> {
  const out: Array<{ status: number; headers: Record<string, string>; body: string }> = [];
  let at = 0;
  while (at < bytes.length) {
    const end = bytes.indexOf('\r\n\r\n', at);
    assert.ok(end > at, `a whole response head at byte ${at}: ${JSON.stringify(bytes.subarray(at).toString('latin1').slice(0, 200))}`);
    const [statusLine, ...lines] = bytes.subarray(at, end).toString('latin1').split('\r\n');
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const length = Number(headers['content-length']);
    assert.ok(Number.isInteger(length), `a Content-Length in ${statusLine}`);
    out.push({ status: Number(statusLine!.split(' ')[1]), headers, body: bytes.subarray(end + 4, end + 4 + length).toString('utf8') });
    at = end + 4 + length;
  }
  return out;
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

  test('a package still running when the jobs\' grace is over is stopped: 503 JOB_INTERRUPTED, staging clean, the process exits 0', async () => {
    const { p, url } = await start(60_000, 100);
    const running = packageCall(url, '20250404_000000');
    await extractionRunning();
    p.child.kill('SIGTERM');
    const res = await running;
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.equal(res.body.status, 'error');
    const detail: string = res.body.payload.detail;
    assert.match(detail, /^The package job [0-9a-f-]{36} did not finish: /);
    assert.ok(detail.endsWith(`: the publish replica ${os.hostname()} stopped. Nothing of it was published; send the call again.`), detail);
    assert.equal(await p.exited, 0);
    const project = path.join(mount, 'staging', 'Pr004');
    const left = existsSync(project) ? (await readdir(project)).filter((e) => e.includes('20250404_000000')) : [];
    assert.deepEqual(left, [], 'no package folder, no hidden work folder');
    const locks = existsSync(path.join(mount, 'staging', '.locks')) ? await readdir(path.join(mount, 'staging', '.locks')) : [];
    assert.deepEqual(locks, [], 'no lock left');
  });

  test('a package cut short by the grace period leaves nothing that looks finished', async () => {
    // The process's grace ends before the jobs' does: it exits with the package still running.
    const { p, url } = await start(100, 60_000);
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

  test('a call arriving while the service shuts down answers 503 with the contract envelope; the running call still answers', async () => {
    const { p, url } = await start(60_000);
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(rawPost('/data-publish/package', packageBody('20250403_000000')));
    await extractionRunning();
    p.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    // Pipelined behind the running package, on the connection it holds open: it reaches the closing service.
    socket.write(rawPost('/data-publish/publish', { ...publishRequest({ project_start_time: '20250403_000000' }), destination: { name: 'LSC', type: 'filestore', format: 'csv' } }));
    await closed;
    const [packaged, refused, ...more] = parseResponses(Buffer.concat(received));
    assert.equal(packaged?.status, 200, packaged?.body);
    assert.equal(JSON.parse(packaged!.body).status, 'success');
    assert.equal(refused?.status, 503, 'the call sent during the shutdown is answered, not dropped');
    assert.match(refused!.headers['content-type'] ?? '', /^application\/json/);
    assert.equal(refused!.headers.connection, 'close');
    assert.deepEqual(JSON.parse(refused!.body), {
      status: 'error',
      payload: { detail: 'The publish service is shutting down; send the call again (to another instance, or once it has restarted).' },
    });
    assert.deepEqual(more, []);
    assert.equal(await p.exited, 0);
    assert.ok(!existsSync(path.join(mount, 'production', 'Pr004', '20250403_000000')), 'the refused publish did nothing');
  });
});
