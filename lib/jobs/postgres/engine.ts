import { randomUUID } from 'node:crypto';
import PgBoss from 'pg-boss';
import type pg from 'pg';
import { FINAL_JOB_STATES, JOB_STATES, type Job, type JobState } from '../../contract/jobs.js';
import { AppError, appError } from '../../errors.js';
import { jobCancelled, jobNotFound, projectBusy } from '../messages.js';
import type { Logger } from '../../logging/logger.js';
import { inTransaction } from '../../store/transaction.js';
import type { PlatformStore } from '../../store/store.js';
import type { JobEngine, JobHandler, JobHooks, JobPage, JobQuery, JobSubmission, Submitted } from '../engine.js';
import { jobFingerprint } from '../fingerprint.js';
import { JobListener } from './listener.js';
import { QUEUE_NAME, QUEUE_SCHEMA } from './queue-schema.js';
import { cursorOf, isJobId, JOB_COLUMNS, jobError, jobOf, JOBS, readCursor, type JobNotification, type JobRow } from './rows.js';
import { JobRunner } from './runner.js';
import { postgresJobSettings, type PostgresJobSettings } from './settings.js';

export interface PostgresJobEngineOptions {
  store: PlatformStore;
  log: Logger;
  /** This replica's name (its pod name): recorded on the jobs it runs and named when it stops or dies. */
  replica: string;
  /** Settings not read from the environment (tests; JOBS_CONCURRENCY and companions otherwise). */
  settings?: Partial<PostgresJobSettings>;
}

/** Attempts at a submission that met a job that ended before it could be read (it then inserts again). */
const SUBMIT_ATTEMPTS = 5;
/** The shortest a cancel waits for a running job's final state. */
const MIN_CANCEL_WAIT_MS = 60_000;

/**
 * The job engine in the platform database (lib/jobs/engine.ts has the
 * contract): opens pg-boss on the store's pool (schema cr8tor_queue, made by
 * migration 002; `migrate: false`, no cron scheduling; its maintenance keeps
 * only archiving and expiry of its own entries), LISTENs for the jobs table's
 * notifications, and answers the engine.
 */
export async function createPostgresJobEngine(options: PostgresJobEngineOptions): Promise<JobEngine> {
  const settings = postgresJobSettings(options.settings);
  const boss = new PgBoss({
    // pg-boss runs its SQL on the store's pool: no pool of its own, the store's password handling.
    db: { executeSql: (text: string, values: unknown[]) => options.store.pool.query(text, values) },
    schema: QUEUE_SCHEMA,
    migrate: false,
    schedule: false,
    supervise: true,
  });
  // pg-boss emits 'error' for failures of its polling and maintenance; unhandled, an EventEmitter 'error' would end the process.
  boss.on('error', (error: Error) => options.log.warn({ err: { message: error.message } }, 'jobs: pg-boss reported an error'));
  await boss.start();
  const engine = new PostgresJobEngine(options, settings, boss);
  try {
    await engine.listen();
  } catch (error) {
    await boss.stop({ graceful: false, close: false }).catch(() => undefined);
    throw error;
  }
  return engine;
}

class PostgresJobEngine implements JobEngine {
  readonly kind = 'postgresql';
  private readonly runner: JobRunner;
  private readonly listener: JobListener;
  /** Who waits for each job's end: each gets a look when the job's state changes. */
  private readonly waiters = new Map<string, Set<() => void>>();
  private closed = false;

  constructor(
    private readonly o: PostgresJobEngineOptions,
    private readonly settings: PostgresJobSettings,
    private readonly boss: PgBoss,
  ) {
    this.runner = new JobRunner({ store: o.store, boss, log: o.log, replica: o.replica, settings });
    this.listener = new JobListener(o.store, o.log, (n) => this.notified(n), () => this.lookAgain());
  }

  async listen(): Promise<void> {
    await this.listener.start();
  }

  private notified(n: JobNotification): void {
    if (n.state === 'queued') this.runner.wake();
    if (n.cancel && n.state === 'running') void this.runner.cancelLocal(n.id).catch(() => undefined);
    if (FINAL_JOB_STATES.has(n.state)) for (const look of this.waiters.get(n.id) ?? []) look();
  }

  /** After the LISTEN connection came back: whatever was missed meanwhile is looked at again. */
  private lookAgain(): void {
    for (const looks of this.waiters.values()) for (const look of looks) look();
    for (const id of this.runner.runningIds) void this.runner.cancelLocal(id).catch(() => undefined);
    this.runner.wake();
  }

  async start(handler: JobHandler, hooks: JobHooks = {}): Promise<void> {
    await this.runner.start(handler, hooks);
  }

  async submit({ job, startedBy, requestId, callerWaits = false }: JobSubmission): Promise<Submitted> {
    // As the memory engine: a replica that stops takes no more work (another replica, or this one restarted, will).
    if (this.closed) throw appError('SHUTTING_DOWN', { service: 'publish' });
    const fingerprint = jobFingerprint(job);
    const { project_name: project, project_start_time: startTime } = job.request;
    for (let attempt = 0; attempt < SUBMIT_ATTEMPTS; attempt++) {
      const created = await this.transaction(async (client) => {
        const id = randomUUID();
        // A submission racing another for the project waits here for the other's transaction, then inserts nothing.
        const { rows } = await client.query<JobRow>(
          `INSERT INTO ${JOBS} (id, kind, project_name, project_start_time, fingerprint, request, started_by, request_id, caller_waits)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (project_name, project_start_time) WHERE state IN ('queued', 'running') DO NOTHING
           RETURNING ${JOB_COLUMNS}`,
          [id, job.kind, project, startTime, fingerprint, JSON.stringify(job.request), startedBy, requestId, callerWaits],
        );
        if (!rows[0]) return undefined;
        // Queued in the same transaction: the job and its queue entry exist together or not at all.
        const queued = await this.boss.send(QUEUE_NAME, { kind: job.kind }, { id, retryLimit: 0, db: { executeSql: (text: string, values: unknown[]) => client.query(text, values) } });
        if (queued !== id) throw new Error(`pg-boss did not queue job ${id} (queue ${QUEUE_NAME} missing?)`);
        return rows[0];
      });
      if (created) {
        this.runner.wake();
        this.o.log.info({ job: created.id, kind: created.kind, project, startTime, startedBy, requestId }, 'job queued');
        return { job: jobOf(created), attached: false };
      }
      const { rows } = await this.o.store.pool.query<JobRow>(
        `SELECT ${JOB_COLUMNS} FROM ${JOBS} WHERE project_name = $1 AND project_start_time = $2 AND state IN ('queued', 'running')`,
        [project, startTime],
      );
      const holder = rows[0];
      if (!holder) continue; // it ended meanwhile: insert again
      if (holder.fingerprint === fingerprint) return { job: jobOf(holder), attached: true };
      throw projectBusy(jobOf(holder));
    }
    throw new Error(`jobs of project '${project}' (start time ${startTime}) kept ending while a submission looked at them`);
  }

  async get(id: string): Promise<Job | undefined> {
    const row = await this.row(id);
    return row && this.live(jobOf(row));
  }

  /** A job running on this replica is answered with its live progress; one running elsewhere, as of its last heartbeat. */
  private live(job: Job): Job {
    const progress = job.state === 'running' ? this.runner.liveProgress(job.id) : undefined;
    return progress ? { ...job, progress } : job;
  }

  private async row(id: string, client: pg.Pool | pg.PoolClient = this.o.store.pool, lock = ''): Promise<JobRow | undefined> {
    if (!isJobId(id)) return undefined;
    const { rows } = await client.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM ${JOBS} WHERE id = $1 ${lock}`, [id]);
    return rows[0];
  }

  async list(query: JobQuery): Promise<JobPage> {
    if (!Number.isInteger(query.first) || query.first < 1 || query.first > 100) {
      throw appError('INVALID_REQUEST', { problem: "'first' must be a whole number from 1 to 100" });
    }
    const after = query.after === undefined ? undefined : readCursor(query.after);
    // PostgreSQL text cannot hold U+0000: no project is so named.
    if (query.projectName.includes('\u0000') || query.projectStartTime.includes('\u0000')) return { jobs: [], endCursor: null, hasNextPage: false };
    const { rows } = await this.o.store.pool.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM ${JOBS}
        WHERE project_name = $1 AND project_start_time = $2 AND ($3::text IS NULL OR state = $3) AND ($4::text IS NULL OR kind = $4)
          AND ($5::timestamptz IS NULL OR (created_at, id) < ($5::timestamptz, $6::uuid))
        ORDER BY created_at DESC, id DESC LIMIT $7`,
      [query.projectName, query.projectStartTime, query.state ?? null, query.kind ?? null, after?.at ?? null, after?.id ?? null, query.first + 1],
    );
    const page = rows.slice(0, query.first);
    const last = page.at(-1);
    return { jobs: page.map((r) => this.live(jobOf(r))), endCursor: last ? cursorOf(last) : null, hasNextPage: rows.length > query.first };
  }

  async cancel(id: string, by: string): Promise<Job> {
    const notFound = () => jobNotFound(id);
    const row = await this.transaction(async (client) => {
      const current = await this.row(id, client, 'FOR UPDATE');
      if (!current) throw notFound();
      if (current.state === 'queued') {
        const cancelled = jobCancelled(jobOf(current), by);
        const { rows } = await client.query<JobRow>(
          `UPDATE ${JOBS} SET state = 'cancelled', finished_at = now(), cancel_requested_at = now(), cancel_requested_by = $2, error = $3 WHERE id = $1 RETURNING ${JOB_COLUMNS}`,
          [id, by, JSON.stringify(jobError(cancelled))],
        );
        await this.boss.cancel(QUEUE_NAME, id, { db: { executeSql: (text: string, values: unknown[]) => client.query(text, values) } });
        return rows[0]!;
      }
      if (current.state === 'running') {
        // The first to ask is the one recorded (and named in the job's error).
        await client.query(`UPDATE ${JOBS} SET cancel_requested_at = COALESCE(cancel_requested_at, now()), cancel_requested_by = COALESCE(cancel_requested_by, $2) WHERE id = $1`, [id, by]);
      }
      return current;
    });
    this.o.log.info({ job: id, by, state: row.state }, 'job cancellation requested');
    if (row.state !== 'running') return jobOf(row);
    // Where it runs here, at once; elsewhere its replica hears the notification (or its next heartbeat sees the request).
    await this.runner.cancelLocal(id);
    try {
      return await this.wait(id, AbortSignal.timeout(this.cancelWaitMs()));
    } catch (error) {
      if (error instanceof AppError) throw error;
      // Not final within the bound (its replica is slow to stop): answered as it is, cancellation requested.
      const job = await this.get(id);
      if (!job) throw notFound();
      return job;
    }
  }

  /** A cancel's wait for the final state: long enough for a dead replica's job to be swept (JOB_ABANDONED_AFTER_MS and two heartbeats), and at least a minute. */
  cancelWaitMs(): number {
    return Math.max(MIN_CANCEL_WAIT_MS, this.settings.abandonedAfterMs + 2 * this.settings.heartbeatMs);
  }

  wait(id: string, signal?: AbortSignal): Promise<Job> {
    return new Promise<Job>((resolve, reject) => {
      let settled = false;
      const looks = this.waiters.get(id) ?? new Set<() => void>();
      this.waiters.set(id, looks);
      const end = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearInterval(poll);
        signal?.removeEventListener('abort', onAbort);
        looks.delete(look);
        if (!looks.size) this.waiters.delete(id);
        outcome();
      };
      const look = () => {
        this.get(id).then(
          (job) => {
            if (!job) end(() => reject(jobNotFound(id)));
            else if (FINAL_JOB_STATES.has(job.state)) end(() => resolve(job));
          },
          (error: unknown) => end(() => reject(error instanceof Error ? error : new Error(String(error)))),
        );
      };
      const onAbort = () => end(() => reject(signal!.reason));
      // The notification is the fast path; polling at the heartbeat's rate covers a notification lost with its connection.
      const poll = setInterval(look, this.settings.heartbeatMs);
      looks.add(look);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      look();
    });
  }

  async counts(): Promise<Record<JobState, number>> {
    const { rows } = await this.o.store.pool.query<{ state: JobState; n: number }>(`SELECT state, count(*)::int AS n FROM ${JOBS} GROUP BY state`);
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const { state, n } of rows) counts[state] = n;
    return counts;
  }

  async close(graceMs = 0): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.runner.close(graceMs);
    await this.boss.stop({ graceful: false, close: false, wait: true }).catch((e: unknown) => this.o.log.warn({ err: { message: (e as Error).message } }, 'jobs: stopping pg-boss failed'));
    await this.listener.close();
  }

  private transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.o.store.pool, work);
  }
}
