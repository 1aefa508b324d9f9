/**
 * Jobs with two publish replicas and two gateways on one platform database
 * and one shared filestore mount (issue #17, items 4 and 7), every service a
 * real process (support/replicas.ts), the source a real PostgreSQL database:
 * - packages started through both gateways spread over both replicas, each
 *   runs once (one job_started and one package audit event per job) and
 *   leaves a staged package that publishes as a valid bag;
 * - cancelJob sent through the gateway of the OTHER replica stops a package
 *   (its source statement gone, staging clean, no lock), and the project
 *   packages again;
 * - SIGKILL of the replica running a package: the job is failed
 *   JOB_INTERRUPTED naming the replica within the abandonment bound, its lock
 *   and staging are freed (the replicas have their own names, so the lock is
 *   another host's: only the job engine's word frees it before it goes
 *   stale), nothing is published, a publish meanwhile is NOTHING_TO_PUBLISH,
 *   a synchronous caller of the killed replica gets an error at once, the
 *   CLI's retry on the other replica attaches to the job and is answered 503
 *   JOB_INTERRUPTED when it is declared failed, and the other replica's next
 *   package of the project succeeds;
 * - after a replica restarts, a project's reports and validations are the
 *   same through both gateways.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { validateBag } from '../../scripts/support/bag-validate.js';
import { createPgDatabase, type TestPgDatabase } from '../support/databases.js';
import { listTree } from '../support/filestore-fs.js';
import { startReplicaPlatform, type ReplicaPlatform, type RunningService } from '../support/replicas.js';
import { accessRequest, dataset, graphqlInput, publishRequest, sqlSource, transferRequest } from '../support/requests.js';

/** Heartbeats and abandonment short enough for a test, with room for a loaded two-core machine (a live job never misses twelve heartbeats). */
const HEARTBEAT_MS = 500;
const ABANDONED_AFTER_MS = 6_000;
/** One job at a time per replica: packages started together must spread over both. */
const PUBLISH_ENV = { JOB_HEARTBEAT_MS: String(HEARTBEAT_MS), JOB_ABANDONED_AFTER_MS: String(ABANDONED_AFTER_MS), JOBS_CONCURRENCY: '1' };
const GUARD = { timeout: 240_000 };

const JOB_FIELDS = `id kind projectName projectStartTime state requestId startedAt finishedAt replica
  progress { table rows }
  packageResult { dataRetrieved { filePath } }
  publishResult { dataPublished { filePath } }
  error { code status detail }`;
const START_PACKAGE = `mutation Start($r: ProjectTransferRequest!) { startPackage(request: $r) { ${JOB_FIELDS} } }`;
const START_PUBLISH = `mutation Start($r: ProjectPublishRequest!) { startPublish(request: $r) { ${JOB_FIELDS} } }`;
const JOB = `query Job($id: ID!) { job(id: $id) { ${JOB_FIELDS} } }`;
const CANCEL = `mutation Cancel($id: ID!) { cancelJob(id: $id) { ${JOB_FIELDS} } }`;
const JOBS = `query Jobs($n: String!, $t: String!) { jobs(projectName: $n, projectStartTime: $t, first: 100) { nodes { id state } } }`;

let db: TestPgDatabase;
let p: ReplicaPlatform;

before(async () => {
  db = await createPgDatabase('replicas_src');
  await db.client.query(`
    CREATE TABLE person (id integer PRIMARY KEY, name text);
    INSERT INTO person SELECT g, 'person ' || g FROM generate_series(1, 25) AS g;
    -- About a second to read (100 rows, 10 ms each): packages started together overlap.
    CREATE VIEW medium AS SELECT g AS id, pg_sleep(0.01)::text AS pad FROM generate_series(1, 100) AS g;
    -- A minute to read: still running whenever the test acts on it.
    CREATE VIEW slow AS SELECT g AS id, repeat('x', 100) || pg_sleep(0.01)::text AS pad FROM generate_series(1, 6000) AS g;
  `);
  p = await startReplicaPlatform({ publishEnv: PUBLISH_ENV });
});

after(async () => {
  await p?.close();
  await db?.drop();
});

const project = (name: string, startTime: string) => ({ project_name: name, project_start_time: startTime });
const packageBody = (name: string, startTime: string, tables: string[]) => transferRequest(sqlSource('postgresql', db.database), dataset('public', tables), project(name, startTime));

/** An operation through a gateway that must answer data; gives the data. */
async function data(gateway: RunningService, query: string, variables: Record<string, unknown>): Promise<any> {
  const answer = await p.graphql(gateway, query, variables);
  assert.equal(answer.status, 200, answer.text);
  assert.equal(answer.body.errors, undefined, answer.text);
  return answer.body.data;
}

/** An operation through a gateway that must fail; gives its one error's extensions. */
async function refused(gateway: RunningService, query: string, variables: Record<string, unknown>): Promise<{ code: string; status: number; detail: string }> {
  const answer = await p.graphql(gateway, query, variables);
  assert.equal(answer.body.errors?.length, 1, answer.text);
  return answer.body.errors[0].extensions;
}

const startPackage = async (gateway: RunningService, body: unknown) => (await data(gateway, START_PACKAGE, { r: graphqlInput(body as never) })).startPackage;

/** Asks Query.job (through `gateway`) until `done(job)`, and gives the job. */
async function until(gateway: RunningService, id: string, done: (job: any) => boolean, what: string, timeoutMs = 90_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { job } = await data(gateway, JOB, { id });
    assert.ok(job, `job ${id} is known`);
    if (done(job)) return job;
    if (Date.now() > deadline) assert.fail(`job ${id} did not get ${what} within ${timeoutMs} ms: ${JSON.stringify(job)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED'];
const final = (gateway: RunningService, id: string) => until(gateway, id, (j) => FINAL.includes(j.state), 'a final state');
const succeeded = async (gateway: RunningService, id: string) => {
  const job = await final(gateway, id);
  assert.equal(job.state, 'SUCCEEDED', JSON.stringify(job.error));
  return job;
};

/** The gateway whose publish subgraph is NOT the replica `name`. */
const otherGateway = (name: string) => (name === 'publish-1' ? p.gateways[1] : p.gateways[0]);
/** The gateway whose publish subgraph IS the replica `name`. */
const ownGateway = (name: string) => (name === 'publish-1' ? p.gateways[0] : p.gateways[1]);

/** The project's lock file on the shared mount, parsed; undefined when there is none. */
async function lockOf(name: string, startTime: string): Promise<any> {
  const file = path.join(p.mountDir, 'staging', '.locks', `${name.toLowerCase()}@${startTime}.lock`);
  // Read, not checked then read: the lock may be freed between the two.
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  return text === undefined ? undefined : JSON.parse(text);
}

/** Everything of a project's start time in staging (its folder and hidden work folders). */
async function stagedOf(name: string, startTime: string): Promise<string[]> {
  return (await listTree(path.join(p.mountDir, 'staging', name))).filter((e) => e.includes(startTime));
}

async function sourceStatements(pattern: string): Promise<number> {
  const { rows } = await db.client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND query ILIKE $2`, [db.database, pattern]);
  return rows[0].n;
}

async function waitForNoSourceStatement(pattern: string): Promise<void> {
  for (let i = 0; (await sourceStatements(pattern)) > 0; i++) {
    assert.ok(i < 300, `a source statement like ${pattern} is still running`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('two publish replicas and two gateways on one platform database', () => {
  test('packages started through both gateways spread over both replicas, each runs once and publishes as a valid bag', GUARD, async () => {
    const startTime = '20250501_000001';
    const names = ['Spread1', 'Spread2', 'Spread3', 'Spread4', 'Spread5', 'Spread6'];
    const started = await Promise.all(names.map((name, i) => startPackage(p.gateways[i % 2]!, packageBody(name, startTime, ['medium', 'person']))));
    const jobs = await Promise.all(started.map((job, i) => succeeded(p.gateways[(i + 1) % 2]!, job.id)));
    assert.deepEqual(new Set(jobs.map((j) => j.replica)), new Set(['publish-1', 'publish-2']), `jobs ran on: ${jobs.map((j) => j.replica).join(', ')}`);

    // Each ran exactly once: one job_started and one package event (by the request that started it), on the replica the job names.
    const events = await p.auditEvents();
    for (const job of jobs) {
      const startedEvents = events.filter((e) => e.action === 'job_started' && e.job?.id === job.id);
      assert.equal(startedEvents.length, 1, `job ${job.id} started ${startedEvents.length} times`);
      assert.equal(startedEvents[0].job.replica, job.replica);
      const packaged = events.filter((e) => e.action === 'package' && e.request_id === job.requestId);
      assert.equal(packaged.length, 1, `job ${job.id} packaged ${packaged.length} times`);
      assert.equal(packaged[0].outcome, 'success');
      for (const { filePath } of job.packageResult.dataRetrieved) {
        assert.ok(existsSync(path.join(p.mountDir, 'staging', job.projectName, startTime, filePath)), `${job.projectName}: ${filePath} is staged`);
      }
    }

    // Published through either gateway (by either replica): each a valid bag holding what was staged.
    const publications = await Promise.all(names.map(async (name, i) => (await data(p.gateways[i % 2]!, START_PUBLISH, { r: graphqlInput(publishRequest(project(name, startTime))) })).startPublish));
    for (const [i, publication] of publications.entries()) {
      const job = await succeeded(p.gateways[i % 2]!, publication.id);
      const bag = await validateBag(path.join(p.mountDir, 'production', names[i]!, startTime));
      assert.deepEqual(bag.problems, [], names[i]);
      assert.equal(bag.valid, true);
      assert.deepEqual(job.publishResult.dataPublished.map((f: any) => f.filePath).sort(), jobs[i].packageResult.dataRetrieved.map((f: any) => f.filePath).sort());
    }
  });

  test('cancelJob through the gateway of the other replica stops a running package: source statement gone, staging clean, the project packages again', GUARD, async () => {
    const [name, startTime] = ['Cancelled', '20250501_000002'];
    const job = await startPackage(p.gateways[0], packageBody(name, startTime, ['slow']));
    const running = await until(p.gateways[0], job.id, (j) => j.state === 'RUNNING' && j.progress.some((t: any) => t.rows > 0), 'running with rows read');
    assert.ok((await sourceStatements('%slow%')) > 0, 'its source statement runs');
    assert.equal((await lockOf(name, startTime))?.job, job.id, 'the project lock names the job');

    // Sent to the replica that does NOT run it: it reaches the one that does.
    const { cancelJob } = await data(otherGateway(running.replica), CANCEL, { id: job.id });
    assert.equal(cancelJob.state, 'CANCELLED', JSON.stringify(cancelJob));
    assert.equal(cancelJob.error.code, 'JOB_CANCELLED');
    assert.equal(cancelJob.replica, running.replica);
    await waitForNoSourceStatement('%slow%');
    assert.deepEqual(await stagedOf(name, startTime), [], 'nothing of the cancelled package in staging');
    assert.equal(await lockOf(name, startTime), undefined, 'its lock is freed');
    const events = (await p.auditEvents()).filter((e) => e.job?.id === job.id);
    assert.deepEqual(events.map((e) => e.action).sort(), ['job_cancelled', 'job_finished', 'job_started']);

    const next = await succeeded(p.gateways[1], (await startPackage(p.gateways[1], packageBody(name, startTime, ['person']))).id);
    assert.deepEqual(next.packageResult.dataRetrieved.length, 1);
  });

  test('SIGKILL of the replica running a package: failed JOB_INTERRUPTED within the bound, lock and staging freed, nothing published, the other replica packages the project afresh', GUARD, async (t) => {
    const [name, startTime] = ['Killed', '20250501_000003'];
    const job = await startPackage(p.gateways[0], packageBody(name, startTime, ['slow']));
    const running = await until(p.gateways[0], job.id, (j) => j.state === 'RUNNING' && j.progress.some((tp: any) => tp.rows > 0), 'running with rows read');
    const victim = p.replica(running.replica);
    const survivorGateway = otherGateway(victim.name);
    const lock = await lockOf(name, startTime);
    assert.equal(lock?.job, job.id, 'the project lock names the job');
    assert.equal(lock?.host, victim.name, 'the lock names the replica (another host for the survivor)');
    assert.ok((await stagedOf(name, startTime)).some((e) => e.includes('.partial-')), 'the package is writing its hidden work folder');

    // A synchronous caller of the replica that is about to die.
    const syncCall = p.post(victim, '/data-publish/package', packageBody('KilledSync', startTime, ['slow'])).then(
      (answer) => ({ status: answer.status, text: answer.text }),
      (error: Error) => ({ status: 0, text: String(error.cause ?? error) }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));

    const killedAt = Date.now();
    await p.kill(victim);
    const sync = await syncCall;
    t.diagnostic(`the synchronous caller was answered ${Date.now() - killedAt} ms after the kill: ${sync.status}`);
    assert.equal(sync.status, 0, `the caller's connection ended with the replica (not a hang, not a success): ${sync.text}`);
    // Whatever the synchronous call left running is stopped (it may have become a job on the survivor).
    for (const node of (await data(survivorGateway, JOBS, { n: 'KilledSync', t: startTime })).jobs.nodes) {
      if (!FINAL.includes(node.state)) await data(survivorGateway, CANCEL, { id: node.id });
    }

    // Until the job is declared abandoned it still holds the project: another package is told which job.
    const busy = await refused(survivorGateway, START_PACKAGE, { r: graphqlInput(packageBody(name, startTime, ['person'])) });
    assert.equal(busy.code, 'PROJECT_BUSY');
    assert.ok(busy.detail.includes(job.id), busy.detail);

    // The CLI's retry of the same call, sent to the surviving replica: it attaches to the job and is answered when the job is declared failed.
    const survivor = p.publish.find((s) => s !== victim)!;
    const retry = await p.post(survivor, '/data-publish/package', packageBody(name, startTime, ['slow']));
    t.diagnostic(`the retry on the surviving replica was answered ${Date.now() - killedAt} ms after the kill: ${retry.status} ${retry.text}`);
    assert.equal(retry.status, 503, retry.text);
    assert.match(retry.body.payload.detail, new RegExp(`The package job ${job.id} did not finish`));

    const failed = await final(survivorGateway, job.id);
    const afterMs = Date.now() - killedAt;
    t.diagnostic(`declared abandoned ${afterMs} ms after the kill (JOB_ABANDONED_AFTER_MS ${ABANDONED_AFTER_MS}, JOB_HEARTBEAT_MS ${HEARTBEAT_MS})`);
    assert.equal(failed.state, 'FAILED');
    assert.equal(failed.error.code, 'JOB_INTERRUPTED');
    assert.equal(failed.error.status, 503);
    assert.match(failed.error.detail, new RegExp(`${victim.name} running it stopped sending heartbeats`));
    assert.match(failed.error.detail, /Nothing of it was published/);
    assert.ok(Date.parse(failed.finishedAt) - killedAt >= ABANDONED_AFTER_MS - HEARTBEAT_MS - 1_000, 'not declared abandoned before its bound');
    assert.ok(afterMs < ABANDONED_AFTER_MS + 60_000, 'declared abandoned within the bound (with room for a loaded machine)');

    // What it held is freed at once by the replica that declared it abandoned (not after the lock went stale).
    // (The lock is freed first, then the folder removed under a lock of the cleaner's own.)
    for (let i = 0; (await lockOf(name, startTime)) !== undefined || (await stagedOf(name, startTime)).length > 0; i++) {
      assert.ok(i < 100, `the dead job’s lock is freed and its hidden work folder removed: ${JSON.stringify({ lock: await lockOf(name, startTime), staged: await stagedOf(name, startTime) })}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(existsSync(path.join(p.mountDir, 'production', name)), false, 'nothing is published');
    const publish = await p.post(survivor, '/data-publish/publish', publishRequest(project(name, startTime)));
    assert.equal(publish.status, 409, publish.text);
    assert.equal(publish.body.status, 'error');
    assert.equal(existsSync(path.join(p.mountDir, 'production', name)), false, 'still nothing is published');

    // The next package of the project starts afresh on the surviving replica.
    const next = await succeeded(survivorGateway, (await startPackage(survivorGateway, packageBody(name, startTime, ['person']))).id);
    assert.equal(next.replica, survivor.name);
    assert.deepEqual(await readdir(path.join(p.mountDir, 'staging', name)), [startTime]);
    assert.ok((p.logs()).includes('freed what an abandoned job held'), 'the replica that noticed logged what it freed');

    await p.restart(victim);
    await data(ownGateway(victim.name), JOB, { id: job.id });
  });

  test('after a replica restarts, a project’s reports and validations are the same through both gateways', GUARD, async () => {
    const ref = project('Records', '20250501_000004');
    const src = sqlSource('postgresql', db.database);
    const described = await p.post(p.metadata, '/metadata/project', transferRequest(src, dataset('public', ['person']), ref));
    assert.equal(described.status, 200, described.text);
    const validated = await p.post(p.publish[0], '/data-publish/validate', accessRequest(src, ref));
    assert.equal(validated.status, 200, validated.text);
    await p.restart(p.publish[0]);
    const query = `{ project(projectName: "${ref.project_name}", projectStartTime: "${ref.project_start_time}") { metadataReports { metadata { tableCount tables { name columnCount } } } validations { outcome } } }`;
    const [a, b] = [await data(p.gateways[0], query, {}), await data(p.gateways[1], query, {})];
    assert.deepEqual(a, { project: { metadataReports: [{ metadata: { tableCount: 1, tables: [{ name: 'person', columnCount: 2 }] } }], validations: [{ outcome: 'success' }] } });
    assert.deepEqual(b, a);
  });
});
