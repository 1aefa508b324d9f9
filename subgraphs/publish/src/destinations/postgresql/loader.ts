import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { ColumnInfo } from '../../../../../lib/connectors/index.js';
import { AppError } from '../../../../../lib/errors.js';
import { openCsvStream } from '../filestore/formats/csv/scan.js';
import { checkIdentifier, qualified } from './names.js';
import { ARRAY_FUNCTION_SQL, columnPlan, type ColumnPlan, type ServerTraits } from './pg-types.js';
import { checkOwner, ensureRegistry, recordLoad, REGISTRY_SCHEMA, type LoadOwner, type Query } from './registry.js';

/** One table to load: its confirmed columns in the requested order, and its CSV stream. */
export interface TableLoad {
  name: string;
  /** The source's table comment, kept as the table's comment. */
  description: string | null;
  columns: readonly ColumnInfo[];
  /** The source table's whole primary key; kept only when every key column is loaded. */
  primaryKey: readonly string[];
  /** Opens the table's CSV stream (header, then rows in canonical text form). */
  csv(): Readable;
  /** Rows the completed stream carried, by the source's count (null: not counted); checked against COPY's. */
  rowsRead?: () => number | null;
  /** Called once the table's rows are loaded (and converted) in the transaction. */
  written?: () => void;
}

export interface LoadOptions {
  /** The schema the tables end up in; whatever it held before is replaced, if the registry says it is `owner`'s. */
  target: string;
  /** Who loads it: recorded in the registry with the swap. */
  owner: LoadOwner;
  /** The role granted USAGE on the schema and SELECT on its tables. */
  readonlyRole: string;
  tables: readonly TableLoad[];
  /** How long the final swap waits for readers of the previous tables. */
  swapLockTimeoutMs: number;
  /** Called with every SQL text sent (for debugging and tests). */
  onQuery?: (sql: string) => void;
}

/** COPY data is sent in pieces of about this size (many tiny writes are slow: docs/performance.md, "COPY pieces"). */
const COPY_BATCH_BYTES = 256 * 1024;

/** Key of the advisory lock that serialises swaps, with the target's hash as the second key. */
const SWAP_LOCK_KEY = "hashtext('cr8tor-publisher:schema-swap')";

/**
 * Loads tables into `target`, replacing it atomically. Everything happens in
 * one transaction: a fresh schema is created under a temporary name, every
 * table is created, bulk-loaded with COPY … FROM STDIN straight from its CSV
 * stream (bounded memory, backpressure to the source), converted where its
 * text needs it (arrays), keyed, and granted to the read-only role; then the
 * previous target schema is dropped, the new one renamed into place, the load
 * recorded in the registry (registry.ts), and the transaction commits. Until
 * then no other session sees anything new;
 * on any failure the transaction rolls back and the previous schema is left
 * exactly as it was, with no temporary schema behind (even if this process
 * dies: the server rolls back an abandoned transaction).
 *
 * A target recorded for another project, or existing without a record, is
 * refused before anything is loaded, and again, authoritatively, once the swap
 * lock is held (another project may have loaded it meanwhile).
 *
 * All tables are created before any key is added, so the key indexes' names
 * (chosen by PostgreSQL) never collide with a table's.
 */
export async function loadSchema(client: pg.Client, options: LoadOptions): Promise<{ warnings: string[] }> {
  const q = async (sql: string, values?: unknown[]) => {
    options.onQuery?.(sql);
    return client.query(sql, values);
  };
  const traits = await serverTraits(client);
  checkNames(options, traits.maxIdentifierBytes);
  const role = await q('SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1', [options.readonlyRole]);
  if (role.rowCount === 0) throw missingRole(options.readonlyRole);
  await ensureRegistry(q, options.readonlyRole);
  await checkOwner(q, options.target, options.owner);

  const warnings: string[] = [];
  const temp = `cr8tor_loading_${randomBytes(8).toString('hex')}`;
  const tempId = pg.escapeIdentifier(temp);
  const plans = options.tables.map((t) => t.columns.map((c) => columnPlan(c.logical, traits)));
  await q('BEGIN');
  try {
    await q("SET LOCAL TIME ZONE 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'");
    await q(`CREATE SCHEMA ${tempId}`);
    for (const [i, table] of options.tables.entries()) await createTable(q, temp, table, plans[i]!);
    if (plans.some((p) => p.some((c) => c.convert))) await q(ARRAY_FUNCTION_SQL);
    for (const [i, table] of options.tables.entries()) {
      await copyTable(client, options.onQuery, temp, table);
      await convertColumns(q, temp, table, plans[i]!);
      table.written?.();
    }
    for (const table of options.tables) await addPrimaryKey(q, temp, table, warnings);
    const roleId = pg.escapeIdentifier(options.readonlyRole);
    await q(`GRANT USAGE ON SCHEMA ${tempId} TO ${roleId}`);
    await q(`GRANT SELECT ON ALL TABLES IN SCHEMA ${tempId} TO ${roleId}`);
    await q(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(options.swapLockTimeoutMs))}`);
    await q(`SELECT pg_advisory_xact_lock(${SWAP_LOCK_KEY}, hashtext($1))`, [options.target]);
    await checkOwner(q, options.target, options.owner, true);
    const targetId = pg.escapeIdentifier(options.target);
    await q(`DROP SCHEMA IF EXISTS ${targetId} CASCADE`);
    await q(`ALTER SCHEMA ${tempId} RENAME TO ${targetId}`);
    await recordLoad(q, options.target, options.owner);
    await q('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    if ((error as { code?: string }).code === '55P03') {
      throw new AppError(
        'DESTINATION_FAILED',
        `Schema '${options.target}' is in use: its tables could not be replaced within ${Math.round(options.swapLockTimeoutMs / 1000)} s. The previous tables are unchanged; try again later.`,
        { cause: error },
      );
    }
    throw error;
  }
  return { warnings };
}

interface Traits extends ServerTraits {
  maxIdentifierBytes: number;
}

async function serverTraits(client: pg.Client): Promise<Traits> {
  const { rows } = await client.query<{ v: number; m: number }>(
    "SELECT current_setting('server_version_num')::int AS v, current_setting('max_identifier_length')::int AS m",
  );
  return { versionNum: rows[0]!.v, maxIdentifierBytes: rows[0]!.m };
}

function checkNames(options: LoadOptions, maxBytes: number): void {
  checkIdentifier('schema', options.target, maxBytes);
  if (options.target === REGISTRY_SCHEMA) throw new AppError('INVALID_REQUEST', `Schema '${options.target}' is the platform's own; nothing can be loaded into it.`);
  if (options.tables.length === 0) throw new AppError('INTERNAL', 'There are no tables to load.');
  for (const table of options.tables) {
    checkIdentifier('table', table.name, maxBytes);
    if (table.columns.length === 0) throw new AppError('INTERNAL', `Table '${table.name}' has no columns to load.`);
    for (const column of table.columns) checkIdentifier(`column (of table '${table.name}')`, column.name, maxBytes);
  }
}

export function missingRole(role: string): AppError {
  return new AppError(
    'DESTINATION_NOT_READY',
    `The read-only role '${role}' (DESTINATION_POSTGRESQL_OPAL_READONLY_USERNAME) does not exist in the PostgreSQL destination database.`,
  );
}

async function createTable(q: Query, schema: string, table: TableLoad, plans: readonly ColumnPlan[]): Promise<void> {
  const name = qualified(schema, table.name);
  const columns = table.columns.map((c, i) => `${pg.escapeIdentifier(c.name)} ${plans[i]!.loadAs}${c.nullable ? '' : ' NOT NULL'}`);
  await q(`CREATE TABLE ${name} (${columns.join(', ')})`);
  if (table.description) await q(`COMMENT ON TABLE ${name} IS ${pg.escapeLiteral(table.description)}`);
  for (const c of table.columns) {
    if (c.description) await q(`COMMENT ON COLUMN ${name}.${pg.escapeIdentifier(c.name)} IS ${pg.escapeLiteral(c.description)}`);
  }
}

/** Streams a table's CSV into COPY … FROM STDIN, checking its header first. */
async function copyTable(client: pg.Client, onQuery: LoadOptions['onQuery'], schema: string, table: TableLoad): Promise<void> {
  const names = table.columns.map((c) => c.name);
  const sql = `COPY ${qualified(schema, table.name)} (${names.map((n) => pg.escapeIdentifier(n)).join(', ')}) FROM STDIN WITH (FORMAT csv, HEADER true)`;
  const source = table.csv();
  try {
    const { header, body } = await openCsvStream(source, table.name, names);
    onQuery?.(sql);
    const copy = client.query(copyFrom(sql));
    await pipeline(batches(header, body), copy);
    const sent = table.rowsRead?.() ?? null;
    if (sent !== null && sent !== copy.rowCount) {
      throw new AppError('INTERNAL', `Table '${table.name}': the source sent ${sent} rows but the destination database loaded ${copy.rowCount}; nothing was replaced.`);
    }
  } finally {
    source.destroy();
  }
}

/** The header, then the body in pieces of at least {@link COPY_BATCH_BYTES} (the last may be smaller). */
async function* batches(header: Buffer, body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [header];
  let size = header.length;
  for await (const chunk of body) {
    parts.push(chunk);
    size += chunk.length;
    if (size >= COPY_BATCH_BYTES) {
      yield Buffer.concat(parts, size);
      parts = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(parts, size);
}

/** One ALTER TABLE (one rewrite) giving every converted column its final type. */
async function convertColumns(q: Query, schema: string, table: TableLoad, plans: readonly ColumnPlan[]): Promise<void> {
  const changes = table.columns.flatMap((c, i) => {
    const plan = plans[i]!;
    if (!plan.convert) return [];
    const column = pg.escapeIdentifier(c.name);
    return [`ALTER COLUMN ${column} TYPE ${plan.type} USING ${plan.convert(column)}`];
  });
  if (changes.length > 0) await q(`ALTER TABLE ${qualified(schema, table.name)} ${changes.join(', ')}`);
}

/**
 * Adds the source's primary key when every key column was loaded. A key the
 * data does not honour is dropped with a warning (inside a savepoint) rather
 * than failing the package, as in a DuckDB package.
 */
async function addPrimaryKey(q: Query, schema: string, table: TableLoad, warnings: string[]): Promise<void> {
  if (table.primaryKey.length === 0) return;
  const loaded = new Set(table.columns.map((c) => c.name));
  const missing = table.primaryKey.filter((k) => !loaded.has(k));
  if (missing.length > 0) {
    warnings.push(`The primary key of table '${table.name}' is not kept: its column(s) ${missing.join(', ')} were not extracted.`);
    return;
  }
  await q('SAVEPOINT cr8tor_primary_key');
  try {
    await q(`ALTER TABLE ${qualified(schema, table.name)} ADD PRIMARY KEY (${table.primaryKey.map((k) => pg.escapeIdentifier(k)).join(', ')})`);
    await q('RELEASE SAVEPOINT cr8tor_primary_key');
  } catch (error) {
    await q('ROLLBACK TO SAVEPOINT cr8tor_primary_key');
    warnings.push(`The primary key (${table.primaryKey.join(', ')}) of table '${table.name}' is not kept: ${(error as Error).message}`);
  }
}
