import type { AuditLog, JobAuditEvent } from '../../../../lib/audit/audit-log.js';
import { FINAL_JOB_STATES, type Job, type JobState, type TableProgress } from '../../../../lib/contract/jobs.js';
import { isAppError, publicError } from '../../../../lib/errors.js';
import type { JobContext, JobEngine, JobHandler, JobHooks, JobQuery, JobSubmission } from '../../../../lib/jobs/engine.js';
import type { ProgressTracker } from '../../../../lib/jobs/progress.js';
import type { Logger } from '../../../../lib/logging/logger.js';
import { JobMetrics, type RunningJobFigures, type ServiceMetrics } from '../../../../lib/metrics/metrics.js';

/** Where the jobs of a publish replica are seen from outside. */
export interface JobObservability {
  service: string;
  audit: AuditLog;
  metrics: ServiceMetrics;
  log: Logger;
  /** How often each running job logs its progress (JOB_PROGRESS_LOG_INTERVAL_MS). */
  progressLogIntervalMs: number;
}

interface Running {
  job: Job;
  progress: ProgressTracker;
}

/** Rows and bytes of a job's tables, summed. */
function totals(tables: TableProgress[]): { rows: number; bytes: number } {
  return tables.reduce((t, p) => ({ rows: t.rows + p.rows, bytes: t.bytes + p.bytes }), { rows: 0, bytes: 0 });
}

/**
 * Any job engine, seen from outside (issue #17), whichever engine it is: the
 * handler it runs jobs with is wrapped so that each job this replica runs
 * logs `job started`, a `job progress` line at a steady rate and `job
 * finished`, writes `job_started` and `job_finished` audit events, shows its
 * rows and bytes in /metrics while it runs and its duration once it ends; a
 * cancellation asked here writes `job_cancelled`, naming the key. Jobs by
 * state come from the engine's counts at each scrape.
 */
export class ObservedJobEngine implements JobEngine {
  private readonly running = new Map<string, Running>();
  private readonly metrics: JobMetrics;

  constructor(
    private readonly engine: JobEngine,
    private readonly obs: JobObservability,
  ) {
    this.metrics = new JobMetrics(obs.metrics.registry, { counts: () => engine.counts(), running: () => this.figures() }, (error) =>
      obs.log.warn({ err: error }, 'job counts could not be read for /metrics'),
    );
  }

  get kind(): JobEngine['kind'] {
    return this.engine.kind;
  }

  start(handler: JobHandler, hooks?: JobHooks): Promise<void> {
    return this.engine.start(this.observed(handler), hooks);
  }

  submit(submission: JobSubmission) {
    return this.engine.submit(submission);
  }

  get(id: string) {
    return this.engine.get(id);
  }

  list(query: JobQuery) {
    return this.engine.list(query);
  }

  async cancel(id: string, by: string): Promise<Job> {
    const before = await this.engine.get(id);
    // Only a cancellation that finds the job still going is one; a final job is answered as it is.
    const cancelling = before !== undefined && !FINAL_JOB_STATES.has(before.state);
    if (cancelling) {
      this.logFor(before).info({ cancelled_by: by, state: before.state }, 'job cancelled');
      await this.audit('job_cancelled', before, by, { state: before.state });
    }
    const job = await this.engine.cancel(id, by);
    // Cancelled before any replica started it: no replica ran it to write its end.
    if (cancelling && job.started_at === null) {
      await this.audit('job_finished', job, job.started_by, { state: job.state, ...(job.error ? { code: job.error.code } : {}), duration_ms: 0 });
    }
    return job;
  }

  wait(id: string, signal?: AbortSignal) {
    return this.engine.wait(id, signal);
  }

  counts() {
    return this.engine.counts();
  }

  close(graceMs?: number) {
    return this.engine.close(graceMs);
  }

  /** The handler, observed: what one job does, logged, audited and measured. */
  private observed(handler: JobHandler): JobHandler {
    return async (request, context) => {
      const { job, progress } = context;
      // Its own bindings, whatever the engine's logger carries.
      const log = this.logFor(job);
      const started = process.hrtime.bigint();
      this.running.set(job.id, { job, progress });
      log.info({ started_by: job.started_by, request_id: job.request_id, replica: job.replica }, 'job started');
      await this.audit('job_started', job, job.started_by);
      const timer = setInterval(() => {
        const tables = progress.snapshot();
        log.info({ ...totals(tables), tables }, 'job progress');
      }, this.obs.progressLogIntervalMs);
      timer.unref();
      let state: JobState = 'succeeded';
      let code: string | undefined;
      try {
        return await handler(request, context);
      } catch (error) {
        ({ state, code } = ending(error, context));
        throw error;
      } finally {
        clearInterval(timer);
        this.running.delete(job.id);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const durationMs = Math.round(seconds * 1000);
        this.metrics.duration.observe({ kind: job.kind, outcome: state }, seconds);
        const tables = progress.snapshot();
        log.info({ state, ...(code ? { code } : {}), duration_ms: durationMs, ...totals(tables), tables }, 'job finished');
        await this.audit('job_finished', job, job.started_by, { state, ...(code ? { code } : {}), duration_ms: durationMs });
      }
    };
  }

  private logFor(job: Job): Logger {
    return this.obs.log.child({ job_id: job.id, job_kind: job.kind, project: job.project_name, start_time: job.project_start_time });
  }

  private figures(): RunningJobFigures[] {
    return [...this.running.values()].map(({ job, progress }) => ({
      id: job.id,
      kind: job.kind,
      project: job.project_name,
      startTime: job.project_start_time,
      ...totals(progress.snapshot()),
    }));
  }

  /** Writes one job event; a failure to write it is logged, and does not change the job. */
  private async audit(action: JobAuditEvent['action'], job: Job, keyId: string, extra: Pick<JobAuditEvent, 'state' | 'code' | 'duration_ms'> = {}): Promise<void> {
    const event: JobAuditEvent = {
      time: new Date().toISOString(),
      service: this.obs.service,
      action,
      key_id: keyId,
      job: {
        id: job.id,
        kind: job.kind,
        project: { name: job.project_name, start_time: job.project_start_time },
        request_id: job.request_id,
        replica: job.replica,
      },
      ...extra,
    };
    await this.obs.audit.record(event).catch((error: unknown) => this.obs.log.error({ err: error, action }, 'audit event could not be written'));
  }
}

/**
 * How a job whose handler threw ends, as the engines decide it: cancelled when
 * its signal was aborted by a cancellation (JOB_CANCELLED), failed otherwise,
 * with the code of the abort's reason or of the error.
 */
function ending(error: unknown, context: JobContext): { state: JobState; code: string } {
  const reason: unknown = context.signal.aborted ? context.signal.reason : error;
  const cancelled = isAppError(reason) && reason.code === 'JOB_CANCELLED';
  return { state: cancelled ? 'cancelled' : 'failed', code: publicError(context.signal.aborted && isAppError(reason) ? reason : error).code };
}
