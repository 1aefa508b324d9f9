/**
 * The platform database (lib/store) on the machine's PostgreSQL, in a database
 * of this file's own: its settings, its versioned migrations (once, under a
 * lock, all or nothing, never edited after they ran) and the project records
 * kept there, bounded in SQL.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { ConfigError } from '../../../lib/config/env.js';
import { validationRecordSchema, type ValidationRecord } from '../../../lib/contract/index.js';
import { createLogger } from '../../../lib/logging/logger.js';
import { RECORDS_PER_PROJECT } from '../../../lib/project-log.js';
import { FileSecretProvider } from '../../../lib/secrets/index.js';
import { sourceSecretPolicyFromEnv } from '../../../lib/secrets/source-credentials.js';
import { loadMigrations, migrate } from '../../../lib/store/migrate.js';
import { openPlatformStore, readPlatformStoreSettings, StoredProjectRecords, type PlatformStore } from '../../../lib/store/index.js';
import { createPgDatabase, pgSettings, type TestPgDatabase } from '../../support/databases.js';
import { startFakePostgres } from '../../support/fake-postgres.js';
import { testTls } from '../../support/keyvault-double.js';

const log = createLogger('metadata', 'silent');
/** Every process warning of this file's run (`pg` warns once per process, whichever test reads a URL first). */
const warnings: string[] = [];
process.on('warning', (warning) => warnings.push(warning.message));
let tmp: string;
let secrets: FileSecretProvider;

const urlOf = (database: string) => `postgresql://${pgSettings.user}@${pgSettings.host}:${pgSettings.port}/${database}`;
const open = (database: string) => openPlatformStore({ secrets, log, settings: readPlatformStoreSettings({ PLATFORM_DATABASE_URL: urlOf(database) }) });

async function migrationsIn(files: Record<string, string>): Promise<URL> {
  const dir = await mkdtemp(path.join(tmp, 'migrations-'));
  for (const [name, sql] of Object.entries(files)) await writeFile(path.join(dir, name), sql);
  return pathToFileURL(`${dir}/`);
}

async function appliedVersions(client: pg.Client): Promise<number[]> {
  const { rows } = await client.query<{ version: number }>('SELECT version FROM cr8tor_platform.schema_migrations ORDER BY version');
  return rows.map((r) => r.version);
}

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'cr8tor-store-'));
  secrets = new FileSecretProvider(tmp);
});

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('the platform database settings', () => {
  test('none set: no store; URL or host, not both; the companions of a host are required', () => {
    assert.equal(readPlatformStoreSettings({}), undefined);
    const byUrl = readPlatformStoreSettings({ PLATFORM_DATABASE_URL: 'postgresql://svc@db.example:6432/platform?sslmode=require', PLATFORM_DATABASE_PASSWORD_SECRET_NAME: 'platform-db' });
    assert.equal(byUrl?.description, 'svc@db.example:6432/platform');
    assert.equal(byUrl?.passwordSecretName, 'platform-db');
    const byHost = readPlatformStoreSettings({ PLATFORM_DATABASE_HOST: 'db', PLATFORM_DATABASE_NAME: 'platform', PLATFORM_DATABASE_USERNAME: 'svc', PLATFORM_DATABASE_SSL: 'true' });
    assert.deepEqual([byHost?.description, byHost?.connection.ssl], ['svc@db:5432/platform', { rejectUnauthorized: true }]);
    const refused = (env: NodeJS.ProcessEnv, setting: string) =>
      assert.throws(() => readPlatformStoreSettings(env), (e: unknown) => e instanceof ConfigError && e.message.startsWith(`Invalid setting ${setting}:`), JSON.stringify(env));
    refused({ PLATFORM_DATABASE_URL: 'postgresql://a@b/c', PLATFORM_DATABASE_HOST: 'b' }, 'PLATFORM_DATABASE_HOST');
    refused({ PLATFORM_DATABASE_HOST: 'db', PLATFORM_DATABASE_USERNAME: 'svc' }, 'PLATFORM_DATABASE_NAME');
    refused({ PLATFORM_DATABASE_HOST: 'db', PLATFORM_DATABASE_NAME: 'platform' }, 'PLATFORM_DATABASE_USERNAME');
  });

  test('a bad URL names the setting and never shows its password', () => {
    for (const url of ['mysql://svc:Hunter2-in-url@db/platform', 'postgresql://svc:Hunter2-in-url@db', 'postgresql://svc:Hunter2-in-url@', 'svc:Hunter2-in-url@db/platform']) {
      assert.throws(
        () => readPlatformStoreSettings({ PLATFORM_DATABASE_URL: url }),
        (e: unknown) => e instanceof ConfigError && e.message.startsWith('Invalid setting PLATFORM_DATABASE_URL:') && !e.message.includes('Hunter2'),
        url,
      );
    }
  });

  test("sslmode=prefer, require and verify-ca check the server's certificate as verify-full does, with no warning; uselibpqcompat=true keeps libpq's meaning", async () => {
    // A server with a certificate no one trusts, which would ask for the password in clear text.
    const fake = await startFakePostgres('cleartext', { tls: await testTls() });
    const opening = (query: string) =>
      openPlatformStore({ secrets, log, settings: readPlatformStoreSettings({ PLATFORM_DATABASE_URL: `postgresql://svc:Hunter2-in-url@127.0.0.1:${fake.port}/platform?${query}` }) });
    try {
      for (const mode of ['prefer', 'require', 'verify-ca', 'verify-full']) {
        await assert.rejects(opening(`sslmode=${mode}`), (e: unknown) => e instanceof ConfigError && /certificate/i.test(e.message) && !e.message.includes('Hunter2'), mode);
      }
      assert.deepEqual(fake.passwords, [], 'no password sent to a server whose certificate is not trusted');
      // The operator's explicit choice of libpq's meaning: TLS without a certificate check, so the login goes ahead (and is refused).
      await assert.rejects(opening('sslmode=require&uselibpqcompat=true'), (e: unknown) => e instanceof ConfigError && /password authentication failed/.test(e.message) && !e.message.includes('Hunter2'));
      assert.deepEqual([fake.passwords, fake.encrypted], [['Hunter2-in-url'], [true]]);
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(warnings.filter((w) => /ssl ?mode/i.test(w)), [], 'pg warned about an sslmode on standard error');
    } finally {
      await fake.stop();
    }
  });

  test('its password secret is a platform secret: never usable as a source credential', () => {
    assert.ok(sourceSecretPolicyFromEnv({ PLATFORM_DATABASE_PASSWORD_SECRET_NAME: 'platform-db-password' }).platformSecrets.includes('platform-db-password'));
  });

  test('a database that cannot be reached, or a password secret that is missing, stops the start naming the setting, without the password', async () => {
    const unreachable = openPlatformStore({ secrets, log, settings: readPlatformStoreSettings({ PLATFORM_DATABASE_URL: 'postgresql://svc:Hunter2-in-url@127.0.0.1:1/platform', PLATFORM_DATABASE_CONNECT_TIMEOUT_MS: '2000' }) });
    await assert.rejects(unreachable, (e: unknown) => e instanceof ConfigError && /svc@127\.0\.0\.1:1\/platform \(PLATFORM_DATABASE_URL\)/.test(e.message) && !e.message.includes('Hunter2'));
    const noSecret = openPlatformStore({ secrets, log, settings: readPlatformStoreSettings({ PLATFORM_DATABASE_URL: urlOf('postgres'), PLATFORM_DATABASE_PASSWORD_SECRET_NAME: 'no-such-secret' }) });
    await assert.rejects(noSecret, (e: unknown) => e instanceof ConfigError && e.message.includes('PLATFORM_DATABASE_PASSWORD_SECRET_NAME') && e.message.includes('no-such-secret'));
  });
});

describe('migrations', () => {
  let db: TestPgDatabase;
  before(async () => (db = await createPgDatabase('store_migrate')));
  after(async () => db?.drop());

  test('apply once, from many connections at once, and are up to date on every later start', async () => {
    const versions = (await loadMigrations()).map((m) => m.version);
    assert.deepEqual(versions.slice(0, 1), [1]);
    // Four services starting together: one migrates, the others wait on the lock and find nothing to do.
    const pools = Array.from({ length: 4 }, () => new pg.Pool({ ...pgSettings, database: db.database, max: 1 }));
    try {
      const applied = await Promise.all(pools.map(async (pool) => migrate(pool, await loadMigrations())));
      assert.deepEqual(applied.flat().sort(), versions);
      assert.equal(applied.filter((a) => a.length > 0).length, 1);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
    assert.deepEqual(await appliedVersions(db.client), versions);
    const again = await open(db.database);
    await again!.close();
    assert.deepEqual(await appliedVersions(db.client), versions);
    const { rows } = await db.client.query("SELECT to_regclass('cr8tor_platform.project_records') AS t");
    assert.equal(rows[0].t, 'cr8tor_platform.project_records');
  });

  test('a failing migration leaves nothing of itself; one edited after it ran is refused', async () => {
    const scratch = await createPgDatabase('store_migfail');
    const pool = new pg.Pool({ ...pgSettings, database: scratch.database, max: 1 });
    try {
      const first = '001_first.sql';
      const good = await migrationsIn({ [first]: 'CREATE TABLE cr8tor_platform.first (id int);' });
      assert.deepEqual(await migrate(pool, await loadMigrations(good)), [1]);
      const failing = await migrationsIn({ [first]: 'CREATE TABLE cr8tor_platform.first (id int);', '002_second.sql': 'CREATE TABLE cr8tor_platform.second (id int);\nSELECT no_such_function();' });
      await assert.rejects(migrate(pool, await loadMigrations(failing)), /no_such_function/);
      assert.deepEqual(await appliedVersions(scratch.client), [1]);
      const { rows } = await scratch.client.query("SELECT to_regclass('cr8tor_platform.second') AS t");
      assert.equal(rows[0].t, null);
      const edited = await migrationsIn({ [first]: 'CREATE TABLE cr8tor_platform.first (id bigint);' });
      await assert.rejects(migrate(pool, await loadMigrations(edited)), /migration 1 \(first\) was changed after it was applied/);
      await assert.rejects(loadMigrations(await migrationsIn({ 'first.sql': 'SELECT 1;' })), /not a migration/);
    } finally {
      await pool.end();
      await scratch.drop();
    }
  });
});

describe('project records in the store', () => {
  let db: TestPgDatabase;
  let store: PlatformStore;
  before(async () => {
    db = await createPgDatabase('store_records');
    store = (await open(db.database))!;
  });
  after(async () => {
    await store?.close();
    await db?.drop();
  });

  const record = (n: number): ValidationRecord => ({ validated_at: `2025-01-01T00:00:${String(n).padStart(2, '0')}Z`, source: 'postgresql db', destination: 'LSC (filestore, csv)', outcome: `run ${n}`, approval: null });

  test('newest first, the newest per project and start time kept in the table, other projects and kinds apart', async () => {
    const validations = new StoredProjectRecords(store, 'validation', validationRecordSchema);
    for (let n = 0; n < RECORDS_PER_PROJECT + 5; n++) await validations.add('P', 'T1', record(n));
    await validations.add('P', 'T2', record(99));
    const listed = await validations.list('P', 'T1');
    assert.deepEqual(listed, Array.from({ length: RECORDS_PER_PROJECT }, (_, i) => record(RECORDS_PER_PROJECT + 4 - i)));
    assert.deepEqual(await validations.list('P', 'T2'), [record(99)]);
    // Any text a source gave is kept as it was (jsonb would refuse U+0000).
    const odd = { ...record(1), outcome: 'column "a\u0000b" — ünïcode 𝄞' };
    await validations.add('P', 'T3', odd);
    assert.deepEqual(await validations.list('P', 'T3'), [odd]);
    assert.deepEqual(await validations.list('Q', 'T1'), []);
    assert.deepEqual(await validations.list('P\u0000', 'T1'), []);
    const { rows } = await db.client.query("SELECT count(*)::int AS n FROM cr8tor_platform.project_records WHERE project_name = 'P' AND project_start_time = 'T1'");
    assert.equal(rows[0].n, RECORDS_PER_PROJECT);
    // Another kind of record of the same project is kept apart.
    const reports = new StoredProjectRecords(store, 'metadata_report', validationRecordSchema);
    assert.deepEqual(await reports.list('P', 'T1'), []);
  });

  test('writers on two connections at once still leave the bound', async () => {
    const other = (await open(db.database))!;
    try {
      const a = new StoredProjectRecords(store, 'validation', validationRecordSchema);
      const b = new StoredProjectRecords(other, 'validation', validationRecordSchema);
      await Promise.all(Array.from({ length: 30 }, (_, n) => (n % 2 ? a : b).add('Busy', 'T', record(n))));
      const { rows } = await db.client.query("SELECT count(*)::int AS n FROM cr8tor_platform.project_records WHERE project_name = 'Busy'");
      assert.equal(rows[0].n, RECORDS_PER_PROJECT);
      assert.equal((await b.list('Busy', 'T')).length, RECORDS_PER_PROJECT);
    } finally {
      await other.close();
    }
  });

  test('a record that is not what its kind says is refused on reading, not served', async () => {
    await db.client.query(`INSERT INTO cr8tor_platform.project_records (kind, project_name, project_start_time, record) VALUES ('validation', 'Bad', 'T', '{"outcome": 1}')`);
    await assert.rejects(new StoredProjectRecords(store, 'validation', validationRecordSchema).list('Bad', 'T'));
  });
});
