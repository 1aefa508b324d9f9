/** Durable jobs (issue #17): how many a publish replica runs at once, and how a replica that died is noticed (lib/jobs/postgres). */
import { defineSettings, setting } from '../env.js';

const PUBLISH = ['publish'] as const;

/**
 * Jobs one publish replica runs at once. Each running package holds a source
 * connection, a DuckDB instance (DUCKDB_MEMORY_LIMIT, 64 MB by default) and
 * about three 64 MiB CSV parts in the working folder: four stay well inside the
 * publish pod's 1 GiB memory request (k8s/base/publish) while packages of
 * different projects still run side by side; more replicas add more.
 */
export const DEFAULT_JOBS_CONCURRENCY = 4;
/** How often a running job's replica says it is alive (and persists its progress). */
export const DEFAULT_JOB_HEARTBEAT_MS = 5_000;
/**
 * How long running jobs may finish when the service stops: 20 s, under the
 * process's SHUTDOWN_GRACE_MS (30 s), so that a job still running is stopped
 * (its staging cleaned, its lock freed) and its waiting callers are answered
 * JOB_INTERRUPTED before the process exits.
 */
export const DEFAULT_JOBS_SHUTDOWN_GRACE_MS = 20_000;
/** Six missed heartbeats: long enough to ride out a pause of the replica or a database fail-over, short enough that a retry soon finds the project free. */
export const DEFAULT_JOB_ABANDONED_AFTER_MS = 30_000;

/** Finished jobs kept in the platform database (days): long enough to answer what became of a month's packages. */
export const DEFAULT_JOBS_RETENTION_DAYS = 90;

export const jobSettings = defineSettings({
  JOBS_CONCURRENCY: {
    ...setting.positiveInt(DEFAULT_JOBS_CONCURRENCY),
    services: PUBLISH,
    description:
      'Most package and publish jobs one publish replica runs at once (with a platform database); further jobs wait in the queue for a free replica. Each running package holds a source connection, a DuckDB instance and its CSV parts, so raise it with the pod\'s memory.',
  },
  JOB_HEARTBEAT_MS: {
    ...setting.intAtLeast(DEFAULT_JOB_HEARTBEAT_MS, 100, 'a heartbeat is a write to the platform database'),
    services: PUBLISH,
    description: 'How often the replica running a job records that it is alive, persists the job\'s progress and checks whether it was cancelled; every replica also looks for abandoned jobs at this rate.',
  },
  PUBLISH_REPLICA_NAME: {
    ...setting.optionalString(),
    services: PUBLISH,
    defaultText: 'the host name (the pod\'s name)',
    description:
      'This publish replica\'s name: recorded on the jobs it runs (`Job.replica`) and in the project locks it holds on a filestore mount. Each replica needs its own; replicas with the same name are taken for one host, whose lock holders are judged by their process ids. Leave unset on Kubernetes (the pod\'s name is used).',
  },
  JOB_ABANDONED_AFTER_MS: {
    ...setting.intAtLeast(DEFAULT_JOB_ABANDONED_AFTER_MS, 300, 'it must span several heartbeats'),
    services: PUBLISH,
    description:
      'A running job whose replica has not sent a heartbeat for this long (at least three `JOB_HEARTBEAT_MS`) is marked failed (`JOB_INTERRUPTED`) by any replica, and its project is free for the next call. See docs/state-store.md, "Jobs".',
  },
  JOBS_RETENTION_DAYS: {
    ...setting.intAtLeast(DEFAULT_JOBS_RETENTION_DAYS, 0, '0 keeps finished jobs for ever'),
    services: PUBLISH,
    description:
      'With a platform database: finished jobs (succeeded, failed, cancelled) are deleted this many days after they ended, checked hourly by each publish replica; 0 keeps them. Queued and running jobs are never deleted. The audit trail keeps its own record of every job. See docs/state-store.md, "Jobs".',
  },
  JOBS_SHUTDOWN_GRACE_MS: {
    ...setting.intAtLeast(DEFAULT_JOBS_SHUTDOWN_GRACE_MS, 0, '0 stops running jobs at once'),
    services: PUBLISH,
    description:
      'How long running packages and publications may finish when the service stops; then they are stopped, end failed (`JOB_INTERRUPTED`, 503) and leave nothing half-written. Keep it under `SHUTDOWN_GRACE_MS` (see docs/behaviour.md, "Jobs").',
  },
});
