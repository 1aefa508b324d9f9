/**
 * Jobs through the gateway's GraphQL (issue #17), over a real PostgreSQL
 * source: startPackage and startPublish answer a job at once, Query.job
 * follows it to its end and its result is what the synchronous mutation
 * answers; a project's jobs come in pages (Query.jobs, Project.jobs through
 * the federated entity), with clear 422s for a bad page size or cursor; the
 * same request attaches to the running job and any other is PROJECT_BUSY;
 * cancelJob stops a running package (its source statements gone, staging
 * clean, the project free). And the jobs seen from outside: their metrics,
 * their audit events and their progress log lines.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createPgDatabase, type TestPgDatabase } from '../support/databases.js';
import { listTree } from '../support/filestore-fs.js';
import { LogLines } from '../support/log-lines.js';
import { startPlatform, type Platform } from '../support/platform.js';
import { dataset, graphqlInput, publishRequest, sqlSource, transferRequest, writeSourceSecrets } from '../support/requests.js';

const PROGRESS_LOG_INTERVAL_MS = 200;
/** Rows of the slow view; each takes 10 ms to come, so it runs far longer than the test waits on it. */
const SLOW_ROWS = 6000;

const JOB_FIELDS = `id kind projectName projectStartTime state startedBy requestId createdAt startedAt finishedAt replica
  progress { table state rows bytes estimatedRows }
  packageResult { destinationType dataRetrieved { filePath tableName } }
  publishResult { destinationType dataPublished { filePath hashValue totalBytes } }
  error { code status detail }`;
const START_PACKAGE = `mutation Start($r: ProjectTransferRequest!) { startPackage(request: $r) { ${JOB_FIELDS} } }`;
const START_PUBLISH = `mutation Start($r: ProjectPublishRequest!) { startPublish(request: $r) { ${JOB_FIELDS} } }`;
const JOB = `query Job($id: ID!) { job(id: $id) { ${JOB_FIELDS} } }`;
const CANCEL = `mutation Cancel($id: ID!) { cancelJob(id: $id) { ${JOB_FIELDS} } }`;
const JOBS = `query Jobs($n: String!, $t: String!, $state: JobState, $kind: JobKind, $first: Int, $after: String) {
  jobs(projectName: $n, projectStartTime: $t, state: $state, kind: $kind, first: $first, after: $after) { nodes { id kind state } pageInfo { endCursor hasNextPage } }
}`;

let db: TestPgDatabase;
let platform: Platform;
const logs = new LogLines();

before(async () => {
  db = await createPgDatabase('jobs');
  await db.client.query(`
    CREATE TABLE person (id integer PRIMARY KEY, name text);
    CREATE TABLE cased ("Id" integer PRIMARY KEY, "id" text);
    INSERT INTO cased VALUES (1, 'one'), (2, 'two');
    INSERT INTO person SELECT g, 'person ' || g FROM generate_series(1, 25) AS g;
    CREATE VIEW slow AS SELECT g AS id, repeat('x', 100) || pg_sleep(0.01)::text AS pad FROM generate_series(1, ${SLOW_ROWS}) AS g;
  `);
  platform = await startPlatform({ env: { JOB_PROGRESS_LOG_INTERVAL_MS: String(PROGRESS_LOG_INTERVAL_MS) }, logStream: logs.stream });
  await writeSourceSecrets(platform, 'postgresql');
});

after(async () => {
  await platform?.close();
  await db?.drop();
});

const project = (startTime: string, name = 'JobsProject') => ({ project_name: name, project_start_time: startTime });
const packageBody = (startTime: string, tables: string[], name?: string) => transferRequest(sqlSource('postgresql', db.database), dataset('public', tables), project(startTime, name));

/** Runs an operation through the gateway; asserts it answered data without errors and gives the data. */
async function data(query: string, variables: Record<string, unknown>): Promise<any> {
  const answer = await platform.graphql(platform.gateway, query, variables);
  assert.equal(answer.body.errors, undefined, JSON.stringify(answer.body));
  assert.equal(answer.status, 200, answer.text);
  return answer.body.data;
}

/** Runs an operation expected to fail; gives its one error's extensions (code, status, detail). */
async function refused(query: string, variables: Record<string, unknown>): Promise<{ code: string; status: number; detail: string }> {
  const answer = await platform.graphql(platform.gateway, query, variables);
  assert.equal(answer.body.errors?.length, 1, JSON.stringify(answer.body));
  const { code, status, detail } = answer.body.errors[0].extensions;
  assert.equal(answer.body.errors[0].extensions.stacktrace, undefined);
  return { code, status, detail };
}

/** Asks Query.job until the job is in one of `states`, and gives it. */
async function until(id: string, states: string[], timeoutMs = 60_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { job } = await data(JOB, { id });
    assert.ok(job, `job ${id} is known`);
    if (states.includes(job.state)) return job;
    if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job.state)) assert.fail(`job ${id} ended ${job.state}, not ${states.join(' or ')}: ${JSON.stringify(job.error)}`);
    if (Date.now() > deadline) assert.fail(`job ${id} is still ${job.state}, not ${states.join(' or ')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function startPackage(body: unknown): Promise<any> {
  return (await data(START_PACKAGE, { r: graphqlInput(body as never) })).startPackage;
}

async function metricsText(): Promise<string> {
  return (await fetch(`${platform.publish}/metrics`)).text();
}

/** The sample lines of a metric (its name then `{` or a space). */
function samples(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe('jobs through GraphQL', () => {
  test('startPackage answers a job at once; Query.job follows it to SUCCEEDED with what packageProject answers', async () => {
    const body = packageBody('20250401_000001', ['person']);
    const started = await startPackage(body);
    assert.ok(['QUEUED', 'RUNNING', 'SUCCEEDED'].includes(started.state), started.state);
    assert.equal(started.kind, 'PACKAGE');
    assert.deepEqual([started.projectName, started.projectStartTime], ['JobsProject', '20250401_000001']);
    assert.equal(typeof started.startedBy, 'string');
    assert.ok(started.startedBy.length > 0);
    assert.ok(started.requestId.length > 0);
    assert.ok(!Number.isNaN(Date.parse(started.createdAt)));
    assert.equal(started.packageResult, null);
    assert.equal(started.error, null);

    const done = await until(started.id, ['SUCCEEDED', 'FAILED', 'CANCELLED']);
    assert.equal(done.state, 'SUCCEEDED', JSON.stringify(done.error));
    assert.equal(done.error, null);
    assert.equal(done.publishResult, null);
    assert.ok(Date.parse(done.finishedAt) >= Date.parse(done.startedAt));
    assert.equal(typeof done.replica, 'string');
    // Progress is a list of tables; each, when the pipeline reports it, with its figures.
    assert.ok(Array.isArray(done.progress));
    for (const t of done.progress) {
      assert.equal(t.table, 'person');
      assert.equal(t.state, 'DONE');
      assert.equal(t.rows, 25);
    }

    // The synchronous mutation, for the same request once the job is over, answers the same result.
    const sync = await data('mutation P($r: ProjectTransferRequest!) { packageProject(request: $r) { destinationType dataRetrieved { filePath tableName } } }', { r: graphqlInput(body) });
    assert.deepEqual(done.packageResult, sync.packageProject);
    assert.deepEqual(done.packageResult, { destinationType: 'filestore', dataRetrieved: [{ filePath: 'data/outputs/database.duckdb', tableName: null }] });
  });

  test('startPublish answers a job; it ends SUCCEEDED with each published file', async () => {
    const startTime = '20250401_000002';
    assert.equal((await until((await startPackage(packageBody(startTime, ['person']))).id, ['SUCCEEDED', 'FAILED'])).state, 'SUCCEEDED');
    const { startPublish } = await data(START_PUBLISH, { r: graphqlInput(publishRequest(project(startTime))) });
    assert.equal(startPublish.kind, 'PUBLISH');
    const done = await until(startPublish.id, ['SUCCEEDED', 'FAILED', 'CANCELLED']);
    assert.equal(done.state, 'SUCCEEDED', JSON.stringify(done.error));
    assert.equal(done.packageResult, null);
    assert.equal(done.publishResult.destinationType, 'filestore');
    const files = done.publishResult.dataPublished.map((f: { filePath: string }) => f.filePath);
    assert.ok(files.includes('data/outputs/database.duckdb'), files.join(', '));
    for (const f of done.publishResult.dataPublished) assert.match(f.hashValue, /^[0-9a-f]{128}$/);
    assert.deepEqual(done.progress, []);
  });

  test('Query.jobs pages a project’s jobs newest first, filters by state and kind; Project.jobs answers the same through the entity', async () => {
    const startTime = '20250401_000003';
    const ids: string[] = [];
    const pkg = () => startPackage(packageBody(startTime, ['person']));
    const pub = async () => (await data(START_PUBLISH, { r: graphqlInput(publishRequest(project(startTime))) })).startPublish;
    // Package twice, publish, then a package the published bag refuses (ALREADY_PUBLISHED): a failed job.
    for (const [start, ends] of [[pkg, 'SUCCEEDED'], [pkg, 'SUCCEEDED'], [pub, 'SUCCEEDED'], [pkg, 'FAILED']] as const) {
      const job = await start();
      const done = await until(job.id, [ends]);
      if (ends === 'FAILED') assert.equal(done.error.code, 'ALREADY_PUBLISHED');
      ids.push(job.id);
    }
    const newestFirst = [...ids].reverse();
    const vars = { n: 'JobsProject', t: startTime };
    const first = (await data(JOBS, { ...vars, first: 3 })).jobs;
    assert.deepEqual(first.nodes.map((j: { id: string }) => j.id), newestFirst.slice(0, 3));
    assert.deepEqual(first.nodes.map((j: { kind: string; state: string }) => `${j.kind} ${j.state}`), ['PACKAGE FAILED', 'PUBLISH SUCCEEDED', 'PACKAGE SUCCEEDED']);
    assert.equal(first.pageInfo.hasNextPage, true);
    const second = (await data(JOBS, { ...vars, first: 3, after: first.pageInfo.endCursor })).jobs;
    assert.deepEqual(second.nodes.map((j: { id: string }) => j.id), newestFirst.slice(3));
    assert.equal(second.pageInfo.hasNextPage, false);
    // The default page holds them all; filters, alone and together.
    assert.deepEqual((await data(JOBS, vars)).jobs.nodes.map((j: { id: string }) => j.id), newestFirst);
    assert.deepEqual((await data(JOBS, { ...vars, kind: 'PUBLISH' })).jobs.nodes.map((j: { id: string }) => j.id), [ids[2]]);
    assert.deepEqual((await data(JOBS, { ...vars, state: 'FAILED' })).jobs.nodes.map((j: { id: string }) => j.id), [ids[3]]);
    const succeededPackages = (await data(JOBS, { ...vars, state: 'SUCCEEDED', kind: 'PACKAGE', first: 1 })).jobs;
    assert.deepEqual(succeededPackages.nodes.map((j: { id: string }) => j.id), [ids[1]]);
    assert.equal(succeededPackages.pageInfo.hasNextPage, true);
    assert.deepEqual((await data(JOBS, { ...vars, state: 'SUCCEEDED', kind: 'PACKAGE', after: succeededPackages.pageInfo.endCursor })).jobs.nodes.map((j: { id: string }) => j.id), [ids[0]]);
    assert.deepEqual((await data(JOBS, { ...vars, state: 'CANCELLED' })).jobs, { nodes: [], pageInfo: { endCursor: null, hasNextPage: false } });
    // Another start time's jobs are not this one's.
    assert.deepEqual((await data(JOBS, { ...vars, t: '20250401_000009' })).jobs.nodes, []);

    // Through the federated Project entity (Query.project is the metadata subgraph's, its jobs the publish subgraph's).
    const entity = await data(
      `query P($n: String!, $t: String!) { project(projectName: $n, projectStartTime: $t) { projectName jobs(first: 2, kind: PACKAGE) { nodes { id kind state } pageInfo { hasNextPage } } } }`,
      vars,
    );
    assert.deepEqual(entity.project.jobs, { nodes: [{ id: ids[3], kind: 'PACKAGE', state: 'FAILED' }, { id: ids[1], kind: 'PACKAGE', state: 'SUCCEEDED' }], pageInfo: { hasNextPage: true } });
  });

  test('a bad page size or cursor is the caller’s mistake (422), named; an unknown job is null, cancelling one is JOB_NOT_FOUND', async () => {
    const vars = { n: 'JobsProject', t: '20250401_000003' };
    for (const first of [0, 101, -1]) {
      const e = await refused(JOBS, { ...vars, first });
      assert.equal(e.code, 'BAD_USER_INPUT');
      assert.equal(e.status, 422);
      assert.match(e.detail, /first: must be 1 to 100/);
    }
    for (const after of ['not a cursor', 'eyJzZXEiOiJ4In0', 'x'.repeat(600)]) {
      const e = await refused(JOBS, { ...vars, after });
      assert.equal(e.code, 'BAD_USER_INPUT', JSON.stringify(e));
      assert.equal(e.status, 422);
      assert.match(e.detail, /is not a cursor a page of jobs answered/);
    }
    const badProject = await refused(JOBS, { n: 'has space', t: '2025' });
    assert.equal(badProject.status, 422);
    assert.match(badProject.detail, /project_name: .*project_start_time: must be YYYYMMDD_HHMMSS/);
    const entity = await refused(`query { project(projectName: "JobsProject", projectStartTime: "20250401_000003") { jobs(first: 500) { nodes { id } } } }`, {});
    assert.equal(entity.status, 422);

    assert.deepEqual(await data(JOB, { id: '00000000-0000-4000-8000-000000000000' }), { job: null });
    assert.deepEqual(await data(JOB, { id: 'not an id' }), { job: null });
    const unknown = await refused(CANCEL, { id: '00000000-0000-4000-8000-000000000000' });
    assert.deepEqual([unknown.code, unknown.status], ['JOB_NOT_FOUND', 404]);
    assert.match(unknown.detail, /No job has the id '00000000-0000-4000-8000-000000000000'/);
  });

  test('a running package: the same request attaches, another is PROJECT_BUSY; seen in /metrics and the log; cancelJob stops it, then the project packages again', { timeout: 120_000 }, async () => {
    const startTime = '20250401_000004';
    const body = packageBody(startTime, ['slow']);
    const job = await startPackage(body);
    await until(job.id, ['RUNNING']);

    // Attach: the same request answers the same job; another request for the project is refused.
    assert.equal((await startPackage(body)).id, job.id);
    const busy = await refused(START_PACKAGE, { r: graphqlInput(packageBody(startTime, ['person'])) });
    assert.deepEqual([busy.code, busy.status], ['PROJECT_BUSY', 409]);
    assert.ok(busy.detail.includes(job.id), busy.detail);
    const busyPublish = await refused(START_PUBLISH, { r: graphqlInput(publishRequest(project(startTime))) });
    assert.equal(busyPublish.code, 'PROJECT_BUSY');

    // While it runs: its series in /metrics, the running count, and progress lines in the log at the set rate.
    const running = await metricsText();
    const rows = samples(running, 'cr8tor_job_rows').filter((l) => l.includes(`job_id="${job.id}"`));
    assert.equal(rows.length, 1, running);
    assert.match(rows[0]!, /kind="package"/);
    assert.match(rows[0]!, /project="JobsProject"/);
    assert.match(rows[0]!, new RegExp(`start_time="${startTime}"`));
    assert.equal(samples(running, 'cr8tor_job_bytes').filter((l) => l.includes(`job_id="${job.id}"`)).length, 1);
    assert.ok(samples(running, 'cr8tor_jobs').some((l) => /state="running"/.test(l) && / 1$/.test(l)), samples(running, 'cr8tor_jobs').join('\n'));
    const progressLines = async () => logs.lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'job progress' && l.job_id === job.id);
    for (let i = 0; (await progressLines()).length < 2; i++) {
      assert.ok(i < 200, 'two progress lines within 20 s');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const line = (await progressLines())[0];
    assert.equal(line.project, 'JobsProject');
    assert.equal(line.start_time, startTime);
    assert.ok(Array.isArray(line.tables));
    assert.equal(typeof line.rows, 'number');
    assert.equal(typeof line.bytes, 'number');

    // Cancel: it answers the final state, the source statement is gone, staging is clean, the project is free.
    const { cancelJob } = await data(CANCEL, { id: job.id });
    assert.equal(cancelJob.id, job.id);
    assert.equal(cancelJob.state, 'CANCELLED');
    assert.equal(cancelJob.error.code, 'JOB_CANCELLED');
    assert.equal(cancelJob.error.status, 409);
    assert.ok(cancelJob.finishedAt);
    assert.deepEqual(await data(JOB, { id: job.id }).then((d) => d.job.state), 'CANCELLED');
    // Cancelling it again answers it as it is.
    assert.equal((await data(CANCEL, { id: job.id })).cancelJob.state, 'CANCELLED');
    for (let i = 0; ; i++) {
      const { rows: active } = await db.client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND query ILIKE '%slow%'`, [db.database]);
      if (active[0].n === 0) break;
      assert.ok(i < 100, 'the source statement ended');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const staged = (await listTree(path.join(platform.mountDir, 'staging', 'JobsProject'))).filter((e) => e.includes(startTime));
    assert.deepEqual(staged, [], 'nothing of the cancelled package in staging');

    const after = await metricsText();
    assert.deepEqual(samples(after, 'cr8tor_job_rows').filter((l) => l.includes(job.id)), [], 'its series are gone');
    assert.deepEqual(samples(after, 'cr8tor_job_bytes').filter((l) => l.includes(job.id)), []);
    assert.ok(samples(after, 'cr8tor_job_duration_seconds_count').some((l) => /kind="package"/.test(l) && /outcome="cancelled"/.test(l) && !/ 0$/.test(l)), after);
    assert.ok(samples(after, 'cr8tor_job_duration_seconds_count').some((l) => /kind="package"/.test(l) && /outcome="succeeded"/.test(l)), after);
    assert.ok(samples(after, 'cr8tor_jobs').some((l) => /state="cancelled"/.test(l) && / 1$/.test(l)));

    // The audit trail: started, cancelled (by the key that asked), finished (state and duration).
    const events = (await platform.auditEvents()).filter((e) => e.job?.id === job.id);
    assert.deepEqual(events.map((e) => e.action), ['job_started', 'job_cancelled', 'job_finished']);
    const [startedEvent, cancelled, finished] = events;
    for (const e of events) {
      assert.equal(e.service, 'publish');
      assert.deepEqual(e.job, { id: job.id, kind: 'package', project: { name: 'JobsProject', start_time: startTime }, request_id: job.requestId, replica: cancelJob.replica });
    }
    assert.equal(startedEvent.key_id, job.startedBy);
    assert.equal(cancelled.key_id, job.startedBy, 'the same key cancelled it');
    assert.equal(cancelled.state, 'running', 'it was running when the cancellation was asked');
    assert.equal(finished.state, 'cancelled');
    assert.equal(finished.code, 'JOB_CANCELLED');
    assert.equal(typeof finished.duration_ms, 'number');
    // The package itself is audited as a data access, as before: ended by the cancellation.
    const access = (await platform.auditEvents()).filter((e) => e.action === 'package' && e.request_id === job.requestId);
    assert.deepEqual(access.map((e) => [e.outcome, e.code]), [['error', 'JOB_CANCELLED']]);
    // And logged: started, finished.
    const jobLines = logs.lines.map((l) => JSON.parse(l)).filter((l) => l.job_id === job.id);
    assert.ok(jobLines.some((l) => l.msg === 'job started'));
    assert.ok(jobLines.some((l) => l.msg === 'job finished' && l.state === 'cancelled' && typeof l.duration_ms === 'number'));

    const again = await startPackage(packageBody(startTime, ['person']));
    assert.notEqual(again.id, job.id);
    assert.equal((await until(again.id, ['SUCCEEDED', 'FAILED', 'CANCELLED'])).state, 'SUCCEEDED');
  });

  test('a package that warns: packageProject and the job answer its warnings in GraphQL; REST answers the contract payload alone', async () => {
    // DuckDB does not tell apart "Id" and "id": the second is stored under another name, which the package warns about.
    const warned = [`Column 'id' of table 'cased' is stored as 'id~2': DuckDB does not tell apart names differing only in case.`];
    const sync = await data('mutation P($r: ProjectTransferRequest!) { packageProject(request: $r) { destinationType warnings } }', { r: graphqlInput(packageBody('20250401_000006', ['cased'])) });
    assert.deepEqual(sync.packageProject, { destinationType: 'filestore', warnings: warned });
    const job = await until((await startPackage(packageBody('20250401_000007', ['cased']))).id, ['SUCCEEDED']);
    const { job: read } = await data('query Job($id: ID!) { job(id: $id) { packageResult { warnings } } }', { id: job.id });
    assert.deepEqual(read.packageResult.warnings, warned);
    // REST, through the gateway and on the publish service itself: the contract's payload, no more.
    for (const [base, route, startTime] of [[platform.gateway, '/project/package', '20250401_000008'], [platform.publish, '/data-publish/package', '20250401_000010']] as const) {
      const rest = await platform.post(base, route, packageBody(startTime, ['cased']));
      assert.equal(rest.status, 200, rest.text);
      assert.equal(rest.text, JSON.stringify({ status: 'success', payload: { destination_type: 'filestore', data_retrieved: [{ file_path: 'data/outputs/database.duckdb' }] } }), route);
    }
    // A package without warnings answers an empty list; so does its publication.
    const clean = await data('mutation P($r: ProjectTransferRequest!) { packageProject(request: $r) { warnings } }', { r: graphqlInput(packageBody('20250401_000009', ['person'])) });
    assert.deepEqual(clean.packageProject.warnings, []);
    const published = await data('mutation P($r: ProjectPublishRequest!) { publishProject(request: $r) { destinationType warnings } }', { r: graphqlInput(publishRequest(project('20250401_000009'))) });
    assert.deepEqual(published.publishProject, { destinationType: 'filestore', warnings: [] });
  });

  test('a successful job leaves its audit trail: job_started and job_finished (succeeded, with its duration) around the package event', async () => {
    const job = await startPackage(packageBody('20250401_000005', ['person']));
    await until(job.id, ['SUCCEEDED']);
    const events = (await platform.auditEvents()).filter((e) => e.job?.id === job.id || (e.action === 'package' && e.request_id === job.requestId));
    assert.deepEqual(events.map((e) => e.action), ['job_started', 'package', 'job_finished']);
    assert.equal(events[1].outcome, 'success');
    assert.equal(events[1].key_id, job.startedBy);
    assert.equal(events[2].state, 'succeeded');
    assert.equal(events[2].code, undefined);
    assert.ok(events[2].duration_ms >= 0);
  });
});
