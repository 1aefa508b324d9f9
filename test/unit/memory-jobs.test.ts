/**
 * The in-memory job engine (lib/jobs/memory.ts), the one a publish service
 * without a platform database runs: one queued-or-running job per project and
 * start time, the same request attaches, another is refused naming the job;
 * cancellation, waiting, paging, counts, closing with a grace, and the bound
 * on finished jobs kept. The handlers here are the engine's own input (the
 * work a job does), written for each case.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseRequest, publishRequestSchema, transferRequestSchema } from '../../lib/contract/index.js';
import { AppError, isAppError } from '../../lib/errors.js';
import type { JobContext, JobHandler, JobRequest } from '../../lib/jobs/engine.js';
import { MemoryJobEngine } from '../../lib/jobs/memory.js';
import { createLogger } from '../../lib/logging/logger.js';
import { dataset, publishRequest, sqlSource, transferRequest } from '../support/requests.js';

const log = createLogger('publish', 'silent');

function publishJob(startTime = '20250101_000001', projectName = 'Pr004'): JobRequest {
  return { kind: 'publish', request: parseRequest(publishRequestSchema, publishRequest({ project_name: projectName, project_start_time: startTime })) };
}

function packageJob(startTime = '20250101_000001', tables = ['t']): JobRequest {
  const body = { ...transferRequest(sqlSource('postgresql', 'db'), dataset('public', tables), { project_start_time: startTime }), destination: { name: 'LSC', type: 'filestore', format: 'csv' } };
  return { kind: 'package', request: parseRequest(transferRequestSchema, body) };
}

const submission = (job: JobRequest, requestId = 'req-1') => ({ job, startedBy: 'key-0123456789ab', requestId });

/** A handler whose jobs run until the test lets them go (or their signal aborts), answering a publish payload. */
function gatedHandler() {
  const started: JobContext[] = [];
  const gates: Array<() => void> = [];
  const handler: JobHandler = (_job, context) =>
    new Promise((resolve, reject) => {
      started.push(context);
      gates.push(() => resolve({ result: { destination_type: 'filestore', data_published: [] }, figures: { files: [] } }));
      context.signal.addEventListener('abort', () => reject(new AppError('SOURCE_QUERY_FAILED', 'the read failed when its connection closed')), { once: true });
    });
  return { handler, started, release: () => gates.splice(0).forEach((go) => go()) };
}

async function engineWith(handler: JobHandler): Promise<MemoryJobEngine> {
  const engine = new MemoryJobEngine({ log, replica: 'replica-a' });
  await engine.start(handler);
  return engine;
}

describe('submit, attach, busy', () => {
  test('a job runs its request and records who started it, where, when, and its result', async () => {
    const seen: JobRequest[] = [];
    const engine = await engineWith(async (job) => {
      seen.push(job);
      return { result: { destination_type: 'filestore', data_published: [] }, figures: { files: [] } };
    });
    const { job, attached } = await engine.submit(submission(publishJob(), 'req-42'));
    assert.equal(attached, false);
    assert.equal(job.kind, 'publish');
    const final = await engine.wait(job.id);
    assert.equal(final.state, 'succeeded');
    assert.deepEqual(seen, [publishJob()]);
    assert.deepEqual([final.started_by, final.request_id, final.replica, final.project_name, final.project_start_time], ['key-0123456789ab', 'req-42', 'replica-a', 'Pr004', '20250101_000001']);
    assert.ok(final.started_at && final.finished_at && final.created_at <= final.started_at && final.started_at <= final.finished_at);
    assert.deepEqual(final.publish_result, { result: { destination_type: 'filestore', data_published: [] }, figures: { files: [] } });
    assert.equal(final.package_result, null);
    assert.equal(final.error, null);
  });

  test('the same request while the job runs attaches to it; another is PROJECT_BUSY naming the job; other projects run', async () => {
    const gated = gatedHandler();
    const engine = await engineWith(gated.handler);
    const first = await engine.submit(submission(packageJob('20250101_000002'), 'req-1'));
    const again = await engine.submit(submission(packageJob('20250101_000002'), 'req-2'));
    assert.equal(again.attached, true);
    assert.equal(again.job.id, first.job.id);
    assert.equal(again.job.request_id, 'req-1', 'the job is the first call’s');
    await assert.rejects(engine.submit(submission(packageJob('20250101_000002', ['t', 'u']))), (e: unknown) => {
      assert.ok(isAppError(e));
      assert.equal(e.code, 'PROJECT_BUSY');
      assert.equal(e.status, 409);
      assert.equal(e.detail, `Project 'Pr004' (start time 20250101_000002) is busy: its package job ${first.job.id} is running. Wait for it to finish (Query.job) or cancel it (Mutation.cancelJob), then send the call again.`);
      return true;
    });
    await assert.rejects(engine.submit(submission(publishJob('20250101_000002'))), (e: AppError) => e.code === 'PROJECT_BUSY', 'a publish of the project is another request');
    const other = await engine.submit(submission(packageJob('20250101_000003')));
    assert.notEqual(other.job.id, first.job.id);
    assert.equal(gated.started.length, 2, 'one run per job, not per call');
    gated.release();
    const [a, b] = await Promise.all([engine.wait(first.job.id), engine.wait(again.job.id)]);
    assert.deepEqual(a, b);
    // Finished: the project is free, and the same request is a new job.
    const next = await engine.submit(submission(packageJob('20250101_000002')));
    assert.equal(next.attached, false);
    assert.notEqual(next.job.id, first.job.id);
    gated.release();
    await engine.wait(next.job.id);
  });

  test('many submits at once: one job runs; the same requests attach, different ones are refused', async () => {
    const gated = gatedHandler();
    const engine = await engineWith(gated.handler);
    const answers = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => engine.submit(submission(i % 3 === 2 ? publishJob('20250101_000004') : packageJob('20250101_000004'), `req-${i}`))));
    const ok = answers.filter((a) => a.status === 'fulfilled').map((a) => a.value);
    const refused = answers.filter((a): a is PromiseRejectedResult => a.status === 'rejected');
    assert.equal(gated.started.length, 1);
    assert.equal(new Set(ok.map((s) => s.job.id)).size, 1);
    assert.equal(ok.filter((s) => !s.attached).length, 1);
    // The first submit was a package: every package attached, every publish was refused.
    assert.equal(ok.length, 8);
    assert.equal(refused.length, 4);
    for (const r of refused) assert.equal((r.reason as AppError).code, 'PROJECT_BUSY');
    gated.release();
    await engine.wait(ok[0]!.job.id);
  });

  test('a failing job keeps its envelope; anything but an AppError is masked as INTERNAL', async () => {
    const engine = await engineWith(async (job) => {
      if (job.kind === 'publish') throw new AppError('NOTHING_TO_PUBLISH', 'Nothing was packaged.');
      throw new TypeError('a bug with a secret path /etc/x');
    });
    const refused = await engine.wait((await engine.submit(submission(publishJob('20250101_000005')))).job.id);
    assert.equal(refused.state, 'failed');
    assert.deepEqual(refused.error, { code: 'NOTHING_TO_PUBLISH', status: 409, detail: 'Nothing was packaged.' });
    const broken = await engine.wait((await engine.submit(submission(packageJob('20250101_000006')))).job.id);
    assert.equal(broken.state, 'failed');
    assert.deepEqual(broken.error, { code: 'INTERNAL', status: 500, detail: 'Internal error; the service log has the details.' });
  });

  test('no job is taken before the engine starts, nor once it closes', async () => {
    const engine = new MemoryJobEngine({ log, replica: 'replica-a' });
    await assert.rejects(engine.submit(submission(publishJob())), (e: AppError) => e.code === 'SHUTTING_DOWN' && e.status === 503);
    await engine.start(async () => ({}));
    await engine.close();
    await assert.rejects(engine.submit(submission(publishJob())), (e: AppError) => e.code === 'SHUTTING_DOWN' && e.status === 503);
  });
});

describe('cancel and wait', () => {
  test('cancelling a running job aborts its signal and answers it cancelled with JOB_CANCELLED; the project is free', async () => {
    const gated = gatedHandler();
    const engine = await engineWith(gated.handler);
    const { job } = await engine.submit(submission(packageJob('20250101_000007')));
    const waiting = engine.wait(job.id);
    const cancelled = await engine.cancel(job.id, 'key-aaaaaaaaaaaa');
    assert.equal(gated.started[0]!.signal.aborted, true);
    assert.equal(cancelled.state, 'cancelled');
    assert.deepEqual(cancelled.error, {
      code: 'JOB_CANCELLED',
      status: 409,
      detail: `The package job ${job.id} of project 'Pr004' (start time 20250101_000007) was cancelled by key 'key-aaaaaaaaaaaa'; nothing of it was kept.`,
    });
    assert.deepEqual(await waiting, cancelled, 'a waiter gets the same final job');
    assert.deepEqual(await engine.cancel(job.id, 'key-bbbbbbbbbbbb'), cancelled, 'a final job is answered as it is');
    const next = await engine.submit(submission(packageJob('20250101_000007')));
    assert.equal(next.attached, false);
    gated.release();
    assert.equal((await engine.wait(next.job.id)).state, 'succeeded');
  });

  test('a job that finishes although it was cancelled (past its point of no return) stands as succeeded', async () => {
    const engine = await engineWith(async (_job, { signal }) => {
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      return { result: { destination_type: 'filestore', data_published: [] }, figures: { files: [] } };
    });
    const { job } = await engine.submit(submission(publishJob('20250101_000008')));
    const final = await engine.cancel(job.id, 'key-aaaaaaaaaaaa');
    assert.equal(final.state, 'succeeded');
    assert.equal(final.error, null);
  });

  test('an unknown id is JOB_NOT_FOUND (404) for cancel and wait, and none for get', async () => {
    const engine = await engineWith(async () => ({}));
    await assert.rejects(engine.cancel('nope', 'key-aaaaaaaaaaaa'), (e: AppError) => e.code === 'JOB_NOT_FOUND' && e.status === 404 && e.detail === "No job has the id 'nope'.");
    await assert.rejects(engine.wait('x'.repeat(300)), (e: AppError) => e.code === 'JOB_NOT_FOUND' && e.detail === `No job has the id '${'x'.repeat(100)}…'.`);
    assert.equal(await engine.get('nope'), undefined);
  });

  test('a waiter whose signal aborts stops waiting; the job goes on', async () => {
    const gated = gatedHandler();
    const engine = await engineWith(gated.handler);
    const { job } = await engine.submit(submission(publishJob('20250101_000009')));
    const caller = new AbortController();
    const waiting = engine.wait(job.id, caller.signal);
    caller.abort(new AppError('CALLER_DISCONNECTED', 'gone'));
    await assert.rejects(waiting, (e: AppError) => e.code === 'CALLER_DISCONNECTED');
    await assert.rejects(engine.wait(job.id, caller.signal), (e: AppError) => e.code === 'CALLER_DISCONNECTED', 'an aborted signal does not wait at all');
    assert.equal((await engine.get(job.id))!.state, 'running');
    assert.equal(gated.started[0]!.signal.aborted, false, 'the job was not stopped');
    gated.release();
    assert.equal((await engine.wait(job.id)).state, 'succeeded');
  });

  test('the job answered while it runs carries its live progress; the final one keeps it', async () => {
    let go!: () => void;
    const engine = await engineWith(async (_job, { progress }) => {
      progress.plan([{ table: 'a', estimatedRows: 10 }, { table: 'b', estimatedRows: null }]);
      progress.update('a', 4, 40);
      await new Promise<void>((resolve) => (go = resolve));
      progress.done('a', 10, 100);
      return {};
    });
    const { job } = await engine.submit(submission(packageJob('20250101_000010')));
    assert.deepEqual((await engine.get(job.id))!.progress, [
      { table: 'a', state: 'running', rows: 4, bytes: 40, estimated_rows: 10 },
      { table: 'b', state: 'waiting', rows: 0, bytes: 0, estimated_rows: null },
    ]);
    go();
    assert.deepEqual((await engine.wait(job.id)).progress[0], { table: 'a', state: 'done', rows: 10, bytes: 100, estimated_rows: 10 });
  });
});

describe('list and counts', () => {
  test('pages newest first with cursors, filtered by state and kind, only the project’s own', async () => {
    const engine = await engineWith(async (job) => {
      if (job.kind === 'publish') throw new AppError('NOTHING_TO_PUBLISH', 'Nothing was packaged.');
      return {};
    });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { job } = await engine.submit(submission(i % 2 === 0 ? packageJob('20250101_000011') : publishJob('20250101_000011')));
      ids.push(job.id);
      await engine.wait(job.id);
    }
    await engine.wait((await engine.submit(submission(packageJob('20250101_000012')))).job.id);
    const query = { projectName: 'Pr004', projectStartTime: '20250101_000011' };
    const p1 = await engine.list({ ...query, first: 2 });
    assert.deepEqual(p1.jobs.map((j) => j.id), [ids[4], ids[3]]);
    assert.equal(p1.hasNextPage, true);
    const p2 = await engine.list({ ...query, first: 2, after: p1.endCursor! });
    assert.deepEqual(p2.jobs.map((j) => j.id), [ids[2], ids[1]]);
    const p3 = await engine.list({ ...query, first: 2, after: p2.endCursor! });
    assert.deepEqual(p3.jobs.map((j) => j.id), [ids[0]]);
    assert.equal(p3.hasNextPage, false);
    const empty = await engine.list({ ...query, first: 2, after: p3.endCursor! });
    assert.deepEqual([empty.jobs, empty.endCursor, empty.hasNextPage], [[], null, false]);
    assert.deepEqual((await engine.list({ ...query, first: 100, state: 'failed' })).jobs.map((j) => j.id), [ids[3], ids[1]]);
    assert.deepEqual((await engine.list({ ...query, first: 100, kind: 'package', state: 'succeeded' })).jobs.map((j) => j.id), [ids[4], ids[2], ids[0]]);
    assert.deepEqual((await engine.list({ ...query, first: 100, state: 'running' })).jobs, []);
    assert.deepEqual((await engine.list({ projectName: 'Pr999', projectStartTime: '20250101_000011', first: 10 })).jobs, []);
    assert.deepEqual(await engine.counts(), { queued: 0, running: 0, succeeded: 4, failed: 2, cancelled: 0 });
  });

  test('a cursor no page answered is INVALID_REQUEST (422)', async () => {
    const engine = await engineWith(async () => ({}));
    const query = { projectName: 'Pr004', projectStartTime: '20250101_000013' };
    for (const after of ['nope', '', Buffer.from('{"seq":-1}').toString('base64url'), Buffer.from('{"seq":"1"}').toString('base64url'), Buffer.from('null').toString('base64url')]) {
      await assert.rejects(engine.list({ ...query, first: 10, after }), (e: AppError) => {
        assert.equal(e.code, 'INVALID_REQUEST');
        assert.equal(e.status, 422);
        assert.equal(e.detail, "Invalid request body: 'after' is not a cursor a page of jobs answered.");
        return true;
      }, after);
    }
  });

  test('counts follow the jobs through their states', async () => {
    const gated = gatedHandler();
    const engine = await engineWith(gated.handler);
    const a = await engine.submit(submission(packageJob('20250101_000014')));
    await engine.submit(submission(packageJob('20250101_000015')));
    assert.deepEqual(await engine.counts(), { queued: 0, running: 2, succeeded: 0, failed: 0, cancelled: 0 });
    await engine.cancel(a.job.id, 'key-aaaaaaaaaaaa');
    gated.release();
    await engine.close();
    assert.deepEqual(await engine.counts(), { queued: 0, running: 0, succeeded: 1, failed: 0, cancelled: 1 });
  });

  test('finished jobs kept are bounded (the oldest go first); running ones are always kept', async () => {
    const gated = gatedHandler();
    const engine = await engineWith(async (job, context) => (job.request.project_name === 'Pr000' ? gated.handler(job, context) : {}));
    const running = await engine.submit(submission(publishJob('20250101_000016', 'Pr000')));
    const ids: string[] = [];
    for (let i = 0; i < 1005; i++) {
      const { job } = await engine.submit(submission(publishJob(`20250101_00${String(Math.floor(i / 60)).padStart(2, '0')}${String(i % 60).padStart(2, '0')}`)));
      ids.push(job.id);
      await engine.wait(job.id);
    }
    for (const id of ids.slice(0, 5)) assert.equal(await engine.get(id), undefined);
    for (const id of ids.slice(5)) assert.equal((await engine.get(id))?.state, 'succeeded');
    assert.equal((await engine.get(running.job.id))?.state, 'running');
    const counts = await engine.counts();
    assert.equal(counts.succeeded, 1000);
    gated.release();
    await engine.wait(running.job.id);
  });
});

describe('close', () => {
  test('running jobs get their grace: one that finishes in it succeeds, one that does not ends failed JOB_INTERRUPTED (503)', async () => {
    const gated = gatedHandler();
    const engine = await engineWith(async (job, context) => {
      if (job.request.project_start_time === '20250101_000017') {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return {};
      }
      return gated.handler(job, context);
    });
    const quick = await engine.submit(submission(packageJob('20250101_000017')));
    const stuck = await engine.submit(submission(packageJob('20250101_000018')));
    const waiting = engine.wait(stuck.job.id);
    const started = Date.now();
    await engine.close(300);
    assert.ok(Date.now() - started >= 250, 'the grace was given');
    assert.equal((await engine.get(quick.job.id))!.state, 'succeeded');
    const interrupted = await waiting;
    assert.equal(interrupted.state, 'failed');
    assert.deepEqual(interrupted.error, {
      code: 'JOB_INTERRUPTED',
      status: 503,
      detail: `The package job ${stuck.job.id} did not finish: the publish replica replica-a stopped. Nothing of it was published; send the call again.`,
    });
    assert.equal(gated.started[0]!.signal.reason.code, 'JOB_INTERRUPTED', 'the handler was told why');
  });

  test('with nothing running, close returns at once', async () => {
    const engine = await engineWith(async () => ({}));
    const started = Date.now();
    await engine.close(60_000);
    assert.ok(Date.now() - started < 5_000);
  });
});
