import type { Job, JobKind, JobState } from '../contract/jobs.js';
import type { PublishRequest, TransferRequest } from '../contract/index.js';
import type { Logger } from '../logging/logger.js';
import type { ProgressTracker } from './progress.js';

/**
 * Durable jobs (issue #17): packages and publications run as jobs that any
 * publish replica may take, one per project and start time at a time, each
 * recorded with its state, who started it, timings, progress and outcome.
 *
 * Two engines implement {@link JobEngine}: in the platform database with
 * pg-boss as the queue (lib/jobs/postgres/, when PLATFORM_DATABASE_URL or
 * PLATFORM_DATABASE_HOST is set), and in the service's memory otherwise
 * (lib/jobs/memory.ts: the replica that accepts a job runs it; lost on restart).
 * The publish service (subgraphs/publish/src/jobs/) supplies the handler that
 * does the work and builds the GraphQL and REST surfaces on top.
 */

/** What a job is asked to do: the request as the contract parsed it. */
export type JobRequest = { kind: 'package'; request: TransferRequest } | { kind: 'publish'; request: PublishRequest };

/** A job to queue. */
export interface JobSubmission {
  job: JobRequest;
  /** The identifier of the API key asking (never the key). */
  startedBy: string;
  /** The request asking (x-request-id). */
  requestId: string;
  /**
   * A caller waits for the job's answer (the synchronous contract): the
   * work's last step after the answer (a publish's settle) is that caller's,
   * once the answer has reached it. False (a job started with
   * startPackage/startPublish): the recorded job is the answer.
   */
  callerWaits?: boolean;
}

/** What submitting answered: the job, and whether it was one already queued or running for the same request (attached). */
export interface Submitted {
  job: Job;
  attached: boolean;
}

/** What a handler gets to run one job. */
export interface JobContext {
  job: Job;
  /** Aborts when the job is cancelled, or when this replica stops before it finishes; reason: an AppError saying which. */
  signal: AbortSignal;
  /** Where the package reports its progress; the engine persists it at a steady rate. */
  progress: ProgressTracker;
  log: Logger;
  /** Whether the job was submitted by a caller that waits for its answer ({@link JobSubmission.callerWaits}). */
  callerWaits: boolean;
  /**
   * Resolves once the job's final state has been recorded (or recording it
   * failed for good), on the replica running it: work that must follow the
   * recorded outcome (a publish's settle when nobody waits) waits for it.
   */
  recorded: Promise<void>;
}

/**
 * Does the work of one job and answers its result payload (the contract's
 * package or publish payload). A thrown AppError ends the job failed with its
 * envelope (code, status, detail); anything else as an internal error.
 */
export type JobHandler = (job: JobRequest, context: JobContext) => Promise<unknown>;

/** What the service is told about jobs beyond running them. */
export interface JobHooks {
  /**
   * A running job was declared abandoned (its replica stopped sending
   * heartbeats) and marked failed; called once, on the replica that noticed,
   * so that what the dead job held (its project lock, its unfinished work) is
   * freed at once rather than when it goes stale. Failures are logged.
   */
  onAbandoned?(job: Job, request: JobRequest): Promise<void>;
}

/** A page of jobs, newest first. */
export interface JobPage {
  jobs: Job[];
  /** Pass as `after` for the next page; null when there is none. */
  endCursor: string | null;
  hasNextPage: boolean;
}

export interface JobQuery {
  projectName: string;
  projectStartTime: string;
  state?: JobState | undefined;
  kind?: JobKind | undefined;
  /** Most jobs in the page (1..100). */
  first: number;
  /** A cursor a previous page answered. */
  after?: string | undefined;
}

export interface JobEngine {
  /** Where jobs are kept: 'memory' or 'postgresql'. */
  readonly kind: 'memory' | 'postgresql';
  /** This replica starts taking jobs and running them with `handler` (and looking for abandoned ones, telling `hooks`). */
  start(handler: JobHandler, hooks?: JobHooks): Promise<void>;
  /**
   * Queues a job. When one for the same project and start time is queued or
   * running: the same request (same kind and the same request fingerprint)
   * attaches to it (`attached: true`); any other is refused PROJECT_BUSY (409)
   * naming the job holding the project.
   */
  submit(submission: JobSubmission): Promise<Submitted>;
  /** The job, or undefined when there is none by that id (an id that is not one is none). */
  get(id: string): Promise<Job | undefined>;
  /** The project's jobs, newest first, in pages; a bad cursor, or `first` outside 1..100, is INVALID_REQUEST (422). */
  list(query: JobQuery): Promise<JobPage>;
  /**
   * Cancels a queued or running job and answers its final state once it has
   * one (a running package is stopped: its source statements cancelled, its
   * staging left clean, its lock freed). A job already final is answered as
   * it is. Unknown id: NOT_FOUND.
   */
  cancel(id: string, by: string): Promise<Job>;
  /** Resolves with the job once it is final (succeeded, failed or cancelled); `signal` stops waiting, not the job. */
  wait(id: string, signal?: AbortSignal): Promise<Job>;
  /** Counts of jobs by state, for /metrics. */
  counts(): Promise<Record<JobState, number>>;
  /**
   * Stops taking jobs; running ones get `graceMs` to finish, then are aborted
   * and end failed saying the replica stopped. Closes what the engine opened.
   */
  close(graceMs?: number): Promise<void>;
}
