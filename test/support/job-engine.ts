/**
 * The PostgreSQL job engine (lib/jobs/postgres) on the machine's PostgreSQL:
 * a platform store in a database of the test file's own, job requests as the
 * contract parses them, and handlers the tests hold and release.
 */
import { transferRequestExample } from '../../lib/contract/examples.js';
import { publishRequestSchema, transferRequestSchema } from '../../lib/contract/index.js';
import type { JobContext, JobEngine, JobRequest } from '../../lib/jobs/engine.js';
import { createPostgresJobEngine } from '../../lib/jobs/postgres/index.js';
import type { PostgresJobSettings } from '../../lib/jobs/postgres/settings.js';
import { AppError, type ErrorCode } from '../../lib/errors.js';
import { createLogger } from '../../lib/logging/logger.js';
import { FileSecretProvider } from '../../lib/secrets/index.js';
import { openPlatformStore, readPlatformStoreSettings, type PlatformStore } from '../../lib/store/index.js';
import { createPgDatabase, pgSettings, type TestPgDatabase } from './databases.js';

export const silentLog = createLogger('publish', 'silent');

/** Short heartbeats, so abandonment is seen within seconds (5 s: a loaded test machine can delay a heartbeat by a second or two). */
export const FAST: Partial<PostgresJobSettings> = { heartbeatMs: 250, abandonedAfterMs: 5_000, concurrency: 2, pollingIntervalSeconds: 0.5 };

export const storeUrl = (database: string) => `postgresql://${pgSettings.user}@${pgSettings.host}:${pgSettings.port}/${database}`;

/** A store opened (and migrated) on `database`. */
export async function openStore(database: string): Promise<PlatformStore> {
  const store = await openPlatformStore({ secrets: new FileSecretProvider('/nonexistent'), log: silentLog, settings: readPlatformStoreSettings({ PLATFORM_DATABASE_URL: storeUrl(database) }) });
  return store!;
}

export interface JobStore {
  db: TestPgDatabase;
  store: PlatformStore;
  /** Engines opened with {@link JobStore.engine}; closed by {@link JobStore.drop}. */
  engines: JobEngine[];
  engine(replica: string, settings?: Partial<PostgresJobSettings>): Promise<JobEngine>;
  drop(): Promise<void>;
}

export async function openJobStore(prefix: string): Promise<JobStore> {
  const db = await createPgDatabase(prefix);
  const store = await openStore(db.database);
  const engines: JobEngine[] = [];
  return {
    db,
    store,
    engines,
    async engine(replica, settings = FAST) {
      const engine = await createPostgresJobEngine({ store, log: silentLog, replica, settings });
      engines.push(engine);
      return engine;
    },
    async drop() {
      await Promise.all(engines.map((e) => e.close(0).catch(() => undefined)));
      await store.close();
      await db.drop();
    },
  };
}

/** A package of `project` at `startTime`, as the contract parses it (its credentials are secret names). */
export function packageJob(project: string, startTime = '20250205_010101', tables = ['person']): JobRequest {
  const body = {
    ...transferRequestExample,
    project_name: project,
    project_start_time: startTime,
    dataset: { ...transferRequestExample.dataset, tables: tables.map((name) => ({ name, description: null, columns: [{ name: 'id', datatype: null, description: null }] })) },
  };
  return { kind: 'package', request: transferRequestSchema.parse(body) };
}

export function publishJob(project: string, startTime = '20250205_010101'): JobRequest {
  return { kind: 'publish', request: publishRequestSchema.parse({ project_name: project, project_start_time: startTime, destination: { name: 'LSC', type: 'filestore', format: 'duckdb' } }) };
}

export const submission = (job: JobRequest, startedBy = 'key-a', requestId = 'req-1') => ({ job, startedBy, requestId });

/**
 * Handlers the test drives: each call is recorded and blocks until the test
 * releases it (with a result or an error), or until its signal aborts (it
 * then throws the abort reason, as a package does).
 */
export class HeldHandlers {
  readonly calls: Array<{ job: JobRequest; context: JobContext }> = [];
  private readonly releases = new Map<string, (outcome: { result?: unknown; error?: unknown }) => void>();
  private readonly arrivals: Array<() => void> = [];

  readonly handler = (job: JobRequest, context: JobContext): Promise<unknown> => {
    this.calls.push({ job, context });
    this.arrivals.splice(0).forEach((wake) => wake());
    return new Promise((resolve, reject) => {
      context.signal.addEventListener('abort', () => reject(context.signal.reason as Error), { once: true });
      this.releases.set(context.job.id, (o) => (o.error !== undefined ? reject(o.error as Error) : resolve(o.result)));
    });
  };

  /** Resolves once `n` calls have arrived. */
  async arrived(n: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.calls.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${this.calls.length} of ${n} jobs reached a handler within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.arrivals.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  context(id: string): JobContext {
    const call = this.calls.find((c) => c.context.job.id === id);
    if (!call) throw new Error(`job ${id} never reached a handler`);
    return call.context;
  }

  release(id: string, outcome: { result?: unknown; error?: unknown }): void {
    const release = this.releases.get(id);
    if (!release) throw new Error(`job ${id} is not held`);
    release(outcome);
  }
}

/** Polls `check` until it answers something truthy (or throws after `timeoutMs`). */
export async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A predicate for assert.rejects: an AppError of `code` answering `status`. */
export const isAppErrorWith = (code: ErrorCode, status: number) => (error: unknown) => error instanceof AppError && error.code === code && error.status === status;
