/**
 * Finished jobs are kept JOBS_RETENTION_DAYS in the platform database, then
 * deleted by the replicas' heartbeat (once per prune interval, hourly); queued
 * and running jobs are never deleted, however old, and 0 keeps every job.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { pruneFinished } from '../../../lib/jobs/postgres/sweep.js';
import { eventually, FAST, openJobStore, type JobStore } from '../../support/job-engine.js';

let js: JobStore;

before(async () => {
  js = await openJobStore('jobs_retention');
});

after(async () => {
  await js?.drop();
});

/** A job row as the engine writes it, ended (or not) `daysAgo` days ago. */
async function job(state: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled', daysAgo: number): Promise<string> {
  const id = randomUUID();
  const at = `now() - ${daysAgo} * interval '1 day'`;
  const final = state !== 'queued' && state !== 'running';
  await js.store.pool.query(
    `INSERT INTO cr8tor_platform.jobs (id, kind, project_name, project_start_time, state, fingerprint, request, started_by, request_id, created_at, started_at, finished_at, replica, heartbeat_at)
     VALUES ($1, 'package', $2, '20250101_000000', $3, 'f', '{}', 'key-a', 'req', ${at}, ${state === 'queued' ? 'NULL' : at}, ${final ? at : 'NULL'}, ${state === 'queued' ? 'NULL' : "'r'"}, ${state === 'queued' ? 'NULL' : at})`,
    [id, `Retention${id.slice(0, 8)}`, state],
  );
  return id;
}

async function present(ids: string[]): Promise<string[]> {
  const { rows } = await js.store.pool.query<{ id: string }>('SELECT id FROM cr8tor_platform.jobs WHERE id = ANY($1::uuid[])', [ids]);
  return ids.filter((id) => rows.some((r) => r.id === id));
}

test('pruneFinished: only finished jobs that ended before the retention go; queued and running ones stay however old; 0 keeps all', async () => {
  const old = [await job('succeeded', 31), await job('failed', 40), await job('cancelled', 365)];
  const kept = [await job('succeeded', 29), await job('failed', 1), await job('queued', 400), await job('running', 400)];
  assert.equal(await pruneFinished(js.store, 0), 0, '0 keeps every job');
  assert.deepEqual(await present(old), old);
  assert.equal(await pruneFinished(js.store, 30), 3);
  assert.deepEqual(await present(old), [], 'finished more than 30 days ago: deleted');
  assert.deepEqual(await present(kept), kept, 'recent, queued and running jobs stay');
});

test('a started replica prunes at its heartbeat (JOBS_RETENTION_DAYS)', async () => {
  const engine = await js.engine('retention-replica', { ...FAST, retentionDays: 30, pruneIntervalMs: 500 });
  await engine.start(async () => null);
  const old = await job('succeeded', 60);
  const recent = await job('succeeded', 2);
  await eventually(async () => (await present([old])).length === 0, 'the old job is deleted by the heartbeat');
  assert.deepEqual(await present([recent]), [recent]);
});
