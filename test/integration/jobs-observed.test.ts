/**
 * Jobs seen from outside (subgraphs/publish/src/jobs/observed.ts) around the
 * real in-memory engine, with a handler that reports progress as the
 * packaging pipeline does (plan, updates, done): each running job's rows and
 * bytes in /metrics while it runs and gone once it ends, jobs by state, the
 * duration by kind and outcome; `job progress` lines at the set rate with the
 * tables' figures and estimates; job_started and job_finished audit events
 * (with the state, code and duration), job_cancelled naming the key.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuditLog } from '../../lib/audit/audit-log.js';
import { AppError } from '../../lib/errors.js';
import type { JobContext, JobRequest } from '../../lib/jobs/engine.js';
import { MemoryJobEngine } from '../../lib/jobs/memory.js';
import { createLogger } from '../../lib/logging/logger.js';
import { ServiceMetrics } from '../../lib/metrics/metrics.js';
import { ObservedJobEngine } from '../../subgraphs/publish/src/jobs/observed.js';
import { LogLines } from '../support/log-lines.js';

const INTERVAL_MS = 50;

let dir: string;
let audit: AuditLog;
const logs = new LogLines();
const metrics = new ServiceMetrics('publish');
let jobs: ObservedJobEngine;

/** What the running job is told to do next: report, then end (succeed or fail). */
let release: (outcome: 'succeed' | 'fail') => void;
let reported: () => void;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cr8tor-jobs-observed-'));
  audit = new AuditLog(path.join(dir, 'audit.jsonl'), () => undefined);
  const log = createLogger('publish', 'info', logs.stream);
  jobs = new ObservedJobEngine(new MemoryJobEngine({ log, replica: 'replica-a' }), { service: 'publish', audit, metrics, log, progressLogIntervalMs: INTERVAL_MS });
  // A package as the pipeline reports one: the plan with estimates, then rows and bytes as they come.
  await jobs.start(async (_request: JobRequest, { progress, signal }: JobContext) => {
    progress.plan([
      { table: 'person', estimatedRows: 1000 },
      { table: 'visit', estimatedRows: null },
    ]);
    progress.done('person', 1000, 52_000);
    progress.update('visit', 300, 9_000);
    const outcome = await new Promise<'succeed' | 'fail'>((resolve, reject) => {
      release = resolve;
      signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      reported();
    });
    if (outcome === 'fail') throw new AppError('DEADLINE_EXCEEDED', 'The test job took too long.');
    progress.done('visit', 400, 12_000);
    return { destination_type: 'filestore', data_retrieved: [] };
  });
});

after(async () => {
  await jobs.close();
  await audit.close();
  await rm(dir, { recursive: true, force: true });
});

function submission(startTime: string) {
  return {
    job: {
      kind: 'publish' as const,
      request: { project_name: 'Observed', project_start_time: startTime, destination: { name: 'LSC', type: 'filestore' as const, format: 'csv' as const } },
    },
    startedBy: 'key-1',
    requestId: `req-${startTime}`,
  };
}

/** Starts a job and resolves once its handler has reported its progress. */
async function startJob(startTime: string): Promise<string> {
  const ready = new Promise<void>((resolve) => (reported = resolve));
  const { job } = await jobs.submit(submission(startTime) as never);
  await ready;
  return job.id;
}

async function auditEvents(id: string): Promise<any[]> {
  const text = await readFile(path.join(dir, 'audit.jsonl'), 'utf8');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l).audit).filter((e) => e.job?.id === id);
}

function sample(text: string, name: string, id: string): string | undefined {
  return text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`job_id="${id}"`));
}

/** The value of the sample of `name` with (at least) these labels, whatever their order; undefined when there is none. */
function value(text: string, name: string, labels: Record<string, string>): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('a job seen from outside', () => {
  test('while it runs: its rows and bytes in /metrics and progress lines with each table; once it ends: its series gone, its duration and audit trail', async () => {
    const id = await startJob('20250501_000001');
    const running = (await metrics.text()).body;
    assert.match(sample(running, 'cr8tor_job_rows', id) ?? '', / 1300$/, running);
    assert.match(sample(running, 'cr8tor_job_bytes', id) ?? '', / 61000$/);
    assert.match(sample(running, 'cr8tor_job_rows', id)!, /kind="publish".*project="Observed".*start_time="20250501_000001"/);
    assert.equal(value(running, 'cr8tor_jobs', { state: 'running' }), 1, running);

    // Progress lines at the set rate, with every table's figures and estimate.
    const progressLines = () => logs.lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'job progress' && l.job_id === id);
    while (progressLines().length < 2) await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
    const line = progressLines()[0];
    assert.deepEqual(line.tables, [
      { table: 'person', state: 'done', rows: 1000, bytes: 52_000, estimated_rows: 1000 },
      { table: 'visit', state: 'running', rows: 300, bytes: 9_000, estimated_rows: null },
    ]);
    assert.deepEqual([line.rows, line.bytes, line.project, line.start_time], [1300, 61_000, 'Observed', '20250501_000001']);

    release('succeed');
    const done = await jobs.wait(id);
    assert.equal(done.state, 'succeeded');
    const ended = (await metrics.text()).body;
    assert.equal(sample(ended, 'cr8tor_job_rows', id), undefined, 'its series are gone');
    assert.equal(sample(ended, 'cr8tor_job_bytes', id), undefined);
    assert.equal(value(ended, 'cr8tor_job_duration_seconds_count', { kind: 'publish', outcome: 'succeeded' }), 1, ended);
    assert.equal(value(ended, 'cr8tor_jobs', { state: 'succeeded' }), 1);
    // No more progress lines once it ended.
    const count = progressLines().length;
    await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS * 4));
    assert.equal(progressLines().length, count);
    const finishedLine = logs.lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'job finished' && l.job_id === id);
    assert.equal(finishedLine.state, 'succeeded');
    assert.equal(finishedLine.rows, 1400);

    const events = await auditEvents(id);
    assert.deepEqual(events.map((e) => e.action), ['job_started', 'job_finished']);
    assert.deepEqual(events[0].job, { id, kind: 'publish', project: { name: 'Observed', start_time: '20250501_000001' }, request_id: 'req-20250501_000001', replica: 'replica-a' });
    assert.equal(events[0].key_id, 'key-1');
    assert.equal(events[1].state, 'succeeded');
    assert.equal(events[1].code, undefined);
    assert.ok(events[1].duration_ms >= 0);
  });

  test('a failed job: its code in the audit event and the log; a cancelled one: job_cancelled names the key that cancelled it', async () => {
    const failing = await startJob('20250501_000002');
    release('fail');
    assert.equal((await jobs.wait(failing)).state, 'failed');
    const failed = await auditEvents(failing);
    assert.deepEqual(failed.map((e) => [e.action, e.state, e.code]), [['job_started', undefined, undefined], ['job_finished', 'failed', 'DEADLINE_EXCEEDED']]);

    const cancelling = await startJob('20250501_000003');
    const cancelled = await jobs.cancel(cancelling, 'key-2');
    assert.equal(cancelled.state, 'cancelled');
    // Cancelling a job already final is no cancellation: no second event.
    await jobs.cancel(cancelling, 'key-3');
    const events = await auditEvents(cancelling);
    assert.deepEqual(events.map((e) => [e.action, e.key_id, e.state, e.code]), [
      ['job_started', 'key-1', undefined, undefined],
      ['job_cancelled', 'key-2', 'running', undefined],
      ['job_finished', 'key-1', 'cancelled', 'JOB_CANCELLED'],
    ]);
    const text = (await metrics.text()).body;
    assert.equal(value(text, 'cr8tor_job_duration_seconds_count', { kind: 'publish', outcome: 'failed' }), 1, text);
    assert.equal(value(text, 'cr8tor_job_duration_seconds_count', { kind: 'publish', outcome: 'cancelled' }), 1, text);
    assert.equal(value(text, 'cr8tor_jobs', { state: 'cancelled' }), 1);
  });
});
