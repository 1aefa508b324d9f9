import { randomUUID } from 'node:crypto';
import { FINAL_JOB_STATES, JOB_STATES, type Job, type JobState } from '../contract/jobs.js';
import { appError, isAppError, publicError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { JobEngine, JobHandler, JobPage, JobQuery, JobSubmission, Submitted } from './engine.js';
import { jobFingerprint } from './fingerprint.js';
import { jobCancelled, jobInterrupted, jobNotFound, projectBusy } from './messages.js';
import { ProgressTracker } from './progress.js';

/**
 * Finished jobs kept (the oldest go first); queued and running ones are always
 * kept. A job holds its answer (a file or table per dataset table), so this
 * bounds the memory a replica's job history takes (docs/behaviour.md, "Limits").
 */
export const FINISHED_JOBS_KEPT = 200;

interface Entry {
  job: Job;
  seq: number;
  fingerprint: string;
  submission: JobSubmission;
  controller: AbortController;
  tracker: ProgressTracker;
  finished: Promise<void>;
  settle: () => void;
}

/**
 * Jobs in the service's memory, for a deployment without a platform database:
 * the replica that accepts a job runs it at once, and its records are lost on
 * restart (each replica has its own). The same contract as the PostgreSQL
 * engine (lib/jobs/postgres/): one queued-or-running job per project and start
 * time, attach on the same request, cancellation, paging.
 */
export class MemoryJobEngine implements JobEngine {
  readonly kind = 'memory' as const;
  private readonly entries = new Map<string, Entry>();
  /** The queued-or-running job of each project and start time. */
  private readonly active = new Map<string, string>();
  private handler: JobHandler | undefined;
  private closing = false;
  private seq = 0;

  constructor(private readonly options: { log: Logger; replica: string }) {}

  /** (No hooks: a job in memory ends with its replica, so none is ever found abandoned by another.) */
  async start(handler: JobHandler): Promise<void> {
    this.handler = handler;
  }

  async submit(submission: JobSubmission): Promise<Submitted> {
    const { job: request } = submission;
    if (this.closing || !this.handler) throw appError('SHUTTING_DOWN', { service: 'publish' });
    const key = projectKey(request.request.project_name, request.request.project_start_time);
    const fingerprint = jobFingerprint(request);
    const holderId = this.active.get(key);
    if (holderId !== undefined) {
      const holder = this.entries.get(holderId)!;
      if (holder.fingerprint === fingerprint) return { job: copy(holder.job), attached: true };
      throw projectBusy(holder.job);
    }
    let settle!: () => void;
    const finished = new Promise<void>((resolve) => (settle = resolve));
    const entry: Entry = {
      job: {
        id: randomUUID(),
        kind: request.kind,
        project_name: request.request.project_name,
        project_start_time: request.request.project_start_time,
        state: 'queued',
        started_by: submission.startedBy,
        request_id: submission.requestId,
        created_at: new Date().toISOString(),
        started_at: null,
        finished_at: null,
        replica: null,
        progress: [],
        package_result: null,
        publish_result: null,
        error: null,
      },
      seq: ++this.seq,
      fingerprint,
      submission,
      controller: new AbortController(),
      tracker: new ProgressTracker(),
      finished,
      settle,
    };
    this.entries.set(entry.job.id, entry);
    this.active.set(key, entry.job.id);
    const snapshot = copy(entry.job);
    void this.run(entry, this.handler);
    return { job: snapshot, attached: false };
  }

  async get(id: string): Promise<Job | undefined> {
    const entry = this.entries.get(id);
    return entry ? this.view(entry) : undefined;
  }

  async list(query: JobQuery): Promise<JobPage> {
    const after = query.after === undefined ? Infinity : decodeCursor(query.after);
    const matching = [...this.entries.values()]
      .filter((e) => e.job.project_name === query.projectName && e.job.project_start_time === query.projectStartTime)
      .filter((e) => (query.state === undefined || e.job.state === query.state) && (query.kind === undefined || e.job.kind === query.kind))
      .filter((e) => e.seq < after)
      .sort((a, b) => b.seq - a.seq);
    const page = matching.slice(0, query.first);
    return {
      jobs: page.map((e) => this.view(e)),
      endCursor: page.length > 0 ? encodeCursor(page[page.length - 1]!.seq) : null,
      hasNextPage: matching.length > page.length,
    };
  }

  async cancel(id: string, by: string): Promise<Job> {
    const entry = this.entries.get(id);
    if (!entry) throw jobNotFound(id);
    if (!FINAL_JOB_STATES.has(entry.job.state)) entry.controller.abort(jobCancelled(entry.job, by));
    await entry.finished;
    return this.view(entry);
  }

  async wait(id: string, signal?: AbortSignal): Promise<Job> {
    const entry = this.entries.get(id);
    if (!entry) throw jobNotFound(id);
    if (signal) {
      signal.throwIfAborted();
      // The listener goes with the wait: a long-lived signal must not collect one per job.
      let stopWaiting!: () => void;
      const stopped = new Promise<never>((_, reject) => (stopWaiting = () => reject(signal.reason as Error)));
      signal.addEventListener('abort', stopWaiting, { once: true });
      try {
        await Promise.race([entry.finished, stopped]);
      } finally {
        signal.removeEventListener('abort', stopWaiting);
      }
    } else {
      await entry.finished;
    }
    return this.view(entry);
  }

  async counts(): Promise<Record<JobState, number>> {
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const e of this.entries.values()) counts[e.job.state]++;
    return counts;
  }

  async close(graceMs = 0): Promise<void> {
    this.closing = true;
    const running = [...this.entries.values()].filter((e) => !FINAL_JOB_STATES.has(e.job.state));
    const all = Promise.all(running.map((e) => e.finished));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
    if ((await Promise.race([all, graceOver])) === 'late') {
      for (const e of running) e.controller.abort(jobInterrupted(e.job, `the publish replica ${this.options.replica} stopped`));
      await all;
    }
    clearTimeout(timer);
  }

  private async run(entry: Entry, handler: JobHandler): Promise<void> {
    const { job, controller, tracker } = entry;
    const log = this.options.log.child({ job_id: job.id, job_kind: job.kind });
    try {
      // Cancelled or interrupted while still queued: it never starts.
      controller.signal.throwIfAborted();
      Object.assign(job, { state: 'running', started_at: new Date().toISOString(), replica: this.options.replica });
      const context = { job: copy(job), signal: controller.signal, progress: tracker, log, callerWaits: entry.submission.callerWaits ?? false, recorded: entry.finished };
      const result = await handler(entry.submission.job, context);
      // A result that arrived although the job was aborted stands: the work was done and kept.
      job.state = 'succeeded';
      if (job.kind === 'package') job.package_result = result as Job['package_result'];
      else job.publish_result = result as Job['publish_result'];
    } catch (error) {
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : error;
      const cancelled = isAppError(reason) && reason.code === 'JOB_CANCELLED';
      job.state = cancelled ? 'cancelled' : 'failed';
      job.error = publicError(controller.signal.aborted && isAppError(reason) ? reason : error);
      if (!isAppError(error) && !controller.signal.aborted) log.error({ err: error }, 'job failed with an internal error');
    } finally {
      job.finished_at = new Date().toISOString();
      job.progress = tracker.snapshot();
      this.active.delete(projectKey(job.project_name, job.project_start_time));
      this.trim();
      entry.settle();
    }
  }

  /** The job as answered: its live progress while it runs. */
  private view(entry: Entry): Job {
    const job = copy(entry.job);
    if (!FINAL_JOB_STATES.has(job.state)) job.progress = entry.tracker.snapshot();
    return job;
  }

  private trim(): void {
    const finished = [...this.entries.values()].filter((e) => FINAL_JOB_STATES.has(e.job.state));
    for (const e of finished.slice(0, Math.max(0, finished.length - FINISHED_JOBS_KEPT))) this.entries.delete(e.job.id);
  }
}

function projectKey(projectName: string, projectStartTime: string): string {
  return JSON.stringify([projectName, projectStartTime]);
}

function copy(job: Job): Job {
  return structuredClone(job);
}

function encodeCursor(seq: number): string {
  return Buffer.from(JSON.stringify({ seq })).toString('base64url');
}

function decodeCursor(cursor: string): number {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const seq = (parsed as { seq?: unknown } | null)?.seq;
    if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq > 0) return seq;
  } catch {
    // answered below
  }
  throw appError('INVALID_REQUEST', { problem: `'after' is not a cursor a page of jobs answered` });
}

