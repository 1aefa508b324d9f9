/**
 * The PostgreSQL job engine (lib/jobs/postgres) on one replica, in a database
 * of this file's own: a job is queued, run and recorded with its result, its
 * error envelope, its progress; one job per project and start time (the same
 * request attaches, another is PROJECT_BUSY); cancellation; paging; close.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Job } from '../../../lib/contract/jobs.js';
import { AppError } from '../../../lib/errors.js';
import type { JobEngine } from '../../../lib/jobs/engine.js';
import { eventually, FAST, isAppErrorWith, HeldHandlers, openJobStore, packageJob, publishJob, submission, type JobStore } from '../../support/job-engine.js';

let js: JobStore;
let engine: JobEngine;
const held = new HeldHandlers();

before(async () => {
  js = await openJobStore('jobs_engine');
  engine = await js.engine('replica-a');
  await engine.start(held.handler);
});
after(async () => js?.drop());

const running = (id: string) => eventually(async () => (await engine.get(id))?.state === 'running', `job ${id} running`);

describe('a job, start to end', () => {
  test('queued, run by a handler with the request, succeeded with its result; timings and replica recorded', async () => {
    const { job, attached } = await engine.submit(submission(packageJob('Run1'), 'key-run', 'req-run'));
    assert.equal(attached, false);
    assert.deepEqual([job.state, job.kind, job.project_name, job.started_by, job.request_id, job.replica, job.started_at], ['queued', 'package', 'Run1', 'key-run', 'req-run', null, null]);
    await held.arrived(1);
    const call = held.calls.at(-1)!;
    assert.deepEqual(call.job, packageJob('Run1'));
    assert.equal(call.context.job.id, job.id);
    assert.equal(call.context.job.state, 'running');
    const result = { status: 'success', payload: { files: ['a.csv'] } };
    held.release(job.id, { result });
    const done = await engine.wait(job.id);
    assert.equal(done.state, 'succeeded');
    assert.deepEqual(done.package_result, result);
    assert.equal(done.publish_result, null);
    assert.equal(done.error, null);
    assert.equal(done.replica, 'replica-a');
    assert.ok(done.started_at && done.finished_at && done.created_at <= done.started_at && done.started_at <= done.finished_at);
  });

  test('a handler that throws an AppError: failed with its envelope; anything else: INTERNAL, never a stack', async () => {
    const a = (await engine.submit(submission(publishJob('Fail1')))).job;
    await running(a.id);
    held.release(a.id, { error: new AppError('NOTHING_TO_PUBLISH', 'Nothing to publish for Fail1.') });
    const failed = await engine.wait(a.id);
    assert.equal(failed.state, 'failed');
    assert.deepEqual(failed.error, { code: 'NOTHING_TO_PUBLISH', status: 409, detail: 'Nothing to publish for Fail1.' });
    assert.equal(failed.publish_result, null);

    const b = (await engine.submit(submission(publishJob('Fail2')))).job;
    await running(b.id);
    held.release(b.id, { error: new TypeError('x is undefined at /srv/app/secret-path.ts:12') });
    const internal = await engine.wait(b.id);
    assert.deepEqual(internal.error, { code: 'INTERNAL', status: 500, detail: 'Internal error; the service log has the details.' });
    const { rows } = await js.db.client.query('SELECT error::text AS e FROM cr8tor_platform.jobs WHERE id = $1', [b.id]);
    assert.doesNotMatch(rows[0].e, /secret-path|TypeError|at /);
  });

  test('the stored request names secrets, never their values', async () => {
    const { job } = await engine.submit(submission(packageJob('Secrets1')));
    // The handler resolves the secret (as a package does) and uses it; nothing of it reaches the store.
    await running(job.id);
    const secretValue = 'S3cret-Value-Never-Stored';
    held.context(job.id).log.info({ password: secretValue }, 'connecting');
    held.release(job.id, { result: { status: 'success' } });
    await engine.wait(job.id);
    const { rows } = await js.db.client.query(`SELECT row_to_json(j)::text AS t, request FROM cr8tor_platform.jobs j WHERE id = $1`, [job.id]);
    assert.deepEqual(rows[0].request.source.credentials, { provider: 'AzureKeyVault', username_key: 'pg-user', password_key: 'pg-password' });
    assert.deepEqual(rows[0].request, JSON.parse(JSON.stringify(packageJob('Secrets1').request)));
    const queue = await js.db.client.query(`SELECT coalesce(string_agg(row_to_json(q)::text, ''), '') AS t FROM cr8tor_queue.job q`);
    for (const text of [rows[0].t, queue.rows[0].t]) assert.ok(!text.includes(secretValue));
  });

  test('an id that is not one is no job; an unknown one is NOT_FOUND for wait and cancel', async () => {
    assert.equal(await engine.get('not-a-uuid'), undefined);
    assert.equal(await engine.get("'; DROP TABLE x; --"), undefined);
    assert.equal(await engine.get('00000000-0000-4000-8000-000000000000'), undefined);
    await assert.rejects(engine.wait('00000000-0000-4000-8000-000000000000'), isAppErrorWith('JOB_NOT_FOUND', 404));
    await assert.rejects(engine.cancel('nope', 'key-x'), isAppErrorWith('JOB_NOT_FOUND', 404));
    await assert.rejects(engine.cancel('00000000-0000-4000-8000-000000000000', 'key-x'), isAppErrorWith('JOB_NOT_FOUND', 404));
  });
});

describe('one job per project and start time', () => {
  test('concurrent submissions: one queues; the same request attaches to it, another request is PROJECT_BUSY naming it', async () => {
    const same = Array.from({ length: 6 }, (_, i) => engine.submit(submission(packageJob('Busy1'), `key-${i}`, `req-${i}`)));
    const other = [engine.submit(submission(packageJob('Busy1', undefined, ['other_table']))), engine.submit(submission(publishJob('Busy1')))];
    const answers = await Promise.allSettled([...same, ...other]);
    const ok = answers.slice(0, 6).map((a) => (a.status === 'fulfilled' ? a.value : assert.fail(String((a as PromiseRejectedResult).reason))));
    assert.equal(ok.filter((s) => !s.attached).length, 1);
    const id = ok.find((s) => !s.attached)!.job.id;
    assert.ok(ok.every((s) => s.job.id === id));
    for (const refused of answers.slice(6)) {
      assert.equal(refused.status, 'rejected');
      const error = (refused as PromiseRejectedResult).reason as AppError;
      assert.ok(isAppErrorWith('PROJECT_BUSY', 409)(error));
      assert.match(error.detail, new RegExp(`^Project 'Busy1' \\(start time 20250205_010101\\) is busy: its package job ${id} is (queued|running)\\.`));
    }
    const { rows } = await js.db.client.query("SELECT count(*)::int AS n FROM cr8tor_platform.jobs WHERE project_name = 'Busy1'");
    assert.equal(rows[0].n, 1);
    // Another start time of the same project is another key.
    const otherTime = await engine.submit(submission(packageJob('Busy1', '20250205_020202')));
    assert.equal(otherTime.attached, false);
    await running(id);
    // Attaching while it runs, too.
    assert.deepEqual((await engine.submit(submission(packageJob('Busy1')))).job.id, id);
    held.release(id, { result: {} });
    await engine.wait(id);
    await running(otherTime.job.id);
    held.release(otherTime.job.id, { result: {} });
    await engine.wait(otherTime.job.id);
    // Once it ended, the project is free: a new job, not an attachment to the old one.
    const again = await engine.submit(submission(packageJob('Busy1')));
    assert.equal(again.attached, false);
    assert.notEqual(again.job.id, id);
    await running(again.job.id);
    held.release(again.job.id, { result: {} });
    await engine.wait(again.job.id);
  });
});

describe('progress', () => {
  test('live from get() on the replica running it, persisted at the heartbeat for the others, and kept at its end', async () => {
    const { job } = await engine.submit(submission(packageJob('Prog1')));
    await running(job.id);
    const tracker = held.context(job.id).progress;
    tracker.plan([
      { table: 'person', estimatedRows: 1000 },
      { table: 'visit', estimatedRows: null },
    ]);
    tracker.update('person', 400, 12_000);
    // The replica running it answers the live figures at once, before any heartbeat wrote them.
    assert.deepEqual((await engine.get(job.id))?.progress.map((p) => [p.table, p.rows]), [
      ['person', 400],
      ['visit', 0],
    ]);
    // What every other replica reads: the row, written at the next heartbeat.
    const seen = await eventually(async () => {
      const { rows } = await js.db.client.query('SELECT progress FROM cr8tor_platform.jobs WHERE id = $1', [job.id]);
      const progress = rows[0]?.progress as Job['progress'] | null;
      return progress?.length === 2 && progress[0]!.rows === 400 ? { progress } : undefined;
    }, 'progress persisted');
    assert.deepEqual(seen.progress, [
      { table: 'person', state: 'running', rows: 400, bytes: 12_000, estimated_rows: 1000 },
      { table: 'visit', state: 'waiting', rows: 0, bytes: 0, estimated_rows: null },
    ]);
    tracker.done('person', 1000, 30_000);
    tracker.done('visit', 5, 100);
    held.release(job.id, { result: {} });
    const done = await engine.wait(job.id);
    assert.deepEqual(
      done.progress.map((p) => [p.table, p.state, p.rows]),
      [
        ['person', 'done', 1000],
        ['visit', 'done', 5],
      ],
    );
  });
});

describe('cancellation', () => {
  test('a queued job is cancelled at once; a running one is stopped and answers cancelled, naming who asked', async () => {
    // Both workers busy, so the third job stays queued.
    const blockers = [await engine.submit(submission(packageJob('Hold1'))), await engine.submit(submission(packageJob('Hold2')))];
    await Promise.all(blockers.map((b) => running(b.job.id)));
    const queued = (await engine.submit(submission(packageJob('Cancel1')))).job;
    const cancelledQueued = await engine.cancel(queued.id, 'key-canceller');
    assert.equal(cancelledQueued.state, 'cancelled');
    assert.equal(cancelledQueued.started_at, null);
    assert.equal(cancelledQueued.error?.code, 'JOB_CANCELLED');
    assert.match(cancelledQueued.error!.detail, /cancelled by key 'key-canceller'/);
    const { rows } = await js.db.client.query(`SELECT state::text FROM cr8tor_queue.job WHERE id = $1`, [queued.id]);
    assert.equal(rows[0].state, 'cancelled');

    const runningJob = blockers[0]!.job;
    const cancelled = await engine.cancel(runningJob.id, 'key-stopper');
    assert.equal(cancelled.state, 'cancelled');
    assert.deepEqual([cancelled.error?.code, cancelled.error?.status], ['JOB_CANCELLED', 409]);
    assert.match(cancelled.error!.detail, /The package job .* of project 'Hold1' \(start time 20250205_010101\) was cancelled by key 'key-stopper'/);
    assert.equal(held.context(runningJob.id).signal.aborted, true);
    const record = await js.db.client.query('SELECT cancel_requested_by, cancel_requested_at FROM cr8tor_platform.jobs WHERE id = $1', [runningJob.id]);
    assert.equal(record.rows[0].cancel_requested_by, 'key-stopper');
    assert.ok(record.rows[0].cancel_requested_at instanceof Date);
    // A job already final is answered as it is.
    assert.deepEqual(await engine.cancel(runningJob.id, 'key-late'), cancelled);
    held.release(blockers[1]!.job.id, { result: {} });
    await engine.wait(blockers[1]!.job.id);
  });

  test('wait() stops waiting when its signal aborts, and the job runs on', async () => {
    const { job } = await engine.submit(submission(packageJob('Wait1')));
    await running(job.id);
    const controller = new AbortController();
    const waiting = engine.wait(job.id, controller.signal);
    controller.abort(new Error('caller went away'));
    await assert.rejects(waiting, /caller went away/);
    assert.equal((await engine.get(job.id))?.state, 'running');
    held.release(job.id, { result: {} });
    assert.equal((await engine.wait(job.id)).state, 'succeeded');
  });
});

describe('paging', () => {
  test('newest first, in pages with cursors; filtered by state and kind; a bad cursor is INVALID_REQUEST', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { job } = await engine.submit(submission(i % 2 ? publishJob('Page1') : packageJob('Page1')));
      await running(job.id);
      held.release(job.id, i === 3 ? { error: new AppError('NOTHING_TO_PUBLISH', 'nothing') } : { result: {} });
      await engine.wait(job.id);
      ids.push(job.id);
    }
    const newestFirst = [...ids].reverse();
    const seen: Job[] = [];
    let after: string | undefined;
    for (let page = 0; page < 3; page++) {
      const p = await engine.list({ projectName: 'Page1', projectStartTime: '20250205_010101', first: 2, after });
      seen.push(...p.jobs);
      assert.equal(p.hasNextPage, page < 2);
      after = p.endCursor ?? undefined;
    }
    assert.deepEqual(
      seen.map((j) => j.id),
      newestFirst,
    );
    const failed = await engine.list({ projectName: 'Page1', projectStartTime: '20250205_010101', first: 10, state: 'failed' });
    assert.deepEqual(
      failed.jobs.map((j) => j.id),
      [ids[3]],
    );
    const publishes = await engine.list({ projectName: 'Page1', projectStartTime: '20250205_010101', first: 10, kind: 'publish' });
    assert.deepEqual(
      publishes.jobs.map((j) => j.id),
      [ids[3], ids[1]],
    );
    const none = await engine.list({ projectName: 'Nobody', projectStartTime: '20250205_010101', first: 10 });
    assert.deepEqual(none, { jobs: [], endCursor: null, hasNextPage: false });
    for (const bad of ['x', 'bm90IGEgY3Vyc29y', Buffer.from('2025-01-01T00:00:00.000000Z|not-a-uuid').toString('base64url'), '%%%']) {
      await assert.rejects(engine.list({ projectName: 'Page1', projectStartTime: '20250205_010101', first: 2, after: bad }), isAppErrorWith('INVALID_REQUEST', 422), bad);
    }
    await assert.rejects(engine.list({ projectName: 'Page1', projectStartTime: '20250205_010101', first: 0 }), isAppErrorWith('INVALID_REQUEST', 422));
    await assert.rejects(engine.list({ projectName: 'Page1', projectStartTime: '20250205_010101', first: 101 }), isAppErrorWith('INVALID_REQUEST', 422));
  });

  test('counts by state', async () => {
    const counts = await engine.counts();
    const { rows } = await js.db.client.query<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM cr8tor_platform.jobs GROUP BY state');
    const expected = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0, ...Object.fromEntries(rows.map((r) => [r.state, r.n])) };
    assert.deepEqual(counts, expected);
    assert.ok(counts.succeeded > 0 && counts.failed > 0 && counts.cancelled > 0);
  });
});

describe('waking workers', () => {
  test('a submitted job starts at once, on the replica that queued it or another, not at the next poll (30 s here)', async () => {
    const own = await openJobStore('jobs_wake');
    try {
      const slow = { ...FAST, concurrency: 1, pollingIntervalSeconds: 30 };
      const submitter = await own.engine('replica-submitter', slow);
      const other = await own.engine('replica-other', slow);
      const onSubmitter = new HeldHandlers();
      const onOther = new HeldHandlers();
      await submitter.start(onSubmitter.handler);
      await other.start(onOther.handler);
      // Both workers have made their first fetch and sleep until their next poll.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const first = (await submitter.submit(submission(packageJob('Wake1')))).job;
      const startedWithin = async (id: string) => {
        const t0 = Date.now();
        await eventually(async () => (await submitter.get(id))?.state === 'running', `job ${id} running`, 10_000);
        return Date.now() - t0;
      };
      const firstMs = await startedWithin(first.id);
      // One replica's only worker is busy now: the next job is the other's, whose worker was asleep too.
      const second = (await submitter.submit(submission(packageJob('Wake2')))).job;
      const secondMs = await startedWithin(second.id);
      const replicas = await Promise.all([first, second].map(async (j) => (await submitter.get(j.id))?.replica));
      assert.deepEqual([...replicas].sort(), ['replica-other', 'replica-submitter']);
      assert.ok(firstMs < 10_000 && secondMs < 10_000, `${firstMs} ms, ${secondMs} ms`);
      for (const j of [first, second]) (onSubmitter.calls.some((c) => c.context.job.id === j.id) ? onSubmitter : onOther).release(j.id, { result: {} });
      await submitter.wait(first.id);
      await submitter.wait(second.id);
    } finally {
      await own.drop();
    }
  });
});

describe('close(grace)', () => {
  test('a job that finishes within the grace succeeds; one that does not is failed JOB_INTERRUPTED naming the replica; nothing more is taken', async () => {
    // A store of its own: only the closing engine takes these jobs.
    const own = await openJobStore('jobs_close');
    try {
      const closing = await own.engine('replica-closing');
      const mine = new HeldHandlers();
      await closing.start(mine.handler);
      const quick = (await closing.submit(submission(packageJob('Close1')))).job;
      const slow = (await closing.submit(submission(packageJob('Close2')))).job;
      await mine.arrived(2);
      const closed = closing.close(1_500);
      setTimeout(() => mine.release(quick.id, { result: { ok: true } }), 200);
      await closed;
      assert.equal(mine.context(slow.id).signal.aborted, true);
      const other = await own.engine('replica-other');
      const quickEnd = await other.wait(quick.id);
      assert.deepEqual([quickEnd.state, quickEnd.package_result], ['succeeded', { ok: true }]);
      const slowEnd = await other.wait(slow.id);
      assert.deepEqual([slowEnd.state, slowEnd.error?.code, slowEnd.error?.status], ['failed', 'JOB_INTERRUPTED', 503]);
      assert.match(slowEnd.error!.detail, /^The package job [0-9a-f-]+ did not finish: the publish replica replica-closing stopped\. Nothing of it was published; send the call again\.$/);
      // The closed engine takes nothing more: a job queued now waits for a replica that runs jobs.
      const later = (await other.submit(submission(packageJob('Close3')))).job;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      assert.equal((await other.get(later.id))?.state, 'queued');
      assert.equal(mine.calls.length, 2);
      const taker = new HeldHandlers();
      await other.start(taker.handler);
      await taker.arrived(1);
      taker.release(later.id, { result: {} });
      assert.equal((await other.wait(later.id)).replica, 'replica-other');
    } finally {
      await own.drop();
    }
  });
});
