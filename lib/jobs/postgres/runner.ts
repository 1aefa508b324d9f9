import { setTimeout as delay } from 'node:timers/promises';
import type PgBoss from 'pg-boss';
import type { Job, JobError, JobState, TableProgress } from '../../contract/jobs.js';
import { isAppError } from '../../errors.js';
import type { Logger } from '../../logging/logger.js';
import type { PlatformStore } from '../../store/store.js';
import type { JobHandler, JobHooks, JobRequest } from '../engine.js';
import { jobCancelled, jobInterrupted } from '../messages.js';
import { ProgressTracker } from '../progress.js';
import { QUEUE_NAME } from './queue-schema.js';
import { JOB_COLUMNS, jobError, jobOf, JOBS, type JobRow } from './rows.js';
import type { PostgresJobSettings } from './settings.js';
import { pruneFinished, requeue, sweep } from './sweep.js';

/** How long jobs aborted at close get to stop before they are recorded as interrupted regardless. */
const ABORT_SETTLE_MS = 10_000;
/** Attempts at a job's final write (the database may be briefly away); if all fail, the sweep ends the job as abandoned. */
const FINISH_ATTEMPTS = 3;

interface LocalJob {
  id: string;
  /** The job as it started here. */
  job: Job;
  controller: AbortController;
  progress: ProgressTracker;
  /** The progress version last written. */
  persisted: number;
  log: Logger;
  /** Settles when the job's run (handler and final write) is over. */
  done: Promise<void>;
}

interface Outcome {
  state: Extract<JobState, 'succeeded' | 'failed' | 'cancelled'>;
  result: unknown;
  error: JobError | null;
}

export interface RunnerOptions {
  store: PlatformStore;
  boss: PgBoss;
  log: Logger;
  replica: string;
  settings: PostgresJobSettings;
}

/**
 * This replica's side of the jobs: up to `concurrency` pg-boss workers take
 * jobs from the queue; each job is marked running here, run by the handler,
 * kept alive by heartbeats (which persist its progress and notice a
 * cancellation), and ended by a write guarded on this replica still owning it.
 * The heartbeat timer also sweeps for jobs other replicas abandoned.
 */
export class JobRunner {
  private readonly running = new Map<string, LocalJob>();
  private readonly workers: Array<{ id: string; busy: boolean }> = [];
  private handler: JobHandler | undefined;
  private hooks: JobHooks = {};
  /** onAbandoned calls under way: they run beside the heartbeats (freeing a big staging folder must not delay this replica's own heartbeats); close waits for them. */
  private readonly releasing = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private closing = false;
  /** When this replica last deleted finished jobs past their retention (0: not yet; the first heartbeat does). */
  private prunedAt = 0;
  /** Queue entries being marked running (not yet in {@link running}): close waits for them to be seen. */
  private taking = 0;

  constructor(private readonly o: RunnerOptions) {}

  /** Starts the workers and the heartbeat. */
  async start(handler: JobHandler, hooks: JobHooks = {}): Promise<void> {
    if (this.handler) throw new Error('the job engine was started already');
    this.handler = handler;
    this.hooks = hooks;
    for (let i = 0; i < this.o.settings.concurrency; i++) {
      const slot = { id: '', busy: false };
      this.workers.push(slot);
      slot.id = await this.o.boss.work<{ kind: string }>(QUEUE_NAME, { batchSize: 1, pollingIntervalSeconds: this.o.settings.pollingIntervalSeconds }, async (jobs) => {
        slot.busy = true;
        try {
          for (const job of jobs) await this.take(job.id);
        } finally {
          slot.busy = false;
        }
      });
    }
    this.timer = setInterval(() => void this.tick(), this.o.settings.heartbeatMs);
  }

  /** Wakes an idle worker to fetch at once (a job was just queued). */
  wake(): void {
    const idle = this.workers.find((w) => !w.busy && w.id);
    if (idle && !this.closing) this.o.boss.notifyWorker(idle.id);
  }

  /** Jobs running here now. */
  get runningIds(): string[] {
    return [...this.running.keys()];
  }

  /** The live progress of `id` when it runs here (the stored one is as of its last heartbeat). */
  liveProgress(id: string): TableProgress[] | undefined {
    return this.running.get(id)?.progress.snapshot();
  }

  /** A cancellation of `id` was requested: if it runs here, its signal is aborted with JOB_CANCELLED naming who asked. */
  async cancelLocal(id: string, by?: string | null): Promise<void> {
    const local = this.running.get(id);
    if (!local || local.controller.signal.aborted) return;
    let asker = by;
    if (!asker) {
      const { rows } = await this.o.store.pool.query<{ by: string | null }>(`SELECT cancel_requested_by AS by FROM ${JOBS} WHERE id = $1`, [id]);
      asker = rows[0]?.by;
    }
    if (!asker || local.controller.signal.aborted) return;
    local.log.info({ by: asker }, 'job cancellation requested; stopping it');
    local.controller.abort(jobCancelled(local.job, asker));
  }

  /** Takes the queue entry `id`: marks the job running here and runs it; a job no longer queued (cancelled, failed) is left as it is. */
  private async take(id: string): Promise<void> {
    if (this.closing) {
      // Fetched while this replica stops: handed back to the queue for another replica.
      await requeue(this.o.boss, id);
      return;
    }
    this.taking++;
    let row: (JobRow & { request: unknown; caller_waits: boolean }) | undefined;
    try {
      const { rows } = await this.o.store.pool.query<JobRow & { request: unknown; caller_waits: boolean }>(
        `UPDATE ${JOBS} SET state = 'running', replica = $2, started_at = now(), heartbeat_at = now()
          WHERE id = $1 AND state = 'queued' RETURNING ${JOB_COLUMNS}, request, caller_waits`,
        [id, this.o.replica],
      );
      row = rows[0];
    } finally {
      if (!row) this.taking--;
    }
    if (!row) return;
    let settle!: () => void;
    const local: LocalJob = {
      id,
      job: jobOf(row),
      controller: new AbortController(),
      progress: new ProgressTracker(),
      persisted: 0,
      log: this.o.log.child({ job: id }),
      done: new Promise<void>((resolve) => (settle = resolve)),
    };
    this.running.set(id, local);
    this.taking--;
    try {
      local.log.info({ kind: row.kind, project: row.project_name, startTime: row.project_start_time, replica: this.o.replica }, 'job started');
      const request = { kind: row.kind, request: row.request } as JobRequest;
      let recorded!: () => void;
      const context = { job: local.job, signal: local.controller.signal, progress: local.progress, log: local.log, callerWaits: row.caller_waits, recorded: new Promise<void>((resolve) => (recorded = resolve)) };
      let outcome: Outcome;
      try {
        const result = await this.handler!(request, context);
        outcome = { state: 'succeeded', result: result ?? null, error: null };
      } catch (error) {
        outcome = this.failure(local, error);
      }
      try {
        await this.finish(local, outcome);
      } finally {
        recorded();
      }
    } finally {
      this.running.delete(id);
      settle();
    }
  }

  /** How a job that threw ends: as its abort reason says when it was aborted (cancelled, or this replica stopping), else with the error's envelope. */
  private failure(local: LocalJob, error: unknown): Outcome {
    const signal = local.controller.signal;
    const cause = signal.aborted && isAppError(signal.reason) ? signal.reason : error;
    if (!isAppError(cause)) local.log.error({ err: cause }, 'job failed: internal error');
    const state = isAppError(cause) && cause.code === 'JOB_CANCELLED' ? 'cancelled' : 'failed';
    return { state, result: null, error: jobError(cause) };
  }

  /** The final write, only while the job is still this replica's running job (a job already taken for abandoned keeps its end). */
  private async finish(local: LocalJob, outcome: Outcome): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { rowCount } = await this.o.store.pool.query(
          `UPDATE ${JOBS} SET state = $3, finished_at = now(), result = $4, error = $5, progress = $6
            WHERE id = $1 AND state = 'running' AND replica = $2`,
          [local.id, this.o.replica, outcome.state, JSON.stringify(outcome.result), outcome.error && JSON.stringify(outcome.error), JSON.stringify(local.progress.snapshot())],
        );
        if (rowCount) local.log.info({ state: outcome.state, code: outcome.error?.code }, 'job finished');
        else local.log.warn({ state: outcome.state }, 'job finished here after it had been ended elsewhere (taken for abandoned); its end stands');
        return;
      } catch (error) {
        local.log.warn({ attempt, err: { message: (error as Error).message } }, 'job: could not record its end');
        if (attempt >= FINISH_ATTEMPTS) return;
        await delay(this.o.settings.heartbeatMs);
      }
    }
  }

  /** Each heartbeat: every local job says it is alive (with its progress when it moved), then the sweep. */
  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      await Promise.all([...this.running.values()].map((local) => this.heartbeat(local)));
      await sweep({ ...this.o, abandonedAfterMs: this.o.settings.abandonedAfterMs, onAbandoned: this.hooks.onAbandoned && ((job, request) => this.release(job, request)) });
      if (Date.now() - this.prunedAt >= this.o.settings.pruneIntervalMs) {
        this.prunedAt = Date.now();
        const deleted = await pruneFinished(this.o.store, this.o.settings.retentionDays);
        if (deleted > 0) this.o.log.info({ deleted, retentionDays: this.o.settings.retentionDays }, 'jobs: finished jobs past their retention deleted');
      }
    } catch (error) {
      this.o.log.warn({ err: { message: (error as Error).message } }, 'jobs: heartbeat or sweep failed');
    } finally {
      this.ticking = false;
    }
  }

  /** Tells the service of a job this replica declared abandoned, without holding up the heartbeat; failures are logged. */
  private async release(job: Job, request: JobRequest): Promise<void> {
    const done: Promise<void> = this.hooks.onAbandoned!(job, request)
      .catch((e: unknown) => this.o.log.warn({ job: job.id, err: { message: (e as Error).message } }, 'jobs: freeing what an abandoned job held failed; its lock is taken over once it goes stale'))
      .finally(() => this.releasing.delete(done));
    this.releasing.add(done);
  }

  private async heartbeat(local: LocalJob): Promise<void> {
    const version = local.progress.version;
    const progress = version !== local.persisted ? JSON.stringify(local.progress.snapshot()) : null;
    const { rows } = await this.o.store.pool.query<{ by: string | null }>(
      `UPDATE ${JOBS} SET heartbeat_at = now(), progress = COALESCE($3::jsonb, progress)
        WHERE id = $1 AND state = 'running' AND replica = $2 RETURNING cancel_requested_by AS by`,
      [local.id, this.o.replica, progress],
    );
    if (!rows[0]) {
      // Ended elsewhere meanwhile (taken for abandoned while this replica was unreachable): stop working on it.
      const why = `the publish replica ${this.o.replica} running it was too late with its heartbeat and the job was ended`;
      if (!local.controller.signal.aborted && this.running.has(local.id)) local.controller.abort(jobInterrupted(local.job, why));
      return;
    }
    local.persisted = version;
    if (rows[0].by) await this.cancelLocal(local.id, rows[0].by);
  }

  /**
   * Stops taking jobs; running ones get `graceMs` to finish, then are aborted
   * (JOB_INTERRUPTED: this replica stopped) and get {@link ABORT_SETTLE_MS} to
   * stop; one that still runs is recorded interrupted regardless.
   */
  async close(graceMs: number): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.o.boss.offWork(QUEUE_NAME);
    while (this.taking) await delay(20);
    const allDone = () => Promise.all([...this.running.values()].map((l) => l.done));
    if (this.running.size) await settledWithin(allDone(), graceMs);
    const left = [...this.running.values()];
    for (const local of left) {
      const why = `the publish replica ${this.o.replica} stopped`;
      if (!local.controller.signal.aborted) local.controller.abort(jobInterrupted(local.job, why));
    }
    if (left.length) await settledWithin(allDone(), ABORT_SETTLE_MS);
    for (const local of [...this.running.values()]) {
      await this.finish(local, this.failure(local, local.controller.signal.reason));
    }
    if (this.timer) clearInterval(this.timer);
    // A heartbeat under way finishes before the engine lets go of pg-boss and the pool; so does freeing what abandoned jobs held.
    while (this.ticking) await delay(20);
    if (this.releasing.size) {
      const settle = new AbortController();
      await Promise.race([Promise.all(this.releasing), delay(ABORT_SETTLE_MS, undefined, { signal: settle.signal }).catch(() => undefined)]);
      settle.abort();
    }
  }
}

/** Waits for `work` at most `ms`; the timer is cleared when the work ends first, so it does not hold the process open. */
async function settledWithin(work: Promise<unknown>, ms: number): Promise<void> {
  const timer = new AbortController();
  await Promise.race([work, delay(ms, undefined, { signal: timer.signal }).catch(() => undefined)]);
  timer.abort();
}
