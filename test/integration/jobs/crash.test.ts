/**
 * A publish replica killed mid-job (SIGKILL of a process running the
 * PostgreSQL job engine): another replica sees its heartbeats stop, marks the
 * job failed JOB_INTERRUPTED naming the dead replica within the abandonment
 * bound, fails its queue entry (never retried), tells the service once (its
 * onAbandoned hook, on whichever replica declared it) so that what the job
 * held is freed, and then takes and runs the next job for the same project.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Job } from '../../../lib/contract/jobs.js';
import type { JobEngine, JobRequest } from '../../../lib/jobs/engine.js';
import { eventually, FAST, HeldHandlers, openJobStore, packageJob, submission, type JobStore } from '../../support/job-engine.js';

const CHILD = fileURLToPath(new URL('../../support/job-engine-child.ts', import.meta.url));

let js: JobStore;
let survivor: JobEngine;
let child: ChildProcess | undefined;

before(async () => {
  js = await openJobStore('jobs_crash');
  survivor = await js.engine('replica-survivor');
});
after(async () => {
  child?.kill('SIGKILL');
  await js?.drop();
});

/** The child's JSON lines, one at a time. */
function linesOf(p: ChildProcess): () => Promise<Record<string, unknown>> {
  const lines = createInterface({ input: p.stdout! })[Symbol.asyncIterator]();
  return async () => {
    const next = await lines.next();
    if (next.done) throw new Error('the child ended');
    return JSON.parse(next.value as string) as Record<string, unknown>;
  };
}

test('SIGKILL of the replica running a job: another marks it failed JOB_INTERRUPTED within the bound, then runs the next job of the project', async (t) => {
  let stderr = '';
  child = spawn(process.execPath, ['--import', 'tsx', CHILD, js.db.database, 'replica-doomed'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const next = linesOf(child);
  assert.deepEqual(await next().catch((e: Error) => assert.fail(`${e.message}: ${stderr}`)), { ready: true });
  // The survivor queues the job but does not run jobs yet: the child's worker takes it.
  const { job } = await survivor.submit(submission(packageJob('Crash1')));
  assert.deepEqual(await next(), { started: job.id });
  const runningThere = await eventually(async () => {
    const j = await survivor.get(job.id);
    return j?.progress.length ? j : undefined;
  }, 'the child persisted progress');
  assert.deepEqual([runningThere.state, runningThere.replica], ['running', 'replica-doomed']);

  const killedAt = Date.now();
  child.kill('SIGKILL');
  await new Promise((resolve) => child!.once('exit', resolve));
  const held = new HeldHandlers();
  // Two replicas sweep: the job is declared abandoned, and the service told, once.
  const abandoned: Array<{ replica: string; job: string; state: string; project: string }> = [];
  const onAbandoned = (replica: string) => async (j: Job, request: JobRequest) => {
    abandoned.push({ replica, job: j.id, state: j.state, project: request.request.project_name });
  };
  const bystander = await js.engine('replica-bystander');
  await bystander.start(new HeldHandlers().handler, { onAbandoned: onAbandoned('replica-bystander') });
  await survivor.start(held.handler, { onAbandoned: onAbandoned('replica-survivor') });

  const failed = await survivor.wait(job.id);
  const seenAfterMs = Date.now() - killedAt;
  t.diagnostic(`abandonment seen ${seenAfterMs} ms after the kill (JOB_ABANDONED_AFTER_MS ${FAST.abandonedAfterMs}, heartbeat ${FAST.heartbeatMs})`);
  assert.deepEqual([failed.state, failed.error?.code, failed.error?.status], ['failed', 'JOB_INTERRUPTED', 503]);
  assert.match(failed.error!.detail, new RegExp(`^The package job ${job.id} did not finish: the publish replica replica-doomed running it stopped sending heartbeats at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\. Nothing of it was published; send the call again\\.$`));
  assert.deepEqual(failed.progress, [{ table: 'person', state: 'running', rows: 3, bytes: 300, estimated_rows: 10 }]);
  // Generous: the bound plus a heartbeat, plus slack for a loaded machine.
  assert.ok(seenAfterMs < FAST.abandonedAfterMs! + FAST.heartbeatMs! + 15_000, `${seenAfterMs} ms`);
  assert.equal(held.calls.length, 0, 'the killed job is never run again');
  await eventually(async () => abandoned.length > 0, 'the service was told');
  await new Promise((resolve) => setTimeout(resolve, 3 * FAST.heartbeatMs!));
  assert.equal(abandoned.length, 1, JSON.stringify(abandoned));
  assert.deepEqual({ ...abandoned[0], replica: undefined }, { replica: undefined, job: job.id, state: 'failed', project: 'Crash1' });
  await bystander.close();
  // Its queue entry is failed right after (not retried: retry_count stays 0, and no handler ran it again).
  const entry = async () => (await js.db.client.query(`SELECT state::text, retry_count FROM cr8tor_queue.job WHERE id = $1`, [job.id])).rows;
  await eventually(async () => (await entry())[0]?.state === 'failed', 'the queue entry failed');
  assert.deepEqual(await entry(), [{ state: 'failed', retry_count: 0 }]);

  const again = await survivor.submit(submission(packageJob('Crash1')));
  assert.equal(again.attached, false);
  await held.arrived(1);
  assert.equal(held.calls[0]!.context.job.id, again.job.id);
  held.release(again.job.id, { result: { status: 'success' } });
  const done = await survivor.wait(again.job.id);
  assert.deepEqual([done.state, done.replica], ['succeeded', 'replica-survivor']);
  assert.equal(held.calls.length, 1);
});

test('a queue entry taken by a replica that died before it marked the job running is handed back to the queue and run once', async () => {
  const own = await openJobStore('jobs_stuck');
  try {
    const engine = await own.engine('replica-late');
    const { job } = await engine.submit(submission(packageJob('Stuck1')));
    // What a replica killed between pg-boss's fetch and the job's start leaves: the entry active, the job queued.
    await own.db.client.query(`UPDATE cr8tor_queue.job SET state = 'active', started_on = now() - interval '1 minute' WHERE id = $1`, [job.id]);
    await own.db.client.query(`UPDATE cr8tor_platform.jobs SET created_at = now() - interval '1 minute' WHERE id = $1`, [job.id]);
    const held = new HeldHandlers();
    await engine.start(held.handler);
    await held.arrived(1);
    held.release(job.id, { result: {} });
    assert.equal((await engine.wait(job.id)).state, 'succeeded');
    assert.equal(held.calls.length, 1);
  } finally {
    await own.drop();
  }
});
