import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type { Pool } from 'pg';
import { inTransaction } from './transaction.js';

/** The schema the platform keeps its state in; every migration creates its objects there. */
export const STORE_SCHEMA = 'cr8tor_platform';

/** The advisory lock (one 64-bit key) migrations run under: replicas starting together migrate one after the other. */
const MIGRATION_LOCK = 0x63723874_6d696772n; // "cr8tmigr"

/** The folder of versioned migrations: `NNN_name.sql`, applied in order of NNN, each once. */
export const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** SHA-256 of the SQL: a migration changed after it was applied is refused. */
  checksum: string;
}

/** The migrations in `dir`, by version; a file name not `NNN_name.sql`, or a version used twice, is an error. */
export async function loadMigrations(dir: URL = MIGRATIONS_DIR): Promise<Migration[]> {
  const migrations: Migration[] = [];
  for (const file of (await readdir(dir)).sort()) {
    const match = /^(\d{3})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!match) throw new Error(`${file} in ${dir.pathname} is not a migration (NNN_name.sql)`);
    const sql = await readFile(new URL(file, dir), 'utf8');
    migrations.push({ version: Number(match[1]), name: match[2]!, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  migrations.forEach((m, i) => {
    if (i > 0 && m.version === migrations[i - 1]!.version) throw new Error(`two migrations have version ${m.version}`);
  });
  return migrations;
}

/**
 * Brings the store's schema up to date: in one transaction, under an advisory
 * lock held until it ends, applies each migration not yet recorded in
 * `cr8tor_platform.schema_migrations` and records it. A replica that starts
 * while another migrates waits, then finds nothing left to do; a failing
 * migration leaves nothing applied. Returns the versions it applied.
 */
export async function migrate(pool: Pool, migrations: readonly Migration[]): Promise<number[]> {
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [BigInt.asIntN(64, MIGRATION_LOCK).toString()]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${STORE_SCHEMA}"`);
    await client.query(`CREATE TABLE IF NOT EXISTS "${STORE_SCHEMA}".schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number; name: string; checksum: string }>(`SELECT version, name, checksum FROM "${STORE_SCHEMA}".schema_migrations`);
    const applied = new Map(rows.map((r) => [r.version, r]));
    const done: number[] = [];
    for (const m of migrations) {
      const recorded = applied.get(m.version);
      if (recorded) {
        if (recorded.checksum !== m.checksum) {
          throw new Error(`migration ${m.version} (${recorded.name}) was changed after it was applied: add a new migration instead of editing it`);
        }
        continue;
      }
      await client.query(m.sql);
      await client.query(`INSERT INTO "${STORE_SCHEMA}".schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`, [m.version, m.name, m.checksum]);
      done.push(m.version);
    }
    return done;
  });
}
