/**
 * The job tables' migrations: 002 is exactly what the pinned pg-boss generates
 * for its schema (a pg-boss upgrade must come with a new migration), pg-boss
 * starts on it without migrating anything itself and refuses a schema of
 * another version, and 003's constraints hold one active job per project.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { createPostgresJobEngine } from '../../../lib/jobs/postgres/index.js';
import { installedPgBossVersion, PG_BOSS_VERSION, QUEUE_MIGRATION_FILE, QUEUE_NAME, QUEUE_SCHEMA, queueMigrationSql } from '../../../lib/jobs/postgres/queue-schema.js';
import { MIGRATIONS_DIR } from '../../../lib/store/migrate.js';
import { openJobStore, silentLog, type JobStore } from '../../support/job-engine.js';

describe('migration 002: pg-boss’s construction SQL', () => {
  test('the committed file is what the installed pg-boss generates, and pg-boss is the pinned release', async () => {
    const committed = await readFile(new URL(QUEUE_MIGRATION_FILE, MIGRATIONS_DIR), 'utf8');
    assert.equal(committed, queueMigrationSql(), `${QUEUE_MIGRATION_FILE} differs from pg-boss ${installedPgBossVersion()}'s construction SQL: a pg-boss upgrade needs a new migration`);
    assert.equal(installedPgBossVersion(), PG_BOSS_VERSION);
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
    assert.equal(pkg.dependencies['pg-boss'], PG_BOSS_VERSION, 'pinned exactly');
    assert.doesNotMatch(committed, /^\s*(BEGIN|COMMIT);/m, 'the runner holds the transaction');
  });
});

describe('on a migrated store', () => {
  let js: JobStore;
  before(async () => (js = await openJobStore('jobs_migrations')));
  after(async () => js?.drop());

  test('pg-boss’s schema at its version, the queue never retrying, and the jobs table', async () => {
    const q = js.db.client;
    assert.deepEqual((await q.query(`SELECT version FROM "${QUEUE_SCHEMA}".version`)).rows, [{ version: 24 }]);
    const queue = await q.query(`SELECT policy, retry_limit, expire_seconds FROM "${QUEUE_SCHEMA}".queue WHERE name = $1`, [QUEUE_NAME]);
    assert.deepEqual(queue.rows, [{ policy: 'standard', retry_limit: 0, expire_seconds: 82_800 }]);
    const applied = await q.query('SELECT version, name FROM cr8tor_platform.schema_migrations WHERE version IN (2, 3) ORDER BY version');
    assert.deepEqual(applied.rows, [
      { version: 2, name: 'job_queue' },
      { version: 3, name: 'jobs' },
    ]);
  });

  test('at most one queued or running job per project and start time, whatever its kind; states are the five', async () => {
    const q = js.db.client;
    const insert = (id: string, kind: string, state: string, time = '20250101_000000') =>
      q.query(
        `INSERT INTO cr8tor_platform.jobs (id, kind, project_name, project_start_time, state, fingerprint, request, started_by, request_id, finished_at, replica, started_at, heartbeat_at)
         VALUES ($1, $2, 'Uniq', $4, $3, 'f', '{}', 'k', 'r', CASE WHEN $3 IN ('queued', 'running') THEN NULL ELSE now() END,
                 CASE WHEN $3 = 'running' THEN 'r1' END, CASE WHEN $3 = 'running' THEN now() END, CASE WHEN $3 = 'running' THEN now() END)`,
        [id, kind, state, time],
      );
    await insert('00000000-0000-4000-8000-000000000001', 'package', 'running');
    await assert.rejects(insert('00000000-0000-4000-8000-000000000002', 'publish', 'queued'), /jobs_one_active_per_project/);
    await insert('00000000-0000-4000-8000-000000000003', 'publish', 'succeeded');
    await insert('00000000-0000-4000-8000-000000000004', 'publish', 'queued', '20250101_000001');
    await assert.rejects(insert('00000000-0000-4000-8000-000000000005', 'package', 'paused', '20250101_000002'), /check constraint/);
    await assert.rejects(insert('00000000-0000-4000-8000-000000000006', 'validate', 'failed', '20250101_000002'), /check constraint/);
    await q.query('DELETE FROM cr8tor_platform.jobs');
  });

  test('pg-boss starts with migrate: false, and refuses a schema of another version rather than migrating it', async () => {
    const engine = await createPostgresJobEngine({ store: js.store, log: silentLog, replica: 'r' });
    await engine.close();
    await js.db.client.query(`UPDATE "${QUEUE_SCHEMA}".version SET version = 23`);
    try {
      await assert.rejects(createPostgresJobEngine({ store: js.store, log: silentLog, replica: 'r' }), /pg-boss database requires migrations/);
      assert.deepEqual((await js.db.client.query(`SELECT version FROM "${QUEUE_SCHEMA}".version`)).rows, [{ version: 23 }]);
    } finally {
      await js.db.client.query(`UPDATE "${QUEUE_SCHEMA}".version SET version = 24`);
    }
  });
});
