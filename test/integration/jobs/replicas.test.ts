/**
 * Two PostgreSQL job engines ("replicas") on one platform store: jobs spread
 * across both, none runs twice, a cancellation sent to one reaches the job the
 * other runs, a lost LISTEN connection is replaced, and a queued job whose
 * queue entry vanished does not stay queued.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { AppError } from '../../../lib/errors.js';
import type { JobEngine, JobRequest } from '../../../lib/jobs/engine.js';
import { eventually, HeldHandlers, openJobStore, packageJob, submission, type JobStore } from '../../support/job-engine.js';

let js: JobStore;
let a: JobEngine;
let b: JobEngine;
const onA = new HeldHandlers();
const onB = new HeldHandlers();

before(async () => {
  js = await openJobStore('jobs_replicas');
  a = await js.engine('replica-a');
  b = await js.engine('replica-b');
  await a.start(onA.handler);
  await b.start(onB.handler);
});
after(async () => js?.drop());

const holderOf = (id: string) => (onA.calls.some((c) => c.context.job.id === id) ? onA : onB);

describe('two replicas', () => {
  test('jobs spread across both (each runs at most its JOBS_CONCURRENCY), and none runs twice', async () => {
    // Four held jobs, all submitted on A: A runs two (its concurrency), B the other two.
    const jobs = await Promise.all(['Spread1', 'Spread2', 'Spread3', 'Spread4'].map(async (p) => (await a.submit(submission(packageJob(p)))).job));
    await eventually(async () => onA.calls.length + onB.calls.length === 4, 'four jobs running');
    assert.equal(onA.calls.length, 2);
    assert.equal(onB.calls.length, 2);
    const ran = [...onA.calls, ...onB.calls].map((c) => c.context.job.id).sort();
    assert.deepEqual(ran, jobs.map((j) => j.id).sort());
    for (const j of jobs) {
      const replica = holderOf(j.id) === onA ? 'replica-a' : 'replica-b';
      assert.equal((await b.get(j.id))?.replica, replica);
      holderOf(j.id).release(j.id, { result: { by: replica } });
    }
    for (const j of jobs) assert.equal((await a.wait(j.id)).state, 'succeeded');
  });

  test('many short jobs submitted on both: each handler invocation is a different job, and each job ends once', async () => {
    const invocations = new Map<string, number>();
    const before = [onA.calls.length, onB.calls.length];
    const jobs = await Promise.all(
      Array.from({ length: 16 }, async (_, i) => (await (i % 2 ? a : b).submit(submission(packageJob(`Many${i}`), 'key-many', `req-${i}`))).job),
    );
    // Released as soon as they arrive.
    await eventually(
      async () => {
        for (const c of [...onA.calls.slice(before[0]), ...onB.calls.slice(before[1])]) {
          if (invocations.has(c.context.job.id)) continue;
          invocations.set(c.context.job.id, 1);
          holderOf(c.context.job.id).release(c.context.job.id, { result: {} });
        }
        return invocations.size === jobs.length;
      },
      'every job ran',
    );
    const all = [...onA.calls.slice(before[0]), ...onB.calls.slice(before[1])].map((c) => c.context.job.id);
    assert.equal(all.length, jobs.length, 'no job reached a handler twice');
    assert.equal(new Set(all).size, jobs.length);
    for (const j of jobs) assert.equal((await a.wait(j.id)).state, 'succeeded');
    // pg-boss completes each entry once the handler's run is over (just after the job's end is recorded).
    const entries = async () => (await js.db.client.query(`SELECT state::text, count(*)::int AS n FROM cr8tor_queue.job WHERE id = ANY($1::uuid[]) GROUP BY state`, [jobs.map((j) => j.id)])).rows;
    await eventually(async () => (await entries()).length === 1, 'every queue entry completed');
    assert.deepEqual(await entries(), [{ state: 'completed', n: jobs.length }]);
  });

  test('a cancellation sent to one replica reaches the job the other runs, and records who asked', async () => {
    const { job } = await a.submit(submission(packageJob('CrossCancel')));
    await eventually(async () => (await a.get(job.id))?.state === 'running', 'running');
    const holder = holderOf(job.id);
    const [here, there] = holder === onA ? [a, b] : [b, a];
    const answer = await there.cancel(job.id, 'key-operator');
    assert.equal(answer.state, 'cancelled');
    assert.match(answer.error!.detail, /cancelled by key 'key-operator'/);
    const reason = holder.context(job.id).signal.reason as AppError;
    assert.ok(reason instanceof AppError && reason.code === 'JOB_CANCELLED');
    assert.deepEqual(await here.get(job.id), answer);
    const { rows } = await js.db.client.query('SELECT cancel_requested_by, replica FROM cr8tor_platform.jobs WHERE id = $1', [job.id]);
    assert.deepEqual(rows[0], { cancel_requested_by: 'key-operator', replica: holder === onA ? 'replica-a' : 'replica-b' });
  });

  test('a lost LISTEN connection is replaced, and a cancellation still reaches the other replica', async () => {
    const listeners = async () =>
      (await js.db.client.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN "cr8tor_jobs"' AND pid <> pg_backend_pid()`)).rows.map((r) => r.pid);
    const first = await listeners();
    assert.equal(first.length, 2);
    await js.db.client.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [first]);
    const second = await eventually(async () => {
      const now = await listeners();
      return now.length === 2 && now.every((p) => !first.includes(p)) ? now : undefined;
    }, 'both replicas listen again');
    assert.equal(second.length, 2);
    const { job } = await b.submit(submission(packageJob('AfterRelisten')));
    await eventually(async () => (await b.get(job.id))?.state === 'running', 'running');
    const holder = holderOf(job.id);
    const other = holder === onA ? b : a;
    assert.equal((await other.cancel(job.id, 'key-again')).state, 'cancelled');
  });

  test('a cancellation whose notification never arrives is still seen by the heartbeat of the replica running the job', async () => {
    const { job } = await a.submit(submission(packageJob('SilentCancel')));
    await eventually(async () => (await a.get(job.id))?.state === 'running', 'running');
    // The request recorded without the trigger's notification: only the running replica's heartbeat can see it.
    await js.db.client.query('ALTER TABLE cr8tor_platform.jobs DISABLE TRIGGER jobs_notify_update');
    try {
      await js.db.client.query(`UPDATE cr8tor_platform.jobs SET cancel_requested_at = now(), cancel_requested_by = 'key-quiet' WHERE id = $1`, [job.id]);
      const ended = await a.wait(job.id);
      assert.equal(ended.state, 'cancelled');
      assert.match(ended.error!.detail, /cancelled by key 'key-quiet'/);
    } finally {
      await js.db.client.query('ALTER TABLE cr8tor_platform.jobs ENABLE TRIGGER jobs_notify_update');
    }
  });

  test('a queued job whose queue entry vanished is failed JOB_INTERRUPTED, not left queued', async () => {
    const id = randomUUID();
    const job: JobRequest = packageJob('LostEntry');
    await js.db.client.query(
      `INSERT INTO cr8tor_platform.jobs (id, kind, project_name, project_start_time, fingerprint, request, started_by, request_id, created_at)
       VALUES ($1, 'package', 'LostEntry', '20250205_010101', 'f', $2, 'key-lost', 'req-lost', now() - interval '1 minute')`,
      [id, JSON.stringify(job.request)],
    );
    const ended = await a.wait(id);
    assert.deepEqual([ended.state, ended.error?.code], ['failed', 'JOB_INTERRUPTED']);
    assert.match(ended.error!.detail, /its entry in the queue was lost before a publish replica started it/);
    // And the project is free again.
    const next = await a.submit(submission(job));
    assert.equal(next.attached, false);
    await eventually(async () => (await a.get(next.job.id))?.state === 'running', 'running');
    holderOf(next.job.id).release(next.job.id, { result: {} });
    assert.equal((await a.wait(next.job.id)).state, 'succeeded');
  });
});
