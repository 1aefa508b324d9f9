/**
 * Concurrent calls for one project folder never interleave. In one publish
 * service, a package or publish runs as a job: the same call again while it
 * runs attaches to it and answers what it answers; any other package or
 * publish of the same project and start time answers 409 at once
 * (PROJECT_BUSY) naming the job. Across processes (replicas with their own
 * in-memory jobs) the destination's lock answers the 409. Calls for other
 * projects run in parallel. The lock is a file on the mount, so it holds across processes
 * (replicas sharing the volume), and a lock left by a killed process is taken over.
 * For the PostgreSQL destination the lock is an advisory lock in the destination
 * database, so it too holds across processes, and a killed process's lock is
 * released by the server when its session ends.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { validateBag } from '../../scripts/support/bag-validate.js';
import { CheckedDir } from '../../subgraphs/publish/src/destinations/filestore/mount/checked-dir.js';
import { lockName, releaseAbandonedLock, withFolderLock, type LockCall } from '../../subgraphs/publish/src/destinations/filestore/mount/folder-lock.js';
import { projectLockKey } from '../../subgraphs/publish/src/destinations/postgresql/project-lock.js';
import { createPgDatabase, dropPgRole, pgSettings, type TestPgDatabase } from '../support/databases.js';
import { pgDestinationEnv, writePgDestinationSecrets } from '../support/pg-destination.js';
import { listTree, sha512Of } from '../support/filestore-fs.js';
import { startOpalDouble, type OpalDouble } from '../support/opal-double.js';
import { keys, startPlatform, type Platform } from '../support/platform.js';
import { freePort, spawnService, stopService, waitForHealthy, type ServiceProcess } from '../support/processes.js';
import { dataset, graphqlInput, sqlSource, transferRequest, writeSourceSecrets } from '../support/requests.js';

/** Rows of the slow table; its COPY runs about SLOW_SECONDS before the first row. */
const SLOW_ROWS = 1000;
const SLOW_SECONDS = 1.5;

let platform: Platform;
let db: TestPgDatabase;

before(async () => {
  db = await createPgDatabase('concur');
  await db.client.query(`CREATE VIEW slow AS SELECT g AS id, 'row ' || g AS label FROM pg_sleep(${SLOW_SECONDS}) AS s, generate_series(1, ${SLOW_ROWS}) AS g`);
  await db.client.query('CREATE TABLE fast AS SELECT g AS id FROM generate_series(1, 10) AS g');
  platform = await startPlatform();
  await writeSourceSecrets(platform, 'postgresql');
});

after(async () => {
  await platform?.close();
  await db?.drop();
});

/** A CSV package request of `tables` for a project start time. */
function packageBody(startTime: string, tables: string[], projectName = 'Pr004') {
  return { ...transferRequest(sqlSource('postgresql', db.database), dataset('public', tables), { project_name: projectName, project_start_time: startTime }), destination: { name: 'LSC', type: 'filestore', format: 'csv' } };
}

function publishBody(startTime: string, projectName = 'Pr004') {
  return { project_name: projectName, project_start_time: startTime, destination: { name: 'LSC', type: 'filestore', format: 'csv' } };
}

async function activeCopies(): Promise<number> {
  const { rows } = await db.client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend' AND state = 'active' AND query ILIKE 'COPY%'`, [db.database]);
  return rows[0].n as number;
}

/** Polls until `n` COPY statements run at once on the source; answers the most seen. */
async function waitForCopies(n: number, timeoutMs = 10_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  let most = 0;
  while (Date.now() < end) {
    most = Math.max(most, await activeCopies());
    if (most >= n) return most;
    await new Promise((r) => setTimeout(r, 10));
  }
  return most;
}

/** The project folder in staging, and what is beside it (hidden work folders), and the lock folder. */
async function stagingState(mount: string, startTime: string, project = 'Pr004') {
  const projectDir = path.join(mount, 'staging', project);
  return {
    files: await listTree(path.join(projectDir, startTime)),
    hidden: (await listTree(projectDir)).filter((p) => /^\.[^/]+\/?$/.test(p)),
    locks: await listTree(path.join(mount, 'staging', '.locks')),
  };
}

/** Asserts staging holds exactly one complete package of the slow table. */
async function assertCompleteSlowPackage(mount: string, startTime: string): Promise<void> {
  const state = await stagingState(mount, startTime);
  assert.deepEqual(state.files, ['data/', 'data/outputs/', 'data/outputs/slow.csv']);
  assert.deepEqual(state.hidden, [], 'no hidden work folder is left');
  assert.deepEqual(state.locks, [], 'no lock is left');
  const lines = (await readFile(path.join(mount, 'staging', 'Pr004', startTime, 'data', 'outputs', 'slow.csv'), 'utf8')).split('\n');
  assert.equal(lines.length, SLOW_ROWS + 2, 'a header, every row, and the final line end');
  assert.equal(lines[SLOW_ROWS], `${SLOW_ROWS},row ${SLOW_ROWS}`);
}

/** The job holding the project, in the answer of the service running it. */
const JOB_BUSY = /^Project 'Pr004' \(start time \d{8}_\d{6}\) is busy: its (package|publish) job [0-9a-f-]{36} is (queued|running)\. Wait for it to finish \(Query\.job\) or cancel it \(Mutation\.cancelJob\), then send the call again\.$/;

/** Since when and which call holds the project, never where (no process id, no host name): the destination's lock, across processes. */
const BUSY = /^A (package|publish) of project 'Pr004' \(start time \d{8}_\d{6}\) has been running since \d{4}-\d\d-\d\dT[\d:.]+Z \(request [\w.:-]+\) on this destination; this (package|publish) was not started\. Try again once it has finished\.$/;

describe('one process', () => {
  test('the same package twice at once: one job runs, both calls answer its package; staging holds one complete package', async () => {
    const startTime = '20250301_000001';
    const answers = await Promise.all([1, 2].map(() => platform.post(platform.gateway, '/project/package', packageBody(startTime, ['slow']))));
    for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(answers[0]!.text, answers[1]!.text, 'the same answer, byte for byte');
    assert.equal((await platform.auditEvents()).filter((e) => e.action === 'package' && e.project?.start_time === startTime).length, 1, 'one package ran');
    await assertCompleteSlowPackage(platform.mountDir, startTime);
  });

  test('another package of the same project while one runs answers 409 at once naming the job; the first is unaffected', async () => {
    const startTime = '20250301_000007';
    const started = Date.now();
    const first = platform.post(platform.gateway, '/project/package', packageBody(startTime, ['slow'])).then((a) => ({ ...a, ms: Date.now() - started }));
    assert.equal(await waitForCopies(1), 1);
    const other = await platform.post(platform.gateway, '/project/package', packageBody(startTime, ['slow', 'fast']));
    const otherMs = Date.now() - started;
    const ok = await first;
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(other.status, 409, JSON.stringify(other.body));
    assert.equal(other.body.status, 'error');
    assert.match(other.body.payload.detail, JOB_BUSY);
    assert.match(other.body.payload.detail, /its package job .* is running/);
    assert.ok(otherMs < ok.ms, `answered (${otherMs} ms) while the first ran (${ok.ms} ms)`);
    // The refusal is in the audit trail as the package it refused, with its tables.
    const refused = (await platform.auditEvents()).filter((e) => e.action === 'package' && e.project?.start_time === startTime && e.code === 'PROJECT_BUSY');
    assert.equal(refused.length, 1, 'the refused package is audited');
    assert.equal(refused[0].outcome, 'error');
    assert.equal(refused[0].detail, other.body.payload.detail);
    assert.deepEqual(refused[0].dataset.tables.map((t: { name: string }) => t.name), ['slow', 'fast']);
    await assertCompleteSlowPackage(platform.mountDir, startTime);
  });

  test('a publish while the package runs answers 409 and publishes nothing; after it, the publish gets the whole package', async () => {
    const startTime = '20250301_000002';
    const packaging = platform.post(platform.gateway, '/project/package', packageBody(startTime, ['slow']));
    assert.equal(await waitForCopies(1), 1);
    const early = await platform.post(platform.gateway, '/project/publish', publishBody(startTime));
    assert.equal(early.status, 409, JSON.stringify(early.body));
    assert.match(early.body.payload.detail, JOB_BUSY);
    assert.match(early.body.payload.detail, /its package job /);
    assert.deepEqual(await listTree(path.join(platform.mountDir, 'production', 'Pr004', startTime)), []);
    assert.equal((await packaging).status, 200);
    const staged = await sha512Of(path.join(platform.mountDir, 'staging', 'Pr004', startTime, 'data', 'outputs', 'slow.csv'));
    const published = await platform.post(platform.gateway, '/project/publish', publishBody(startTime));
    assert.equal(published.status, 200, JSON.stringify(published.body));
    assert.deepEqual(published.body.payload.data_published.map((f: any) => [f.file_path, f.hash_value]), [['data/outputs/slow.csv', staged]]);
  });

  test('a publish and a new package at once: the bag is one whole package, staging is whole or empty', async () => {
    const startTime = '20250301_000003';
    assert.equal((await platform.post(platform.gateway, '/project/package', packageBody(startTime, ['fast']))).status, 200);
    const [published, packaged] = await Promise.all([
      platform.post(platform.gateway, '/project/publish', publishBody(startTime)),
      platform.post(platform.gateway, '/project/package', packageBody(startTime, ['slow'])),
    ]);
    assert.ok([200, 409].includes(published.status) && [200, 409].includes(packaged.status), `${published.status} ${packaged.status}`);
    assert.ok(published.status === 200 || packaged.status === 200, 'one of them ran');
    const bag = path.join(platform.mountDir, 'production', 'Pr004', startTime);
    if (published.status === 200) {
      assert.deepEqual(published.body.payload.data_published.map((f: any) => f.file_path), ['data/outputs/fast.csv'], 'the publish took the earlier, complete package');
      assert.equal((await validateBag(bag)).valid, true);
    } else {
      assert.match(published.body.payload.detail, JOB_BUSY);
      assert.deepEqual(await listTree(bag), []);
    }
    if (packaged.status === 200) await assertCompleteSlowPackage(platform.mountDir, startTime);
    // Busy while the publish ran, or refused after it: a published bag is never replaced.
    else assert.match(packaged.body.payload.detail, new RegExp(`${JOB_BUSY.source}|^Destination 'LSC': production/Pr004/${startTime} already holds the published bag`));
  });

  test('two projects at once run in parallel: both COPYs are active on the source together', async () => {
    const both = Promise.all([
      platform.post(platform.gateway, '/project/package', packageBody('20250301_000004', ['slow'])),
      platform.post(platform.gateway, '/project/package', packageBody('20250301_000004', ['slow'], 'Pr005')),
    ]);
    assert.equal(await waitForCopies(2), 2, 'both extractions ran at the same time');
    for (const answer of await both) assert.equal(answer.status, 200, JSON.stringify(answer.body));
    await assertCompleteSlowPackage(platform.mountDir, '20250301_000004');
  });

  test('through GraphQL the same call attaches and another is an error with status 409 and code PROJECT_BUSY', async () => {
    const mutation = 'mutation ($r: ProjectTransferRequest!) { packageProject(request: $r) { dataRetrieved { filePath } } }';
    const startTime = '20250301_000005';
    const r = graphqlInput(packageBody(startTime, ['slow']));
    const same = await Promise.all([platform.gateway, platform.publish].map((base) => platform.graphql(base, mutation, { r })));
    for (const a of same) assert.deepEqual(a.body, { data: { packageProject: { dataRetrieved: [{ filePath: 'data/outputs/slow.csv' }] } } });
    const first = platform.graphql(platform.gateway, mutation, { r });
    assert.equal(await waitForCopies(1), 1);
    const other = await platform.graphql(platform.gateway, mutation, { r: graphqlInput(packageBody(startTime, ['fast'])) });
    assert.equal(other.body.errors[0].extensions.code, 'PROJECT_BUSY');
    assert.equal(other.body.errors[0].extensions.status, 409);
    assert.match(other.body.errors[0].extensions.detail, JOB_BUSY);
    assert.equal((await first).body.data?.packageProject?.dataRetrieved?.[0]?.filePath, 'data/outputs/slow.csv');
  });
});

describe('the lock file', () => {
  let mount: string;
  let staging: CheckedDir;
  const ref = { project: 'Pr004', startTime: '20250301_000006' };
  const file = () => path.join(mount, 'staging', '.locks', lockName(ref));
  const lock = (call: LockCall, options = {}) => withFolderLock(staging, ref, call, async () => 'ran', options);

  before(async () => {
    mount = await mkdtemp(path.join(os.tmpdir(), 'cr8tor-lock-'));
    await mkdir(path.join(mount, 'staging'));
    staging = (await (await CheckedDir.openMount(mount)).open('staging'))!;
  });

  after(async () => {
    await staging.closeAll();
    await rm(mount, { recursive: true, force: true });
  });

  async function plantLock(host: string, pid: number, ageMs: number, requestId?: string): Promise<string> {
    await mkdir(path.dirname(file()), { recursive: true });
    await writeFile(file(), JSON.stringify({ token: 'planted', action: 'package', request_id: requestId, host, pid, instance: 'other', since: new Date(Date.now() - ageMs).toISOString() }));
    const then = new Date(Date.now() - ageMs);
    await utimes(file(), then, then);
    return file();
  }

  test('a lock refreshed by a holder on another host is respected; once it is stale it is taken over', async () => {
    await plantLock('another-host', 1, 0, 'req-42');
    await assert.rejects(lock({ action: 'publish' }, { staleMs: 1000 }), (e: any) => {
      assert.equal(e.code, 'PROJECT_BUSY');
      assert.match(e.detail, /^A package of project 'Pr004' \(start time 20250301_000006\) has been running since [\dT:.Z-]+ \(request req-42\) on this destination; this publish was not started\./);
      assert.doesNotMatch(e.detail, /another-host|process/, 'no host name or process id for the caller');
      assert.match(e.logDetail, /process 1 on another-host/, 'they go to the log');
      return true;
    });
    await plantLock('another-host', 1, 5000);
    assert.equal(await lock({ action: 'publish' }, { staleMs: 1000 }), 'ran');
    assert.equal(existsSync(path.join(mount, 'staging', '.locks')), false, 'the lock and its folder are gone');
  });

  test('the lock file is named by the project lower-cased: spellings differing in case share it', async () => {
    assert.equal(lockName(ref), 'pr004@20250301_000006.lock');
    await plantLock('another-host', 1, 0);
    await assert.rejects(withFolderLock(staging, { ...ref, project: 'PR004' }, { action: 'package' }, async () => 'ran'), (e: any) => e.code === 'PROJECT_BUSY');
    await rm(file());
  });

  test('a lock of a process of this host that no longer runs is taken over at once', async () => {
    await plantLock(os.hostname(), 2 ** 22 + 12345, 0);
    assert.equal(await lock({ action: 'package' }), 'ran');
  });

  test('the holder refreshes its lock while it works, and records its call', async () => {
    const mtimes: number[] = [];
    let holder: any;
    await withFolderLock(staging, ref, { action: 'package', requestId: 'req-7' }, async () => {
      holder = JSON.parse(await readFile(file(), 'utf8'));
      for (let i = 0; i < 4; i++) {
        mtimes.push((await stat(file())).mtimeMs);
        await new Promise((r) => setTimeout(r, 120));
      }
    }, { heartbeatMs: 50 });
    assert.ok(mtimes[3]! > mtimes[0]!, `mtime advanced: ${mtimes.join(', ')}`);
    assert.equal(holder.action, 'package');
    assert.equal(holder.request_id, 'req-7');
  });

  test('the host a lock names is the `host` option (a replica\'s name): a dead process of another replica on this machine is not judged by its pid', async () => {
    await plantLock('publish-2', 2 ** 22 + 12345, 0);
    await assert.rejects(lock({ action: 'package' }, { host: 'publish-1' }), (e: any) => e.code === 'PROJECT_BUSY');
    assert.equal(await lock({ action: 'package' }, { host: 'publish-2' }), 'ran', 'its own replica (same name) sees the process is gone');
    let holder: any;
    await withFolderLock(staging, ref, { action: 'package', jobId: 'job-9' }, async () => (holder = JSON.parse(await readFile(file(), 'utf8'))), { host: 'publish-1' });
    assert.deepEqual([holder.host, holder.job], ['publish-1', 'job-9']);
  });

  test('an abandoned job\'s lock is freed for that job only; its holder, if merely slow, stops refreshing it and is told it lost it', async () => {
    // Another job's lock, or one held by no job, is left alone.
    await plantLock('publish-2', 1, 0);
    assert.equal(await releaseAbandonedLock(staging, ref, 'job-1'), false);
    assert.ok(existsSync(file()));
    await rm(file());

    let lost: AbortSignal | undefined;
    const mtimes: number[] = [];
    const work = withFolderLock(staging, ref, { action: 'package', jobId: 'job-1' }, async (signal) => {
      lost = signal;
      assert.equal(await releaseAbandonedLock(staging, ref, 'job-2'), false, 'not job-2\'s lock');
      assert.equal(await releaseAbandonedLock(staging, ref, 'job-1'), true, 'job-1\'s lock is freed');
      assert.equal(existsSync(file()), false);
      // The next call takes the project at once; the old holder's refresh must not keep it alive, nor remove it.
      await plantLock('publish-2', 1, 60_000);
      for (let i = 0; i < 4; i++) {
        mtimes.push((await stat(file())).mtimeMs);
        await new Promise((r) => setTimeout(r, 120));
      }
      return 'done';
    }, { heartbeatMs: 50, host: 'publish-1' });
    assert.equal(await work, 'done');
    assert.equal(lost?.aborted, true, 'the holder was told its lock is gone');
    assert.equal((lost?.reason as any).code, 'JOB_INTERRUPTED');
    assert.equal(new Set(mtimes).size, 1, `the next holder's lock was never touched: ${mtimes.join(', ')}`);
    assert.equal(JSON.parse(await readFile(file(), 'utf8')).token, 'planted', 'nor removed when the old holder finished');
    await rm(file());
  });
});

describe('two publish service processes sharing one mount', () => {
  const KEY = 'publish-concurrency-key';
  let root: string;
  let mount: string;
  const services: Array<{ p: ServiceProcess; url: string }> = [];

  async function start(): Promise<{ p: ServiceProcess; url: string }> {
    const port = await freePort();
    const p = spawnService('publish', { PUBLISH_CONTAINER_PORT: String(port), SECRETS_MNT_PATH: path.join(root, 'secrets'), TARGET_STORAGE_ACCOUNT_LSC_SDE_MNT_PATH: mount });
    const url = `http://127.0.0.1:${port}`;
    await waitForHealthy(p, `${url}/healthz`);
    const service = { p, url };
    services.push(service);
    return service;
  }

  const call = (url: string, route: string, body: unknown) =>
    fetch(`${url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': KEY }, body: JSON.stringify(body) }).then(
      async (res) => ({ status: res.status, body: (await res.json()) as any }),
      (error: unknown) => ({ status: 0, body: { error: String(error) } as any }),
    );

  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'cr8tor-replicas-'));
    mount = path.join(root, 'lsc');
    await mkdir(path.join(root, 'secrets'));
    await mkdir(path.join(mount, 'staging'), { recursive: true });
    await mkdir(path.join(mount, 'production'), { recursive: true });
    await writeFile(path.join(root, 'secrets', 'publishserviceapikey'), KEY);
    await writeFile(path.join(root, 'secrets', 'postgresql-user'), pgSettings.user);
    await writeFile(path.join(root, 'secrets', 'postgresql-password'), pgSettings.password);
  });

  after(async () => {
    for (const s of services) await stopService(s.p);
    await rm(root, { recursive: true, force: true });
  });

  test('the same project on both at once: one runs, the other answers 409', async () => {
    const [a, b] = await Promise.all([start(), start()]);
    const startTime = '20250302_000001';
    const answers = await Promise.all([a!, b!].map((s) => call(s.url, '/data-publish/package', packageBody(startTime, ['slow']))));
    assert.deepEqual(answers.map((x) => x.status).sort(), [200, 409], JSON.stringify(answers));
    assert.match(answers.find((x) => x.status === 409)!.body.payload.detail, BUSY);
    await assertCompleteSlowPackage(mount, startTime);
  });

  test('a lock left by a killed process is taken over by the other, and its half-written package removed', async () => {
    const [a, b] = services;
    const startTime = '20250302_000002';
    const dying = call(a!.url, '/data-publish/package', packageBody(startTime, ['slow']));
    assert.equal(await waitForCopies(1), 1);
    a!.p.child.kill('SIGKILL');
    await a!.p.exited;
    assert.equal((await dying).status, 0, 'the killed call got no answer');
    const left = await stagingState(mount, startTime);
    assert.equal(left.locks.length, 1, `the killed process left its lock: ${JSON.stringify(left)}`);
    assert.equal(left.hidden.length, 1, `and its hidden work folder: ${JSON.stringify(left)}`);
    const retried = await call(b!.url, '/data-publish/package', packageBody(startTime, ['slow']));
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    await assertCompleteSlowPackage(mount, startTime);
    const published = await call(b!.url, '/data-publish/publish', publishBody(startTime));
    assert.equal(published.status, 200, JSON.stringify(published.body));
  });
});

describe('the PostgreSQL destination', () => {
  const DEST = { name: 'TRE', type: 'postgresql', format: 'sql' };
  const role = `cr8tor_concur_ro_${Math.random().toString(16).slice(2, 10)}`;
  let dest: TestPgDatabase;
  let opal: OpalDouble;
  let tre: Platform;
  let destinationEnv: NodeJS.ProcessEnv;
  const spawned: ServiceProcess[] = [];

  const pgPackage = (startTime: string, projectName = 'Pr004') => ({ ...packageBody(startTime, ['slow'], projectName), destination: DEST });
  const pgPublish = (startTime: string, projectName = 'Pr004') => ({ ...publishBody(startTime, projectName), destination: DEST });
  const schemaOf = (startTime: string, projectName = 'Pr004') => `${projectName}_${startTime}_public`.toLowerCase();
  const GENERIC_BUSY = /^A package or publish of project 'Pr004' \(start time \d{8}_\d{6}\) is running on this destination; this (package|publish) was not started\. Try again once it has finished\.$/;
  /** Which call runs and since when; never where (the process and host go to the log). */
  const PG_BUSY = /^A (package|publish) of project 'Pr004' \(start time \d{8}_\d{6}\) has been running since \d{4}-\d\d-\d\dT[\d:.]+Z on this destination; this (package|publish) was not started\. Try again once it has finished\.$/;
  const logLines: string[] = [];

  /** Asserts the destination holds one complete load of the slow table in the project's schema, and no half-loaded schema. */
  async function assertCompleteLoad(startTime: string, projectName = 'Pr004'): Promise<void> {
    const { rows } = await dest.client.query(`SELECT count(*)::int AS n, max(id)::int AS last FROM ${pg.escapeIdentifier(schemaOf(startTime, projectName))}.slow`);
    assert.deepEqual(rows[0], { n: SLOW_ROWS, last: SLOW_ROWS });
    const loading = await dest.client.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'cr8tor\\_loading\\_%'`);
    assert.deepEqual(loading.rows, [], 'no temporary schema is left');
  }

  /** Sessions of the destination database labelled as holding (or taking) a project lock. */
  async function lockSessions(): Promise<number> {
    const { rows } = await dest.client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'cr8tor-lock %'`, [dest.database]);
    return rows[0].n as number;
  }

  before(async () => {
    dest = await createPgDatabase('concur_dst');
    await dest.client.query(`CREATE ROLE ${pg.escapeIdentifier(role)} LOGIN`);
    opal = await startOpalDouble();
    destinationEnv = pgDestinationEnv(dest.database, role, opal);
    tre = await startPlatform({ env: destinationEnv, logStream: { write: (line: string) => void logLines.push(line) } });
    await writeSourceSecrets(tre, 'postgresql');
    await writePgDestinationSecrets(tre, 'Ro-concur-password#1', opal.password);
    await tre.writeSecret('publishserviceapikey', keys.publish);
  });

  after(async () => {
    for (const p of spawned) await stopService(p);
    await tre?.close();
    await opal?.stop();
    await dest?.drop();
    await dropPgRole(role);
  });

  test('the same package twice at once: one load, both calls answer it; the schema holds one complete load', async () => {
    const startTime = '20250303_000001';
    const answers = await Promise.all([1, 2].map(() => tre.post(tre.gateway, '/project/package', pgPackage(startTime))));
    for (const a of answers) {
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.deepEqual(a.body.payload.data_retrieved, [{ table_name: `${schemaOf(startTime)}.slow` }]);
    }
    await assertCompleteLoad(startTime);
    assert.equal(await lockSessions(), 0, 'the lock session is closed');
  });

  test('a publish while the package runs answers 409 and provisions nothing; after it, the publish runs', async () => {
    const startTime = '20250303_000002';
    opal.clearLog();
    const packaging = tre.post(tre.gateway, '/project/package', pgPackage(startTime));
    assert.equal(await waitForCopies(1), 1);
    const early = await tre.post(tre.gateway, '/project/publish', pgPublish(startTime));
    assert.equal(early.status, 409, JSON.stringify(early.body));
    assert.match(early.body.payload.detail, JOB_BUSY);
    assert.match(early.body.payload.detail, /its package job /);
    assert.deepEqual(opal.writes(), [], 'OPAL was not touched');
    assert.equal((await packaging).status, 200);
    const published = await tre.post(tre.gateway, '/project/publish', pgPublish(startTime));
    assert.equal(published.status, 200, JSON.stringify(published.body));
    assert.deepEqual(published.body.payload.data_published.map((e: any) => e.postgresql_table_name), [`${schemaOf(startTime)}.slow`]);
  });

  test('two projects at once run in parallel: both COPYs are active on the source together, both load', async () => {
    const startTime = '20250303_000003';
    const both = Promise.all([tre.post(tre.gateway, '/project/package', pgPackage(startTime)), tre.post(tre.gateway, '/project/package', pgPackage(startTime, 'Pr005'))]);
    assert.equal(await waitForCopies(2), 2, 'both extractions ran at the same time');
    for (const answer of await both) assert.equal(answer.status, 200, JSON.stringify(answer.body));
    await assertCompleteLoad(startTime);
    await assertCompleteLoad(startTime, 'Pr005');
  });

  test("the lock is the project's advisory lock in the destination database: held by another session, calls answer 409; released, they run", async () => {
    const startTime = '20250303_000004';
    const holder = new pg.Client({ ...pgSettings, database: dest.database });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [projectLockKey('Pr004', startTime)]);
      for (const [route, body] of [['/project/package', pgPackage(startTime)], ['/project/publish', pgPublish(startTime)]] as const) {
        const refused = await tre.post(tre.gateway, route, body);
        assert.equal(refused.status, 409, JSON.stringify(refused.body));
        assert.match(refused.body.payload.detail, GENERIC_BUSY);
      }
      // 'PR004' loads into the same schemas as 'Pr004', so it takes the same lock.
      const otherCase = await tre.post(tre.gateway, '/project/package', pgPackage(startTime, 'PR004'));
      assert.equal(otherCase.status, 409, JSON.stringify(otherCase.body));
      // Another start time is another key.
      const other = await tre.post(tre.gateway, '/project/package', pgPackage('20250303_000005'));
      assert.equal(other.status, 200, JSON.stringify(other.body));
      await holder.query('SELECT pg_advisory_unlock($1::bigint)', [projectLockKey('Pr004', startTime)]);
      const packaged = await tre.post(tre.gateway, '/project/package', pgPackage(startTime));
      assert.equal(packaged.status, 200, JSON.stringify(packaged.body));
      await assertCompleteLoad(startTime);
    } finally {
      await holder.end();
    }
  });

  test('two publish service processes on one destination database: one runs, the other answers 409; a killed holder’s lock is released by the server', async () => {
    const port = await freePort();
    const p = spawnService('publish', { ...destinationEnv, PUBLISH_CONTAINER_PORT: String(port), SECRETS_MNT_PATH: tre.secretsDir });
    spawned.push(p);
    const url = `http://127.0.0.1:${port}`;
    await waitForHealthy(p, `${url}/healthz`);
    const call = (base: string, route: string, body: unknown) =>
      fetch(`${base}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': keys.publish }, body: JSON.stringify(body) }).then(
        async (res) => ({ status: res.status, body: (await res.json()) as any }),
        (error: unknown) => ({ status: 0, body: { error: String(error) } as any }),
      );

    const startTime = '20250303_000006';
    const answers = await Promise.all([url, tre.publish].map((base) => call(base, '/data-publish/package', pgPackage(startTime))));
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 409], JSON.stringify(answers));
    assert.match(answers.find((a) => a.status === 409)!.body.payload.detail, PG_BUSY);
    await assertCompleteLoad(startTime);

    const killedAt = '20250303_000007';
    const dying = call(url, '/data-publish/package', pgPackage(killedAt));
    assert.equal(await waitForCopies(1), 1);
    logLines.length = 0;
    const busy = await call(tre.publish, '/data-publish/package', pgPackage(killedAt));
    assert.equal(busy.status, 409, 'the process holds the lock while it loads');
    assert.match(busy.body.payload.detail, PG_BUSY);
    assert.ok(!busy.body.payload.detail.includes(String(p.child.pid)) && !busy.body.payload.detail.includes(os.hostname()), 'the caller is not told where it runs');
    const refusal = logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'project busy in the PostgreSQL destination database: call refused');
    assert.deepEqual([refusal?.refused, refusal?.holder?.action, refusal?.holder?.pid, refusal?.holder?.host], ['package', 'package', String(p.child.pid), os.hostname()], 'the log names the holding process');
    p.child.kill('SIGKILL');
    await p.exited;
    assert.equal((await dying).status, 0, 'the killed call got no answer');
    // The server ends the killed process's sessions, and with them its lock.
    for (let i = 0; i < 500 && (await lockSessions()) > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await lockSessions(), 0, 'the killed process’s lock session is gone');
    // Its load's transaction, registry row included, was rolled back with it.
    assert.deepEqual((await dest.client.query('SELECT schema_name FROM cr8tor_publisher.loads WHERE schema_name = $1', [schemaOf(killedAt)])).rows, []);
    const retried = await call(tre.publish, '/data-publish/package', pgPackage(killedAt));
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    await assertCompleteLoad(killedAt);
  });
});
