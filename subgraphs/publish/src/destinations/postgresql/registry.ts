import pg from 'pg';
import { AppError } from '../../../../../lib/errors.js';
import type { ProjectKey } from '../destination.js';
import { projectKey } from './names.js';

/**
 * The registry: which project and start time loaded each schema of the
 * destination database. Schema names cannot say it (`lower("{project}_{start}_{schema}")`
 * with `_` allowed in project and schema names: `Pa` + `x_20250202_000000_y` and
 * `Pa_20250101_000000_x` + `y` are one name), so package refuses a schema
 * recorded for another project and publish provisions only the schemas
 * recorded for its own. It lives in the platform's own schema, created by the
 * loading user (who owns it) on first use, never granted to the read-only role;
 * its rows are written in the load's own transaction, so they commit or roll
 * back with the schema swap. The operator's guide (docs/deployment.md) says how
 * to inspect it and adopt or remove entries.
 */

/** The platform's own schema in the destination database: never a package's target. */
export const REGISTRY_SCHEMA = 'cr8tor_publisher';

/** The registry table, as messages and the operator's guide name it. */
export const REGISTRY_TABLE = `${REGISTRY_SCHEMA}.loads`;

/** The layout this code reads and writes, kept in the table's comment so a later layout can be recognised. */
const VERSION = 1;
const VERSION_COMMENT = `cr8tor-publisher registry version ${VERSION}: which project and start time loaded each schema`;

/** Serialises creating the registry between processes (second key of the pair: 0). */
const CREATE_LOCK = "hashtext('cr8tor-publisher:registry')";

/** Runs one statement (the loader's query function, which reports every SQL text). */
export type Query = (sql: string, values?: unknown[]) => Promise<pg.QueryResult>;

/** Who loads a schema: the project, its start time and the source schema the tables come from. */
export interface LoadOwner extends ProjectKey {
  sourceSchema: string;
}

interface SchemaRecord {
  project_name: string;
  project_key: string;
  start_time: string;
}

/**
 * The registry's layout version: undefined when there is no registry table,
 * null when the table's comment names no version (not made by this service).
 * Reads the catalogs only, which needs no privilege on the registry.
 */
async function registryVersion(q: Query): Promise<number | null | undefined> {
  const { rows } = await q(
    `SELECT obj_description(c.oid, 'pg_class') AS comment
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = 'loads'`,
    [REGISTRY_SCHEMA],
  );
  if (rows.length === 0) return undefined;
  const version = /^cr8tor-publisher registry version (\d+):/.exec((rows[0] as { comment: string | null }).comment ?? '');
  return version ? Number(version[1]) : null;
}

function checkVersion(version: number | null): void {
  if (version === VERSION) return;
  const found = version === null ? 'has no version in its comment (it was not made by this service)' : `has layout version ${version}`;
  throw new AppError('DESTINATION_NOT_READY', `The registry table ${REGISTRY_TABLE} of the PostgreSQL destination database ${found}; this service reads version ${VERSION}.`);
}

/**
 * Makes sure the registry exists, creating it when missing: in a short
 * transaction of its own holding an advisory lock, so that replicas starting
 * together create it once and neither fails. Its schema and table are taken
 * away from PUBLIC and the read-only role (default privileges could have given
 * them), so only the loading user, who creates and owns them, can read them.
 */
export async function ensureRegistry(q: Query, readonlyRole: string): Promise<void> {
  let version = await registryVersion(q);
  if (version === undefined) {
    await q('BEGIN');
    try {
      await q(`SELECT pg_advisory_xact_lock(${CREATE_LOCK}, 0)`);
      if ((await registryVersion(q)) === undefined) await createRegistry(q, readonlyRole);
      await q('COMMIT');
    } catch (error) {
      await q('ROLLBACK').catch(() => undefined);
      throw error;
    }
    version = await registryVersion(q);
  }
  checkVersion(version ?? null);
}

async function createRegistry(q: Query, readonlyRole: string): Promise<void> {
  const schema = pg.escapeIdentifier(REGISTRY_SCHEMA);
  const table = `${schema}.loads`;
  const others = `PUBLIC, ${pg.escapeIdentifier(readonlyRole)}`;
  await q(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await q(`REVOKE ALL ON SCHEMA ${schema} FROM ${others}`);
  // project_key is how projects are told apart: names differing only by case are one project (ASCII names: lower in "C").
  await q(`CREATE TABLE ${table} (
    schema_name text PRIMARY KEY CHECK (schema_name <> ${pg.escapeLiteral(REGISTRY_SCHEMA)}),
    project_key text GENERATED ALWAYS AS (lower(project_name COLLATE "C")) STORED,
    project_name text NOT NULL,
    start_time text NOT NULL CHECK (start_time ~ '^[0-9]{8}_[0-9]{6}$'),
    source_schema text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    loaded_at timestamptz
  )`);
  await q(`CREATE INDEX ON ${table} (project_key, start_time)`);
  await q(`REVOKE ALL ON TABLE ${table} FROM ${others}`);
  await q(`COMMENT ON TABLE ${table} IS ${pg.escapeLiteral(VERSION_COMMENT)}`);
}

/**
 * Throws DESTINATION_NOT_READY when there is a registry this service cannot
 * use: another layout, or one the loading user may not read and write (made
 * by someone else and not granted). No registry yet is fine: the first
 * package creates it.
 */
export async function checkRegistryUsable(q: Query): Promise<void> {
  const version = await registryVersion(q);
  if (version === undefined) return;
  checkVersion(version);
  const { rows } = await q(
    `SELECT has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE') AS usable
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = 'loads'`,
    [REGISTRY_SCHEMA],
  );
  if ((rows[0] as { usable?: boolean } | undefined)?.usable === false) {
    throw new AppError(
      'DESTINATION_NOT_READY',
      `The loading user may not read and write the registry table ${REGISTRY_TABLE} of the PostgreSQL destination database: ` +
        `make it the owner, or grant it USAGE on schema ${REGISTRY_SCHEMA} and SELECT, INSERT, UPDATE on the table.`,
    );
  }
}

/**
 * Throws unless `owner` may load into `schema`: SCHEMA_OWNED_BY_ANOTHER_PROJECT
 * when it is recorded for another project (case-insensitively) or start time,
 * SCHEMA_NOT_RECORDED when it exists without a record. With `lock`, the record
 * is locked until the transaction ends.
 */
export async function checkOwner(q: Query, schema: string, owner: ProjectKey, lock = false): Promise<void> {
  const { rows } = await q(
    `SELECT project_name, project_key, start_time FROM ${pg.escapeIdentifier(REGISTRY_SCHEMA)}.loads WHERE schema_name = $1${lock ? ' FOR UPDATE' : ''}`,
    [schema],
  );
  const record = rows[0] as SchemaRecord | undefined;
  if (record) {
    if (record.project_key === projectKey(owner.project) && record.start_time === owner.startTime) return;
    throw new AppError(
      'SCHEMA_OWNED_BY_ANOTHER_PROJECT',
      `Schema '${schema}' of the PostgreSQL destination database belongs to project '${record.project_name}' (start time ${record.start_time}); ` +
        `project '${owner.project}' (start time ${owner.startTime}) may not replace it. Nothing was changed.`,
    );
  }
  const exists = await q('SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1', [schema]);
  if (exists.rowCount) {
    throw new AppError(
      'SCHEMA_NOT_RECORDED',
      `Schema '${schema}' exists in the PostgreSQL destination database but no project is recorded as its owner; it was not replaced. ` +
        `An operator can adopt it for project '${owner.project}' (start time ${owner.startTime}) in the registry table ${REGISTRY_TABLE} (see the operator's guide).`,
    );
  }
}

/** Records that `owner` loaded `schema` now (the latest spelling of the project name is kept). */
export async function recordLoad(q: Query, schema: string, owner: LoadOwner): Promise<void> {
  await q(
    `INSERT INTO ${pg.escapeIdentifier(REGISTRY_SCHEMA)}.loads AS r (schema_name, project_name, start_time, source_schema, loaded_at)
     VALUES ($1, $2, $3, $4, clock_timestamp())
     ON CONFLICT (schema_name) DO UPDATE SET project_name = EXCLUDED.project_name, source_schema = EXCLUDED.source_schema, loaded_at = EXCLUDED.loaded_at`,
    [schema, owner.project, owner.startTime, owner.sourceSchema],
  );
}

/**
 * The schemas recorded for a project (case-insensitively) and start time that
 * still exist, in name order; none when there is no registry yet.
 */
export async function recordedSchemas(q: Query, ref: ProjectKey): Promise<string[]> {
  const version = await registryVersion(q);
  if (version === undefined) return [];
  checkVersion(version);
  const { rows } = await q(
    `SELECT r.schema_name FROM ${pg.escapeIdentifier(REGISTRY_SCHEMA)}.loads r JOIN pg_catalog.pg_namespace n ON n.nspname = r.schema_name
      WHERE r.project_key = $1 AND r.start_time = $2 ORDER BY r.schema_name COLLATE "C"`,
    [projectKey(ref.project), ref.startTime],
  );
  return rows.map((r) => (r as { schema_name: string }).schema_name);
}
