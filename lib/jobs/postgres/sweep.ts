import type PgBoss from 'pg-boss';
import type { Logger } from '../../logging/logger.js';
import type { PlatformStore } from '../../store/store.js';
import type { JobHooks, JobRequest } from '../engine.js';
import { jobInterrupted } from '../messages.js';
import { QUEUE_NAME, QUEUE_SCHEMA } from './queue-schema.js';
import { JOB_COLUMNS, jobError, jobOf, JOBS, type JobRow } from './rows.js';

export interface SweepContext {
  store: PlatformStore;
  boss: PgBoss;
  log: Logger;
  abandonedAfterMs: number;
  /** Told of each running job this sweep declared abandoned (after it was marked failed); must not throw (the runner's logs its failures). */
  onAbandoned?: JobHooks['onAbandoned'];
}

/** `now() - abandonedAfterMs`, as SQL on parameter $1 (the database's clock is the one every replica's heartbeat used). */
const STALE = `now() - $1::int * interval '1 millisecond'`;

/**
 * Ends the jobs nobody will finish; run by every replica at each heartbeat
 * (each update is guarded, so replicas sweeping together end a job once):
 * - a running job whose replica has not sent a heartbeat for
 *   `abandonedAfterMs` (killed, partitioned away, frozen): failed with
 *   JOB_INTERRUPTED naming the replica and its last heartbeat, and its pg-boss
 *   entry failed (never retried);
 * - a queued job whose pg-boss entry was taken by a worker that never marked
 *   it running within `abandonedAfterMs` (its replica stopped in between):
 *   the entry is handed back to the queue;
 * - a queued job whose pg-boss entry is gone (or ended): failed the same way,
 *   rather than queued forever.
 * Answers the ids it ended.
 */
export async function sweep({ store, boss, log, abandonedAfterMs, onAbandoned }: SweepContext): Promise<string[]> {
  const ended: string[] = [];
  const stale = await store.pool.query<JobRow & { heartbeat_at: Date; request: unknown }>(
    `SELECT ${JOB_COLUMNS}, heartbeat_at, request FROM ${JOBS} WHERE state = 'running' AND heartbeat_at < ${STALE}`,
    [abandonedAfterMs],
  );
  for (const row of stale.rows) {
    const why = `the publish replica ${row.replica} running it stopped sending heartbeats at ${row.heartbeat_at.toISOString()}`;
    const error = jobError(jobInterrupted(jobOf(row), why));
    const { rows: [failed] } = await store.pool.query<JobRow>(
      `UPDATE ${JOBS} SET state = 'failed', finished_at = now(), error = $3 WHERE id = $2 AND state = 'running' AND heartbeat_at < ${STALE} RETURNING ${JOB_COLUMNS}`,
      [abandonedAfterMs, row.id, JSON.stringify(error)],
    );
    if (!failed) continue;
    ended.push(row.id);
    log.warn({ job: row.id, kind: row.kind, replica: row.replica, heartbeatAt: row.heartbeat_at.toISOString() }, 'jobs: a running job was abandoned by its replica; marked failed');
    await boss.fail(QUEUE_NAME, row.id, { reason: why }).catch((e: unknown) => log.warn({ job: row.id, err: { message: (e as Error).message } }, 'jobs: could not fail the queue entry'));
    // Only the replica whose update ended the job gets here: what the dead job held is freed once.
    await onAbandoned?.(jobOf(failed), { kind: row.kind, request: row.request } as JobRequest);
  }
  // Taken by a worker that never marked it running (its replica stopped between the two): handed back to the queue.
  const stuck = await store.pool.query<{ id: string }>(
    `SELECT j.id FROM ${JOBS} j JOIN "${QUEUE_SCHEMA}".job q ON q.name = $2 AND q.id = j.id
      WHERE j.state = 'queued' AND q.state = 'active' AND q.started_on < ${STALE}`,
    [abandonedAfterMs, QUEUE_NAME],
  );
  for (const { id } of stuck.rows) {
    log.warn({ job: id }, 'jobs: a queued job was taken by a replica that never started it; handed back to the queue');
    await requeue(boss, id);
  }
  // No queue entry waiting (created, retry) or taken (active): nothing will ever run it.
  const lostQueueEntry = `j.state = 'queued' AND j.created_at < ${STALE} AND NOT EXISTS (
      SELECT 1 FROM "${QUEUE_SCHEMA}".job q WHERE q.name = $2 AND q.id = j.id AND q.state <= 'active')`;
  const lost = await store.pool.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM ${JOBS} j WHERE ${lostQueueEntry}`, [abandonedAfterMs, QUEUE_NAME]);
  for (const row of lost.rows) {
    const why = 'its entry in the queue was lost before a publish replica started it';
    const error = jobError(jobInterrupted(jobOf(row), why));
    const { rowCount } = await store.pool.query(`UPDATE ${JOBS} j SET state = 'failed', finished_at = now(), error = $4 WHERE j.id = $3 AND ${lostQueueEntry}`, [
      abandonedAfterMs,
      QUEUE_NAME,
      row.id,
      JSON.stringify(error),
    ]);
    if (!rowCount) continue;
    ended.push(row.id);
    log.warn({ job: row.id, kind: row.kind }, 'jobs: a queued job had lost its queue entry; marked failed');
  }
  return ended;
}

/** Rows one prune deletes per statement, and statements per prune: a big backlog goes over several prunes, never in one long lock. */
const PRUNE_BATCH = 1_000;
const PRUNE_BATCHES = 10;

/**
 * Deletes finished jobs (succeeded, failed, cancelled) that ended more than
 * `retentionDays` ago, in batches; queued and running jobs are never touched.
 * Answers how many it deleted. (pg-boss archives and deletes its own queue
 * entries on its own schedule.)
 */
export async function pruneFinished(store: PlatformStore, retentionDays: number): Promise<number> {
  if (retentionDays <= 0) return 0;
  let deleted = 0;
  for (let batch = 0; batch < PRUNE_BATCHES; batch++) {
    const { rowCount } = await store.pool.query(
      `DELETE FROM ${JOBS} WHERE id IN (
         SELECT id FROM ${JOBS} WHERE state IN ('succeeded', 'failed', 'cancelled') AND finished_at < now() - $1::int * interval '1 day' LIMIT ${PRUNE_BATCH})`,
      [retentionDays],
    );
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < PRUNE_BATCH) break;
  }
  return deleted;
}

/** Puts a taken queue entry back in the queue, with pg-boss's own calls (cancel, then resume: state created again). */
export async function requeue(boss: PgBoss, id: string): Promise<void> {
  await boss.cancel(QUEUE_NAME, id);
  await boss.resume(QUEUE_NAME, id);
}
