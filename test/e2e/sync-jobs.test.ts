/**
 * The synchronous calls on top of jobs, through the real services with real
 * PostgreSQL and MariaDB sources: a CLI retry after its connection dropped
 * attaches to the job the first call started and answers its result (one
 * package runs, not a 409); another call for the project answers 409 naming
 * the job; the same through GraphQL. Cancelling a running package stops its
 * source statement on the server (pg_stat_activity, the MariaDB process
 * list), leaves staging clean and the project free, and the waiting caller
 * gets the JOB_CANCELLED envelope. A publish cancelled before its point of no
 * return publishes nothing. A publish whose caller left before its answer
 * leaves what the retry answers (the bag, again), then nothing-to-publish.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseRequest, publishRequestSchema } from '../../lib/contract/index.js';
import { MemoryJobEngine } from '../../lib/jobs/memory.js';
import { createLogger } from '../../lib/logging/logger.js';
import { createMysqlDatabase, createPgDatabase, type TestMysqlDatabase, type TestPgDatabase } from '../support/databases.js';
import { listTree } from '../support/filestore-fs.js';
import { keys, startPlatform, type Platform } from '../support/platform.js';
import { dataset, graphqlInput, sqlSource, transferRequest, writeSourceSecrets } from '../support/requests.js';

type SourceType = 'postgresql' | 'mysql';

let pgDb: TestPgDatabase;
let myDb: TestMysqlDatabase;
let platform: Platform;
const jobs = new MemoryJobEngine({ log: createLogger('publish', 'silent'), replica: 'replica-test' });

before(async () => {
  pgDb = await createPgDatabase('syncjobs');
  myDb = await createMysqlDatabase('syncjobs');
  // Its COPY runs about 4 s before the first row: long enough to drop a call and send it again.
  await pgDb.client.query(`CREATE VIEW slow AS SELECT g AS id, 'row ' || g AS label FROM pg_sleep(4) AS s, generate_series(1, 1000) AS g`);
  // Rows trickle out for about 20 s (5 ms each): the server notices a closed connection at once.
  await pgDb.client.query(`CREATE VIEW trickle AS SELECT g AS id, repeat('x', 200) || pg_sleep(0.005)::text AS pad FROM generate_series(1, 4000) AS g`);
  await myDb.conn.query(`CREATE VIEW trickle AS SELECT seq AS id, CONCAT(REPEAT('x', 200), SLEEP(0.005)) AS pad FROM seq_1_to_4000`);
  await pgDb.client.query('CREATE TABLE fast AS SELECT g AS id FROM generate_series(1, 10) AS g');
  await myDb.conn.query('CREATE TABLE fast AS SELECT seq AS id FROM seq_1_to_10');
  platform = await startPlatform({ jobs });
  await writeSourceSecrets(platform, 'postgresql');
  await writeSourceSecrets(platform, 'mysql');
});

after(async () => {
  await platform?.close();
  await pgDb?.drop();
  await myDb?.drop();
});

function packageBody(type: SourceType, tables: string[], startTime: string) {
  const source = sqlSource(type, type === 'postgresql' ? pgDb.database : myDb.database);
  return { ...transferRequest(source, dataset(type === 'postgresql' ? 'public' : null, tables), { project_start_time: startTime }), destination: { name: 'LSC', type: 'filestore', format: 'csv' } };
}

/** Statements of the publisher's extraction running on the source. */
async function extractions(type: SourceType): Promise<number> {
  if (type === 'postgresql') {
    const { rows } = await pgDb.client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'cr8tor-publisher' AND state = 'active' AND query ILIKE 'COPY%'`, [pgDb.database]);
    return rows[0].n as number;
  }
  const [rows] = await myDb.conn.query(`SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID() AND INFO LIKE 'SELECT%'`, [myDb.database]);
  return Number((rows as Array<{ n: number | string }>)[0]!.n);
}

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const extractionRunning = (type: SourceType) => until(`the ${type} extraction starts`, async () => (await extractions(type)) > 0);

/** Sends a POST on a socket of its own and closes it without reading the answer: a CLI whose connection dropped. */
async function callAndDrop(base: string, route: string, key: string, body: unknown, requestId: string, type: SourceType): Promise<void> {
  const json = JSON.stringify(body);
  const socket = net.connect(Number(new URL(base).port), '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write(`POST ${route} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nx-api-key: ${key}\r\nx-request-id: ${requestId}\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
  await extractionRunning(type);
  socket.destroy();
}

async function onlyJob(startTime: string) {
  const page = await jobs.list({ projectName: 'Pr004', projectStartTime: startTime, first: 10 });
  assert.equal(page.jobs.length, 1, `one job for ${startTime}: ${JSON.stringify(page.jobs)}`);
  return page.jobs[0]!;
}

/** Packages that ran for a start time (a call refused as busy is audited too, with code PROJECT_BUSY: it ran nothing). */
const packagesRun = async (startTime: string) =>
  (await platform.auditEvents()).filter((e) => e.action === 'package' && e.project?.start_time === startTime && e.code !== 'PROJECT_BUSY').length;

const busyDetail = (startTime: string, id: string) =>
  `Project 'Pr004' (start time ${startTime}) is busy: its package job ${id} is running. Wait for it to finish (Query.job) or cancel it (Mutation.cancelJob), then send the call again.`;

describe('a retry after the caller disconnected', () => {
  for (const [name, base, route, key] of [
    ['publish REST', () => platform.publish, '/data-publish/package', keys.publish],
    ['gateway REST', () => platform.gateway, '/project/package', keys.approval],
  ] as const) {
    test(`${name}: the same call again attaches to the running job and answers its package; another answers 409 naming the job`, async () => {
      const startTime = name === 'publish REST' ? '20250601_000001' : '20250601_000002';
      await callAndDrop(base(), route, key, packageBody('postgresql', ['slow'], startTime), `dropped-${startTime}`, 'postgresql');
      const job = await onlyJob(startTime);
      assert.equal(job.state, 'running');
      if (name === 'publish REST') assert.equal(job.request_id, `dropped-${startTime}`, 'the job is the dropped call’s');
      const other = await platform.post(base(), route, packageBody('postgresql', ['fast'], startTime));
      assert.equal(other.status, 409, JSON.stringify(other.body));
      assert.deepEqual(other.body, { status: 'error', payload: { detail: busyDetail(startTime, job.id) } });
      assert.equal((await jobs.get(job.id))!.state, 'running', 'the 409 came while the job ran');
      const retry = await platform.post(base(), route, packageBody('postgresql', ['slow'], startTime));
      assert.equal(retry.status, 200, JSON.stringify(retry.body));
      assert.deepEqual(retry.body.payload.data_retrieved.map((f: { file_path: string }) => f.file_path), ['data/outputs/slow.csv']);
      assert.equal((await jobs.get(job.id))!.state, 'succeeded');
      assert.equal(await packagesRun(startTime), 1, 'one package ran for both calls');
      await onlyJob(startTime);
    });
  }

  test('GraphQL packageProject: the same mutation again attaches; another is PROJECT_BUSY naming the job', async () => {
    const startTime = '20250601_000003';
    const mutation = 'mutation ($r: ProjectTransferRequest!) { packageProject(request: $r) { dataRetrieved { filePath } } }';
    const r = graphqlInput(packageBody('postgresql', ['slow'], startTime));
    const dropped = new AbortController();
    const first = fetch(`${platform.gateway}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': keys.approval },
      body: JSON.stringify({ query: mutation, variables: { r } }),
      signal: dropped.signal,
    }).catch((error: unknown) => error);
    await extractionRunning('postgresql');
    dropped.abort();
    assert.equal(((await first) as Error).name, 'AbortError');
    const job = await onlyJob(startTime);
    const other = await platform.graphql(platform.gateway, mutation, { r: graphqlInput(packageBody('postgresql', ['fast'], startTime)) });
    assert.equal(other.body.errors?.[0]?.extensions?.code, 'PROJECT_BUSY', JSON.stringify(other.body));
    assert.equal(other.body.errors[0].extensions.status, 409);
    assert.equal(other.body.errors[0].extensions.detail, busyDetail(startTime, job.id));
    const retry = await platform.graphql(platform.gateway, mutation, { r });
    assert.deepEqual(retry.body, { data: { packageProject: { dataRetrieved: [{ filePath: 'data/outputs/slow.csv' }] } } });
    assert.equal(await packagesRun(startTime), 1, 'one package ran for both calls');
  });
});

describe('cancelling a running package', () => {
  for (const type of ['postgresql', 'mysql'] as const) {
    test(`${type}: the source statement is stopped on the server, staging is left clean, the caller gets JOB_CANCELLED, the next package runs`, async () => {
      const startTime = type === 'postgresql' ? '20250601_000004' : '20250601_000005';
      const waiting = platform.post(platform.publish, '/data-publish/package', packageBody(type, ['trickle'], startTime));
      await extractionRunning(type);
      const job = await onlyJob(startTime);
      const cancelled = await jobs.cancel(job.id, 'key-0123456789ab');
      assert.equal(cancelled.state, 'cancelled');
      const detail = `The package job ${job.id} of project 'Pr004' (start time ${startTime}) was cancelled by key 'key-0123456789ab'; nothing of it was kept.`;
      assert.deepEqual(cancelled.error, { code: 'JOB_CANCELLED', status: 409, detail });
      const answer = await waiting;
      assert.equal(answer.status, 409);
      assert.deepEqual(answer.body, { status: 'error', payload: { detail } });
      // The server stopped the statement (it is not left running to its end, about 20 s away).
      await until(`the ${type} extraction is gone from the server`, async () => (await extractions(type)) === 0, 5_000);
      const staging = path.join(platform.mountDir, 'staging');
      assert.deepEqual((await listTree(path.join(staging, 'Pr004'))).filter((e) => e.includes(startTime)), [], 'nothing staged, no hidden work folder');
      assert.deepEqual(await listTree(path.join(staging, '.locks')), [], 'the lock is freed');
      const event = (await platform.auditEvents()).find((e) => e.action === 'package' && e.project?.start_time === startTime);
      assert.deepEqual([event?.outcome, event?.code], ['error', 'JOB_CANCELLED'], JSON.stringify(event));
      const next = await platform.post(platform.publish, '/data-publish/package', packageBody(type, ['fast'], startTime));
      assert.equal(next.status, 200, JSON.stringify(next.body));
      assert.deepEqual(await listTree(path.join(staging, 'Pr004', startTime)), ['data/', 'data/outputs/', 'data/outputs/fast.csv']);
    });
  }
});

describe('cancelling a publish', () => {
  test('before its point of no return: it ends cancelled having published nothing; staging is kept and the publish then runs', async () => {
    const startTime = '20250601_000006';
    const packaged = await platform.post(platform.publish, '/data-publish/package', packageBody('postgresql', ['fast'], startTime));
    assert.equal(packaged.status, 200, JSON.stringify(packaged.body));
    const request = parseRequest(publishRequestSchema, { project_name: 'Pr004', project_start_time: startTime, destination: { name: 'LSC', type: 'filestore', format: 'csv' } });
    // The job starts at once and first checks its destination (asynchronously): the cancellation reaches it before it publishes.
    const { job } = await jobs.submit({ job: { kind: 'publish', request }, startedBy: 'key-0123456789ab', requestId: 'publish-cancelled' });
    const cancelled = await jobs.cancel(job.id, 'key-0123456789ab');
    assert.equal(cancelled.state, 'cancelled', JSON.stringify(cancelled));
    assert.equal(cancelled.error?.code, 'JOB_CANCELLED');
    assert.deepEqual(await listTree(path.join(platform.mountDir, 'production', 'Pr004', startTime)), [], 'nothing published');
    assert.deepEqual(await listTree(path.join(platform.mountDir, 'staging', 'Pr004', startTime)), ['data/', 'data/outputs/', 'data/outputs/fast.csv'], 'the package is still staged');
    const published = await platform.post(platform.publish, '/data-publish/publish', request);
    assert.equal(published.status, 200, JSON.stringify(published.body));
    assert.deepEqual(published.body.payload.data_published.map((f: { file_path: string }) => f.file_path), ['data/outputs/fast.csv']);
  });
});

describe('a publish whose caller left before its answer', () => {
  // A publish's last step (removing staging and its receipt) follows the answer reaching the caller (lib/http/call.ts, answered).
  test('publish REST: the bag goes into place and staging goes, its receipt stays; the caller’s retry answers 200 with the bag, a further one the contract’s nothing-to-publish', async () => {
    const startTime = '20250601_000007';
    const outputs = path.join(platform.mountDir, 'staging', 'Pr004', startTime, 'data', 'outputs');
    await mkdir(outputs, { recursive: true });
    // 96 MiB to move and hash: the publish outlasts the dropped connection by far.
    await writeFile(path.join(outputs, 'big.csv'), Buffer.alloc(96 * 2 ** 20, 'a,b\n'));
    await writeFile(path.join(outputs, 'small.csv'), 'id\n1\n');
    const body = { project_name: 'Pr004', project_start_time: startTime, destination: { name: 'LSC', type: 'filestore', format: 'csv' } };
    const json = JSON.stringify(body);
    const socket = net.connect(Number(new URL(platform.publish).port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(`POST /data-publish/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nx-api-key: ${keys.publish}\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
    await until('the publish job runs', async () => (await jobs.list({ projectName: 'Pr004', projectStartTime: startTime, first: 1 })).jobs[0]?.state === 'running');
    socket.destroy();
    const job = await onlyJob(startTime);
    const final = await jobs.wait(job.id);
    assert.equal(final.state, 'succeeded', JSON.stringify(final.error));
    assert.equal(existsSync(path.join(platform.mountDir, 'staging', 'Pr004', startTime)), false, 'the staging folder went');
    assert.ok(existsSync(path.join(platform.mountDir, 'staging', '.published', `pr004@${startTime}`)), 'the caller never heard: the receipt stays');
    const retry = await platform.post(platform.publish, '/data-publish/publish', body);
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    assert.deepEqual(retry.body.payload.data_published, final.publish_result!.data_published, 'the retry answers what the job published');
    const further = await platform.post(platform.publish, '/data-publish/publish', body);
    assert.equal(further.status, 409, JSON.stringify(further.body));
    assert.equal(further.body.payload.detail, 'No files found in Staging. Nothing to publish to Production.');
    assert.equal(existsSync(path.join(platform.mountDir, 'staging', 'Pr004', startTime)), false, 'nothing of the publish is left in staging');
    assert.equal(existsSync(path.join(platform.mountDir, 'staging', '.published', `pr004@${startTime}`)), false, 'its receipt went once the retry was answered');
  });
});
