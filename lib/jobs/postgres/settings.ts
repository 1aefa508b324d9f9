import { ConfigError, readSettings } from '../../config/env.js';
import { jobSettings } from '../../config/settings/index.js';

/** How the PostgreSQL job engine runs (lib/config/settings/jobs.ts). */
export interface PostgresJobSettings {
  /** Jobs this replica runs at once (JOBS_CONCURRENCY). */
  concurrency: number;
  /** JOB_HEARTBEAT_MS. */
  heartbeatMs: number;
  /** JOB_ABANDONED_AFTER_MS. */
  abandonedAfterMs: number;
  /** How often an idle worker asks pg-boss for a job when no notification woke it (s, at least 0.5). */
  pollingIntervalSeconds: number;
  /** JOBS_RETENTION_DAYS: finished jobs older than this are deleted (0: never). */
  retentionDays: number;
  /** How often a replica deletes finished jobs past their retention (ms). */
  pruneIntervalMs: number;
}

/** An idle worker's fallback poll: submissions wake workers at once (NOTIFY), so this only matters when a notification is lost. */
const POLLING_INTERVAL_SECONDS = 2;
/** Pruning finished jobs once an hour per replica is plenty: it only bounds the table's growth. */
const PRUNE_INTERVAL_MS = 3_600_000;

/** The settings: those given, the rest from the environment; JOB_ABANDONED_AFTER_MS must span at least three heartbeats. */
export function postgresJobSettings(given: Partial<PostgresJobSettings> = {}, env?: NodeJS.ProcessEnv): PostgresJobSettings {
  const s = readSettings(jobSettings, env);
  const settings: PostgresJobSettings = {
    concurrency: given.concurrency ?? s.JOBS_CONCURRENCY,
    heartbeatMs: given.heartbeatMs ?? s.JOB_HEARTBEAT_MS,
    abandonedAfterMs: given.abandonedAfterMs ?? s.JOB_ABANDONED_AFTER_MS,
    pollingIntervalSeconds: given.pollingIntervalSeconds ?? POLLING_INTERVAL_SECONDS,
    retentionDays: given.retentionDays ?? s.JOBS_RETENTION_DAYS,
    pruneIntervalMs: given.pruneIntervalMs ?? PRUNE_INTERVAL_MS,
  };
  if (settings.abandonedAfterMs < 3 * settings.heartbeatMs) {
    throw new ConfigError(
      `Invalid setting JOB_ABANDONED_AFTER_MS: must be at least three heartbeats (3 × JOB_HEARTBEAT_MS = ${3 * settings.heartbeatMs} ms), or a live job would be taken for abandoned (got ${settings.abandonedAfterMs}).`,
    );
  }
  return settings;
}
