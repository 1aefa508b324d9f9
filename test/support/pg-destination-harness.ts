/**
 * The PostgreSQL destination tests' world: a source database (the PostgreSQL
 * all-types table and a person/visit pair) and a destination database on the
 * machine's PostgreSQL, a read-only role, OPAL played by the protocol-level
 * double, secrets in memory, and the destination made from them; helpers that
 * package through it and read back what arrived. A test file calls
 * setUpPgDestination() before its tests and tearDownPgDestination() after;
 * the state below is read through these live bindings.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import pg from 'pg';
import { pino } from 'pino';
import { datasetSchema, sourceSchema, type SqlSourceConfig } from '../../lib/contract/index.js';
import { resolveDataset } from '../../lib/connectors/catalog.js';
import type { SourceConnector, SourceSnapshot } from '../../lib/connectors/connector.js';
import { MysqlConnector } from '../../lib/connectors/mysql/connector.js';
import { PostgresConnector } from '../../lib/connectors/postgresql/connector.js';
import { AppError } from '../../lib/errors.js';
import type { SecretProvider } from '../../lib/secrets/index.js';
import type { Destination } from '../../subgraphs/publish/src/destinations/destination.js';
import { postgresqlDestination } from '../../subgraphs/publish/src/destinations/postgresql/destination.js';
import { type PostgresqlSettings } from '../../subgraphs/publish/src/destinations/postgresql/settings.js';
import { parseCsv, pgAllTypes, type SourceCase } from './all-types.js';
import { readAll } from './csv-text.js';
import { createPgDatabase, dropPgRole, mysqlSettings, pgSettings, type TestPgDatabase } from './databases.js';
import { startOpalDouble, type OpalDouble } from './opal-double.js';
import { dataset } from './requests.js';

export const PROJECT = 'Pr004';
export const START = '20250205_010101';
export const TARGET = 'pr004_20250205_010101_public';
export const DESTINATION = { name: 'TRE', type: 'postgresql' as const, format: 'sql' as const };

/** Secrets held in memory, read by name like the real providers. */
export class MemorySecrets implements SecretProvider {
  readonly description = 'test secrets in memory';
  readonly values = new Map<string, string>();
  async get(name: string): Promise<string> {
    const value = this.values.get(name);
    if (value === undefined) throw new AppError('SECRET_NOT_FOUND', `Secret '${name}' not found in ${this.description}.`);
    return value;
  }
  async check(): Promise<void> {}
}

export const RELATED_SETUP = [
  `CREATE TABLE person (id bigint PRIMARY KEY, name varchar(40) NOT NULL, note text)`,
  `CREATE TABLE visit (id integer, person_id bigint NOT NULL REFERENCES person (id), site varchar(20), amount decimal(12,2), PRIMARY KEY (person_id, id))`,
  `INSERT INTO person VALUES (1, 'Ann', 'said "hi", left'), (2, 'Bob', ''), (3, 'Zoë 🚀', NULL)`,
  `INSERT INTO visit VALUES (10, 1, 'Preston', 12.50), (11, 1, 'Lancaster', NULL), (12, 3, 'Preston', -0.01)`,
];

export let source: TestPgDatabase;
export let dest: TestPgDatabase;
export let opal: OpalDouble;
export let secrets: MemorySecrets;
export let settings: PostgresqlSettings;
export let destination: Destination;
export let logLines: string[];
export const readonlyRole = `cr8tor_ro_${randomBytes(4).toString('hex')}`;
export const RO_PASSWORD = 'Ro-password#42';
export const DEST_PASSWORD = 'Loader-password#7';
export const pgCase: SourceCase = pgAllTypes();

export function pgConnector(database: string): PostgresConnector {
  const config = sourceSchema.parse({
    type: 'postgresql', host_url: pgSettings.host, port: pgSettings.port, database,
    credentials: { provider: 'AzureKeyVault', username_key: 'pg-user', password_key: 'pg-password' },
  }) as SqlSourceConfig;
  return new PostgresConnector(config, { username: pgSettings.user, password: pgSettings.password }, {});
}

export function mysqlConnector(database: string): MysqlConnector {
  const config = sourceSchema.parse({
    type: 'mysql', host_url: mysqlSettings.host, port: mysqlSettings.port, database,
    credentials: { provider: 'AzureKeyVault', username_key: 'my-user', password_key: 'my-password' },
  }) as SqlSourceConfig;
  return new MysqlConnector(config, { username: mysqlSettings.user, password: mysqlSettings.password }, {});
}

/** Every SQL text the destination sent. */
export const queries: string[] = [];

export function destinationFor(s: PostgresqlSettings): Destination {
  return postgresqlDestination({
    settings: s,
    secrets,
    log: pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) }),
    onQuery: (sql) => void queries.push(sql),
  });
}

/** Packages tables of a source schema through the destination, from one snapshot. */
export async function packageFrom(
  connector: SourceConnector,
  schema: string | null,
  tables: Parameters<typeof dataset>[1],
  options: { startTime?: string; project?: string; wrap?: (s: SourceSnapshot) => SourceSnapshot; target?: Destination } = {},
) {
  const resolved = await resolveDataset(connector, datasetSchema.parse(dataset(schema, tables)));
  const real = await connector.snapshot();
  const snapshot = options.wrap ? options.wrap(real) : real;
  try {
    return await (options.target ?? destination).package({
      project: options.project ?? PROJECT,
      startTime: options.startTime ?? START,
      destination: DESTINATION,
      dataset: resolved,
      snapshot,
    });
  } finally {
    await real.close();
  }
}

/** A destination table re-extracted in canonical form (header and rows), through the PostgreSQL connector. */
export async function canonical(schema: string, table: string): Promise<Array<Array<string | null>>> {
  const c = pgConnector(dest.database);
  try {
    const columns = (await c.getColumns(schema, [table])).get(table);
    assert.ok(columns, `${schema}.${table} exists`);
    const snapshot = await c.snapshot();
    try {
      return parseCsv(await readAll(snapshot.csv(schema, table, columns)));
    } finally {
      await snapshot.close();
    }
  } finally {
    await c.close();
  }
}

/** Asserts a re-extracted table equals a case's expected rows, JSON compared as JSON (jsonb normalises its text). */
export function assertSameRows(actual: Array<Array<string | null>>, expected: SourceCase, label: string): void {
  const [header, ...rows] = actual;
  assert.deepEqual(header, expected.columns.map((c) => c.name), `${label}: columns in order`);
  const sorted = rows.sort((a, b) => Number(a[0]) - Number(b[0]));
  assert.equal(sorted.length, expected.expectedRows.length, `${label}: row count`);
  for (const [r, row] of sorted.entries()) {
    for (const [i, column] of expected.columns.entries()) {
      const want = expected.expectedRows[r]![i]!;
      const got = row[i]!;
      if (column.logical.kind === 'json' && want !== null && got !== null) {
        assert.deepEqual(JSON.parse(got), JSON.parse(want), `${label}: row ${r + 1}, ${column.name}`);
      } else {
        assert.equal(got, want, `${label}: row ${r + 1}, ${column.name}`);
      }
    }
  }
}

export async function rows(sql: string, values: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  return (await dest.client.query(sql, values)).rows;
}

export async function columnTypes(schema: string, table: string): Promise<string[]> {
  const found = await rows(
    `SELECT format_type(a.atttypid, a.atttypmod) AS t FROM pg_attribute a
      WHERE a.attrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [schema, table],
  );
  return found.map((r) => r.t as string);
}

export async function primaryKey(schema: string, table: string): Promise<string[]> {
  const found = await rows(
    `SELECT a.attname FROM pg_constraint k JOIN LATERAL unnest(k.conkey) WITH ORDINALITY AS u(attnum, n) ON true
       JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum
      WHERE k.contype = 'p' AND k.conrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass ORDER BY u.n`,
    [schema, table],
  );
  return found.map((r) => r.attname as string);
}

/** The registry's rows (with the load time when asked), by schema. */
export async function registryRows(withTime = false): Promise<Array<Record<string, unknown>>> {
  return rows(`SELECT schema_name, project_key, project_name, start_time, source_schema${withTime ? ', loaded_at' : ''} FROM cr8tor_publisher.loads ORDER BY 1`);
}

export async function schemas(): Promise<string[]> {
  const found = await rows(`SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('information_schema', 'public') ORDER BY 1`);
  return found.map((r) => r.nspname as string);
}

/** The whole content of a table as text, for "unchanged" checks. */
export async function content(schema: string, table: string): Promise<string> {
  const found = await rows(`SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') AS c FROM ${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table)} t`);
  return found[0]!.c as string;
}

export async function setUpPgDestination(options: { big?: boolean } = {}): Promise<void> {
  source = await createPgDatabase('pgdst_src');
  dest = await createPgDatabase('pgdst_dst');
  for (const sql of [...pgCase.setup, ...RELATED_SETUP]) await source.client.query(sql);
  await source.client.query(`
    COMMENT ON TABLE person IS 'People seen';
    COMMENT ON COLUMN person.name IS 'Full name';
    CREATE TABLE beyond_iso (id integer, ts timestamp, tstz timestamptz, d date);
    INSERT INTO beyond_iso VALUES (1, 'infinity', '-infinity', 'infinity'), (2, '0044-03-15 12:00 BC', '0044-03-15 12:00+00 BC', '0044-03-15 BC'),
                                  (3, '10000-01-01 00:00', '10000-01-01 00:00+00', '10000-01-01');
    CREATE TABLE lone (v text); INSERT INTO lone VALUES (E'\\\\.'), (''), (NULL);
    CREATE SCHEMA other; CREATE TABLE other.extra (k text PRIMARY KEY); INSERT INTO other.extra VALUES ('x');
  `);
  // A table big enough to be mid-COPY when a connection is cut (only the load-failure tests need it).
  if (options.big) await source.client.query(`CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 8) AS payload FROM generate_series(1, 300000) AS g`);
  const admin = new pg.Client({ ...pgSettings, database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE ROLE ${pg.escapeIdentifier(readonlyRole)} LOGIN PASSWORD ${pg.escapeLiteral(RO_PASSWORD)}`);
  await admin.end();
  opal = await startOpalDouble();
  secrets = new MemorySecrets();
  secrets.values.set('dest-password', DEST_PASSWORD);
  secrets.values.set('ro-password', RO_PASSWORD);
  secrets.values.set('opal-password', opal.password);
  logLines = [];
  settings = {
    database: { host: pgSettings.host, port: pgSettings.port, database: dest.database, username: pgSettings.user, passwordSecretName: 'dest-password', connectTimeoutMs: 5_000 },
    readonlyUsername: readonlyRole,
    readonlyPasswordSecretName: 'ro-password',
    opal: { host: opal.url, username: opal.username, passwordSecretName: 'opal-password', noSslVerify: false, requestTimeoutMs: 10_000 },
    swapLockTimeoutMs: 2_000,
  };
  destination = destinationFor(settings);
}

export async function tearDownPgDestination(): Promise<void> {
  await opal?.stop();
  await source?.drop();
  await dest?.drop();
  await dropPgRole(readonlyRole);
}

/** Packages the all-types table, person and visit into TARGET (what the tests reading a loaded target start from). */
export async function packageTarget(): Promise<void> {
  const c = pgConnector(source.database);
  try {
    await packageFrom(c, 'public', ['all_types', 'person', 'visit']);
  } finally {
    await c.close();
  }
}

/** A Readable of exactly `text`. */
export function textStream(text: string): Readable {
  return Readable.from([Buffer.from(text, 'utf8')]);
}
