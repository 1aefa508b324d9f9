/**
 * The PostgreSQL destination against real databases: a source database and a
 * destination database on the machine's PostgreSQL (and a MariaDB source),
 * with OPAL played by the protocol-level double. Checks every value of every
 * logical type arrives (compared in canonical form, re-extracted from the
 * destination), faithful column types, keys, atomic replacement (a failed load
 * leaves the previous tables, its registry record and no temporary schema;
 * the record is written in the load's transaction), the read-only grants as a
 * real role, readiness (where the database is goes to the log, not the caller),
 * and publication to OPAL of the recorded schemas only.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { pino } from 'pino';
import { ConfigError } from '../../../../lib/config/env.js';
import { datasetSchema, sourceSchema, type SqlSourceConfig } from '../../../../lib/contract/index.js';
import { resolveDataset } from '../../../../lib/connectors/catalog.js';
import type { ColumnInfo, SourceConnector, SourceSnapshot } from '../../../../lib/connectors/connector.js';
import { MysqlConnector } from '../../../../lib/connectors/mysql/connector.js';
import { PostgresConnector } from '../../../../lib/connectors/postgresql/connector.js';
import { AppError } from '../../../../lib/errors.js';
import type { SecretProvider } from '../../../../lib/secrets/index.js';
import type { Destination } from '../../../../subgraphs/publish/src/destinations/destination.js';
import { postgresqlDestination } from '../../../../subgraphs/publish/src/destinations/postgresql/destination.js';
import { loadSchema } from '../../../../subgraphs/publish/src/destinations/postgresql/loader.js';
import { columnPlan, numericType, pgType } from '../../../../subgraphs/publish/src/destinations/postgresql/pg-types.js';
import { readPostgresqlSettings, type PostgresqlSettings } from '../../../../subgraphs/publish/src/destinations/postgresql/settings.js';
import { mysqlAllTypes, parseCsv, pgAllTypes, type SourceCase } from '../../../support/all-types.js';
import { failingStream } from '../../../support/csv-text.js';
import { createMysqlDatabase, createPgDatabase, dropPgRole, mysqlSettings, pgSettings, type TestMysqlDatabase, type TestPgDatabase } from '../../../support/databases.js';
import { startOpalDouble, type OpalDouble } from '../../../support/opal-double.js';
import { dataset } from '../../../support/requests.js';

const PROJECT = 'Pr004';
const START = '20250205_010101';
const TARGET = 'pr004_20250205_010101_public';
const DESTINATION = { name: 'TRE', type: 'postgresql' as const, format: 'sql' as const };

/** Secrets held in memory, read by name like the real providers. */
class MemorySecrets implements SecretProvider {
  readonly description = 'test secrets in memory';
  readonly values = new Map<string, string>();
  async get(name: string): Promise<string> {
    const value = this.values.get(name);
    if (value === undefined) throw new AppError('SECRET_NOT_FOUND', `Secret '${name}' not found in ${this.description}.`);
    return value;
  }
  async check(): Promise<void> {}
}

const RELATED_SETUP = [
  `CREATE TABLE person (id bigint PRIMARY KEY, name varchar(40) NOT NULL, note text)`,
  `CREATE TABLE visit (id integer, person_id bigint NOT NULL REFERENCES person (id), site varchar(20), amount decimal(12,2), PRIMARY KEY (person_id, id))`,
  `INSERT INTO person VALUES (1, 'Ann', 'said "hi", left'), (2, 'Bob', ''), (3, 'Zoë 🚀', NULL)`,
  `INSERT INTO visit VALUES (10, 1, 'Preston', 12.50), (11, 1, 'Lancaster', NULL), (12, 3, 'Preston', -0.01)`,
];

let source: TestPgDatabase;
let dest: TestPgDatabase;
let opal: OpalDouble;
let secrets: MemorySecrets;
let settings: PostgresqlSettings;
let destination: Destination;
let logLines: string[];
const readonlyRole = `cr8tor_ro_${randomBytes(4).toString('hex')}`;
const RO_PASSWORD = 'Ro-password#42';
const DEST_PASSWORD = 'Loader-password#7';
const pgCase: SourceCase = pgAllTypes();

function pgConnector(database: string): PostgresConnector {
  const config = sourceSchema.parse({
    type: 'postgresql', host_url: pgSettings.host, port: pgSettings.port, database,
    credentials: { provider: 'AzureKeyVault', username_key: 'pg-user', password_key: 'pg-password' },
  }) as SqlSourceConfig;
  return new PostgresConnector(config, { username: pgSettings.user, password: pgSettings.password }, {});
}

function mysqlConnector(database: string): MysqlConnector {
  const config = sourceSchema.parse({
    type: 'mysql', host_url: mysqlSettings.host, port: mysqlSettings.port, database,
    credentials: { provider: 'AzureKeyVault', username_key: 'my-user', password_key: 'my-password' },
  }) as SqlSourceConfig;
  return new MysqlConnector(config, { username: mysqlSettings.user, password: mysqlSettings.password }, {});
}

/** Every SQL text the destination sent. */
const queries: string[] = [];

function destinationFor(s: PostgresqlSettings): Destination {
  return postgresqlDestination({
    settings: s,
    secrets,
    log: pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) }),
    onQuery: (sql) => void queries.push(sql),
  });
}

/** Packages tables of a source schema through the destination, from one snapshot. */
async function packageFrom(
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

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** A destination table re-extracted in canonical form (header and rows), through the PostgreSQL connector. */
async function canonical(schema: string, table: string): Promise<Array<Array<string | null>>> {
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
function assertSameRows(actual: Array<Array<string | null>>, expected: SourceCase, label: string): void {
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

async function rows(sql: string, values: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  return (await dest.client.query(sql, values)).rows;
}

async function columnTypes(schema: string, table: string): Promise<string[]> {
  const found = await rows(
    `SELECT format_type(a.atttypid, a.atttypmod) AS t FROM pg_attribute a
      WHERE a.attrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [schema, table],
  );
  return found.map((r) => r.t as string);
}

async function primaryKey(schema: string, table: string): Promise<string[]> {
  const found = await rows(
    `SELECT a.attname FROM pg_constraint k JOIN LATERAL unnest(k.conkey) WITH ORDINALITY AS u(attnum, n) ON true
       JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum
      WHERE k.contype = 'p' AND k.conrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass ORDER BY u.n`,
    [schema, table],
  );
  return found.map((r) => r.attname as string);
}

/** The registry's rows (with the load time when asked), by schema. */
async function registryRows(withTime = false): Promise<Array<Record<string, unknown>>> {
  return rows(`SELECT schema_name, project_key, project_name, start_time, source_schema${withTime ? ', loaded_at' : ''} FROM cr8tor_publisher.loads ORDER BY 1`);
}

async function schemas(): Promise<string[]> {
  const found = await rows(`SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('information_schema', 'public') ORDER BY 1`);
  return found.map((r) => r.nspname as string);
}

/** The whole content of a table as text, for "unchanged" checks. */
async function content(schema: string, table: string): Promise<string> {
  const found = await rows(`SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') AS c FROM ${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table)} t`);
  return found[0]!.c as string;
}

before(async () => {
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
    CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 8) AS payload FROM generate_series(1, 300000) AS g;
    CREATE SCHEMA other; CREATE TABLE other.extra (k text PRIMARY KEY); INSERT INTO other.extra VALUES ('x');
  `);
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
});

after(async () => {
  await opal?.stop();
  await source?.drop();
  await dest?.drop();
  await dropPgRole(readonlyRole);
});

describe('settings and type map', () => {
  test('without DESTINATION_POSTGRESQL_HOST the destination is not configured; with it, every setting is required', () => {
    assert.equal(readPostgresqlSettings({}), undefined);
    const full = {
      DESTINATION_POSTGRESQL_HOST: 'db', DESTINATION_POSTGRESQL_DATABASE: 'tre', DESTINATION_POSTGRESQL_USERNAME: 'loader',
      DESTINATION_POSTGRESQL_PASSWORD_SECRET_NAME: 'pw', DESTINATION_POSTGRESQL_OPAL_READONLY_USERNAME: 'ro',
      DESTINATION_POSTGRESQL_OPAL_READONLY_PASSWORD_SECRET_NAME: 'ro-pw', DESTINATION_OPAL_HOST: 'https://opal.example.org',
      DESTINATION_OPAL_USERNAME: 'administrator', DESTINATION_OPAL_PASSWORD_SECRET_NAME: 'opal-pw',
    };
    const s = readPostgresqlSettings(full)!;
    assert.equal(s.database.port, 5432);
    assert.equal(s.opal.noSslVerify, false);
    assert.equal(readPostgresqlSettings({ ...full, DESTINATION_OPAL_NO_SSL_VERIFY: 'true', DESTINATION_POSTGRESQL_PORT: '6432' })!.opal.noSslVerify, true);
    assert.throws(() => readPostgresqlSettings({ ...full, DESTINATION_OPAL_HOST: '' }), (e: unknown) => e instanceof ConfigError && /DESTINATION_OPAL_HOST: is required/.test(e.message));
    assert.throws(() => readPostgresqlSettings({ ...full, DESTINATION_POSTGRESQL_PORT: 'x' }), ConfigError);
    assert.throws(() => readPostgresqlSettings({ ...full, DESTINATION_OPAL_HOST: 'not a url' }), ConfigError);
    assert.throws(
      () => readPostgresqlSettings({ ...full, DESTINATION_POSTGRESQL_OPAL_READONLY_USERNAME: 'loader' }),
      (e: unknown) => e instanceof ConfigError && /DESTINATION_POSTGRESQL_OPAL_READONLY_USERNAME: must not be the loading user/.test(e.message),
    );
  });

  test('decimals keep their precision and scale; older servers get a type holding every value', () => {
    const v15 = { versionNum: 150004 };
    const v13 = { versionNum: 130010 };
    assert.equal(numericType(12, 2, v13), 'numeric(12,2)');
    assert.equal(numericType(undefined, undefined, v13), 'numeric');
    assert.equal(numericType(5, -2, v15), 'numeric(5,-2)');
    assert.equal(numericType(5, -2, v13), 'numeric(7,0)');
    assert.equal(numericType(2, 5, v13), 'numeric(5,5)');
    assert.equal(pgType({ kind: 'uint64' }, v15), 'numeric(20,0)');
    assert.equal(pgType({ kind: 'text', length: 20_000_000 }, v15), 'text');
    assert.equal(pgType({ kind: 'array', element: { kind: 'array', element: { kind: 'decimal', precision: 10, scale: 3 } } }, v15), 'numeric(10,3)[]');
    assert.equal(columnPlan({ kind: 'array', element: { kind: 'int32' } }, v15).loadAs, 'text');
    assert.equal(columnPlan({ kind: 'interval' }, v15).convert, undefined);
  });
});

describe('package to PostgreSQL', () => {
  test('every value of every logical type arrives, with faithful types, keys, comments and NOT NULL', async () => {
    const c = pgConnector(source.database);
    queries.length = 0;
    try {
      const result = await packageFrom(c, 'public', ['all_types', 'person', 'visit']);
      assert.deepEqual(result.data_retrieved, [{ table_name: `${TARGET}.all_types` }, { table_name: `${TARGET}.person` }, { table_name: `${TARGET}.visit` }]);
      assert.deepEqual(result.warnings, []);
    } finally {
      await c.close();
    }
    assertSameRows(await canonical(TARGET, 'all_types'), pgCase, 'all_types');
    assert.deepEqual(await canonical(TARGET, 'person'), [['id', 'name', 'note'], ['1', 'Ann', 'said "hi", left'], ['2', 'Bob', ''], ['3', 'Zoë 🚀', null]]);
    assert.deepEqual(await columnTypes(TARGET, 'all_types'), [
      'integer', 'smallint', 'integer', 'bigint', 'numeric(12,2)', 'numeric(38,10)', 'numeric', 'real', 'double precision', 'boolean',
      'text', 'character varying(20)', 'character varying(5)', 'date', 'time without time zone', 'time with time zone',
      'timestamp without time zone', 'timestamp with time zone', 'interval', 'uuid', 'jsonb', 'jsonb', 'bytea',
      'integer[]', 'text[]', 'timestamp with time zone[]', 'text', 'text', 'text', 'text', 'text',
    ]);
    const info = await rows(`SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'visit' ORDER BY ordinal_position`, [TARGET]);
    assert.deepEqual(info.map((r) => [r.column_name, r.data_type, r.is_nullable]), [
      ['id', 'integer', 'NO'], ['person_id', 'bigint', 'NO'], ['site', 'character varying', 'YES'], ['amount', 'numeric', 'YES'],
    ]);
    assert.deepEqual(await primaryKey(TARGET, 'all_types'), ['id']);
    assert.deepEqual(await primaryKey(TARGET, 'visit'), ['person_id', 'id'], 'a composite key keeps its order');
    const notNull = await rows(`SELECT is_nullable FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'person' AND column_name = 'name'`, [TARGET]);
    assert.equal(notNull[0]!.is_nullable, 'NO');
    const comments = await rows(`SELECT obj_description($1::regclass, 'pg_class') AS t, col_description($1::regclass, 2) AS c`, [`${TARGET}.person`]);
    assert.deepEqual(comments[0], { t: 'People seen', c: 'Full name' });
    const arrays = await rows(`SELECT c_int_array::text AS a, c_text_array::text AS t, c_text_array[1] AS first FROM ${TARGET}.all_types WHERE id = 1`);
    assert.deepEqual(arrays[0], { a: '{1,2,NULL}', t: '{"a,b","c\\"d",NULL,Zoë}', first: 'a,b' });
    assert.deepEqual(await schemas(), ['cr8tor_publisher', TARGET], 'no temporary schema is left; the registry is beside the data');
    assert.deepEqual(await registryRows(), [{ schema_name: TARGET, project_key: 'pr004', project_name: PROJECT, start_time: START, source_schema: 'public' }]);
    // Two transactions: the first load creates the registry in a short one of its own; then the load's.
    const begins = queries.flatMap((q, i) => (q === 'BEGIN' ? [i] : []));
    assert.equal(begins.length, 2);
    const registryTx = queries.slice(begins[0], queries.indexOf('COMMIT', begins[0]) + 1);
    assert.ok(registryTx.some((q) => /^CREATE TABLE "cr8tor_publisher"\.loads/.test(q)), registryTx.join('\n'));
    // The load: create under a temporary name, COPY from STDIN, convert, key, grant, then check the owner, swap and record.
    const load = queries.slice(begins[1]);
    assert.equal(load.at(-1), 'COMMIT');
    assert.equal(load.filter((q) => q === 'COMMIT').length, 1);
    const order = [/^SELECT pg_advisory_xact_lock/, /^SELECT project_name, .* FOR UPDATE$/, /^DROP SCHEMA/, /^ALTER SCHEMA .* RENAME/, /^INSERT INTO "cr8tor_publisher"\.loads/, /^COMMIT$/];
    const tail = load.map((q) => order.findIndex((o) => o.test(q))).filter((i) => i >= 0);
    assert.deepEqual(tail, [0, 1, 2, 3, 4, 5], load.slice(-8).join('\n'));
    const copies = queries.filter((q) => q.startsWith('COPY'));
    assert.equal(copies.length, 3);
    for (const copy of copies) assert.match(copy, /^COPY "cr8tor_loading_[0-9a-f]+"\."\w+" \(.+\) FROM STDIN WITH \(FORMAT csv, HEADER true\)$/);
    assert.ok(queries.some((q) => /^ALTER TABLE .*"all_types" ALTER COLUMN "c_int_array" TYPE integer\[\] USING pg_temp\.cr8tor_array_text/.test(q)), 'arrays are converted once after the load');
    assert.ok(queries.some((q) => /^DROP SCHEMA IF EXISTS "pr004_20250205_010101_public" CASCADE$/.test(q)));
    assert.ok(queries.some((q) => /^ALTER SCHEMA "cr8tor_loading_[0-9a-f]+" RENAME TO "pr004_20250205_010101_public"$/.test(q)));
  });

  test('values ISO 8601 cannot spell, and a lone \\. line, load as the source held them', async () => {
    const c = pgConnector(source.database);
    try {
      await packageFrom(c, 'public', ['beyond_iso', 'lone'], { startTime: '20250206_000000' });
    } finally {
      await c.close();
    }
    const schema = 'pr004_20250206_000000_public';
    const text = async (client: pg.Client, table: string) => {
      const [, result] = (await client.query(`SET TIME ZONE 'UTC'; SELECT string_agg(t::text, ';' ORDER BY t::text) AS d FROM ${table} t`)) as unknown as pg.QueryResult[];
      return result!.rows[0].d as string;
    };
    assert.equal(await text(dest.client, `${schema}.beyond_iso`), await text(source.client, 'beyond_iso'));
    assert.match(await text(dest.client, `${schema}.beyond_iso`), /infinity.*BC.*10000-01-01/s);
    const lone = await rows(`SELECT v FROM ${schema}.lone ORDER BY v NULLS LAST`);
    assert.deepEqual(lone.map((r) => r.v), ['', '\\.', null]);
  });

  test('a MariaDB source: every value arrives, in faithful PostgreSQL types', async (t) => {
    let my: TestMysqlDatabase;
    try {
      my = await createMysqlDatabase('pgdst_my');
    } catch (error) {
      t.skip(`no MariaDB/MySQL here: ${(error as Error).message}`);
      return;
    }
    try {
      const [version] = (await my.conn.query('SELECT VERSION() AS v')) as unknown as [Array<{ v: string }>];
      const myCase = mysqlAllTypes(/mariadb/i.test(version[0]!.v) ? 'mariadb' : 'mysql');
      for (const sql of myCase.setup) await my.conn.query(sql);
      const c = mysqlConnector(my.database);
      try {
        await packageFrom(c, null, ['all_types'], { startTime: '20250207_000000' });
      } finally {
        await c.close();
      }
      const schema = `pr004_20250207_000000_${my.database}`;
      assertSameRows(await canonical(schema, 'all_types'), myCase, 'MariaDB all_types');
      const types = await columnTypes(schema, 'all_types');
      const byName = new Map(myCase.columns.map((col, i) => [col.name, types[i]]));
      assert.equal(byName.get('c_utinyint'), 'smallint');
      assert.equal(byName.get('c_uint'), 'bigint');
      assert.equal(byName.get('c_ubigint'), 'numeric(20,0)');
      assert.equal(byName.get('c_decimal_wide'), 'numeric(38,10)');
      assert.equal(byName.get('c_bit1'), 'boolean');
      assert.equal(byName.get('c_datetime'), 'timestamp without time zone');
      assert.equal(byName.get('c_timestamp'), 'timestamp with time zone');
      assert.equal(byName.get('c_blob'), 'bytea');
      assert.equal(byName.get('c_enum'), 'text');
      assert.deepEqual(await primaryKey(schema, 'all_types'), ['id']);
    } finally {
      await my.drop();
    }
  });

  test('packaging again replaces the schema: only the second package remains', async () => {
    const startTime = '20250301_000000';
    const schema = 'pr004_20250301_000000_public';
    const c = pgConnector(source.database);
    try {
      await packageFrom(c, 'public', ['person', 'visit'], { startTime });
      await source.client.query(`INSERT INTO person VALUES (4, 'Dee', 'new')`);
      const second = await packageFrom(c, 'public', [{ name: 'person', columns: ['name', 'id'] }], { startTime });
      assert.deepEqual(second.data_retrieved, [{ table_name: `${schema}.person` }]);
      assert.deepEqual(second.warnings, []);
    } finally {
      await source.client.query(`DELETE FROM person WHERE id = 4`);
      await c.close();
    }
    assert.deepEqual(await canonical(schema, 'person'), [['name', 'id'], ['Ann', '1'], ['Bob', '2'], ['Zoë 🚀', '3'], ['Dee', '4']]);
    const tables = await rows(`SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1`, [schema]);
    assert.deepEqual(tables.map((r) => r.tablename), ['person'], 'visit, not in the second package, is gone');
    assert.deepEqual(await primaryKey(schema, 'person'), ['id'], 'the key is kept: every key column was loaded (in another order)');
  });

  test('a key column left out drops the key, with a warning', async () => {
    const c = pgConnector(source.database);
    try {
      const result = await packageFrom(c, 'public', [{ name: 'visit', columns: ['site', 'id'] }], { startTime: '20250302_000000' });
      assert.deepEqual(result.warnings, ["The primary key of table 'visit' is not kept: its column(s) person_id were not extracted."]);
    } finally {
      await c.close();
    }
    assert.deepEqual(await primaryKey('pr004_20250302_000000_public', 'visit'), []);
  });

  describe('a load that fails leaves the previous tables and no temporary schema', () => {
    let previous: { person: string; allTypes: string; schemas: string[] };
    const failing = (table: string, make: (columns: readonly ColumnInfo[]) => Readable) => (real: SourceSnapshot): SourceSnapshot => ({
      ...real,
      csv: (schema, t, columns) => (t === table ? make(columns) : real.csv(schema, t, columns)),
      rowsRead: (schema, t) => real.rowsRead(schema, t),
      close: () => real.close(),
    });

    async function snapshotOfTarget() {
      return { person: await content(TARGET, 'person'), allTypes: await content(TARGET, 'all_types'), schemas: await schemas(), registry: await registryRows(true) };
    }

    async function assertUnchanged() {
      assert.deepEqual(await snapshotOfTarget(), previous);
      const loading = await rows(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'cr8tor\\_loading%'`);
      assert.deepEqual(loading, []);
    }

    before(async () => {
      previous = await snapshotOfTarget();
      assert.ok(previous.person.length > 0, 'the first test loaded the target');
    });

    test('a CSV stream that errors after several megabytes', async () => {
      const c = pgConnector(source.database);
      const header = 'id,name,note\n';
      const body = Array.from({ length: 60_000 }, (_, i) => `${i + 100},name ${i},${'x'.repeat(80)}\n`).join('');
      const boom = new AppError('SOURCE_UNREACHABLE', 'The connection to the postgresql source was lost: injected.');
      try {
        await assert.rejects(
          packageFrom(c, 'public', ['all_types', 'person'], { wrap: failing('person', () => failingStream(header + body, boom)) }),
          (error: unknown) => error === boom,
        );
      } finally {
        await c.close();
      }
      await assertUnchanged();
    });

    test('a value PostgreSQL refuses fails with DESTINATION_FAILED naming the table, line and column', async () => {
      const c = pgConnector(source.database);
      const bad = (columns: readonly ColumnInfo[]) => {
        const header = columns.map((col) => col.name).join(',');
        return textStream(`${header}\n1,Ann,ok\nnot-a-number,Bob,\n`);
      };
      try {
        await assert.rejects(packageFrom(c, 'public', ['all_types', 'person'], { wrap: failing('person', bad) }), (error: unknown) => {
          assert.ok(error instanceof AppError);
          assert.equal(error.code, 'DESTINATION_FAILED');
          assert.equal(error.status, 502);
          assert.match(error.detail, /^Loading schema 'pr004_20250205_010101_public' failed in the PostgreSQL destination database: invalid input syntax for type bigint.*\(COPY person, line 3, column id/);
          assert.ok(!error.detail.includes(DEST_PASSWORD));
          assert.ok(!error.detail.includes(dest.database) && !error.detail.includes(`${pgSettings.host}:${pgSettings.port}`), 'where the database is stays in the log');
          return true;
        });
      } finally {
        await c.close();
      }
      const logged = logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'PostgreSQL destination: package failed' && /invalid input syntax for type bigint/.test(l.err?.message));
      assert.deepEqual(logged?.database, { host: pgSettings.host, port: pgSettings.port, database: dest.database, user: pgSettings.user }, 'the log says where');
      assert.equal(logged.project, PROJECT);
      await assertUnchanged();
    });

    test('a first load of a schema that fails records nothing in the registry', async () => {
      const c = pgConnector(source.database);
      const boom = new AppError('SOURCE_UNREACHABLE', 'The connection to the postgresql source was lost: injected.');
      try {
        await assert.rejects(
          packageFrom(c, 'public', ['all_types', 'person'], { startTime: '20250304_000000', wrap: failing('person', () => failingStream('id,name,note\n1,a,b\n', boom)) }),
          (error: unknown) => error === boom,
        );
      } finally {
        await c.close();
      }
      assert.deepEqual(await rows(`SELECT * FROM cr8tor_publisher.loads WHERE schema_name = 'pr004_20250304_000000_public'`), []);
      await assertUnchanged();
    });

    test("a row count that disagrees with the source's count fails the package", async () => {
      const c = pgConnector(source.database);
      const miscount = (real: SourceSnapshot): SourceSnapshot => ({
        ...real,
        csv: (schema, t, columns) => real.csv(schema, t, columns),
        rowsRead: (schema, t) => (t === 'person' ? 99 : real.rowsRead(schema, t)),
        close: () => real.close(),
      });
      try {
        await assert.rejects(packageFrom(c, 'public', ['all_types', 'person'], { wrap: miscount }), (error: unknown) => {
          assert.ok(error instanceof AppError);
          assert.equal(error.detail, "Table 'person': the source sent 99 rows but the destination database loaded 3; nothing was replaced.");
          return true;
        });
      } finally {
        await c.close();
      }
      await assertUnchanged();
    });

    test('a header that does not match the columns fails before anything is loaded', async () => {
      const c = pgConnector(source.database);
      try {
        await assert.rejects(
          packageFrom(c, 'public', ['person'], { wrap: failing('person', () => textStream('id,note,name\n1,a,b\n')) }),
          (error: unknown) => error instanceof AppError && /has the columns \["id", "note", "name"\]/.test(error.detail),
        );
      } finally {
        await c.close();
      }
      await assertUnchanged();
    });

    test('the source connection killed mid-COPY', async () => {
      const c = pgConnector(source.database);
      try {
        const pending = packageFrom(c, 'public', ['person', 'big']);
        let killed = false;
        for (let i = 0; i < 400 && !killed; i++) {
          const { rows: k } = await source.client.query(
            `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND query ILIKE 'COPY (SELECT%big%'`,
            [source.database],
          );
          killed = k.some((r) => r.done);
          if (!killed) await new Promise((r) => setTimeout(r, 5));
        }
        assert.ok(killed, 'the extraction was seen and terminated');
        await assert.rejects(pending, (error: unknown) => error instanceof AppError && error.status === 502 && /postgresql source/.test(error.detail));
      } finally {
        await c.close();
      }
      await assertUnchanged();
    });

    test('readers holding the previous tables make the swap give up after its lock timeout, leaving them', async () => {
      const reader = new pg.Client({ ...pgSettings, database: dest.database });
      await reader.connect();
      try {
        await reader.query(`BEGIN; SELECT count(*) FROM ${TARGET}.person`);
        const c = pgConnector(source.database);
        try {
          await assert.rejects(packageFrom(c, 'public', ['person']), (error: unknown) => error instanceof AppError && /is in use: its tables could not be replaced within 2 s/.test(error.detail));
        } finally {
          await c.close();
        }
      } finally {
        await reader.query('ROLLBACK');
        await reader.end();
      }
      await assertUnchanged();
    });
  });

  test("the platform's own registry schema is never a load's target", async () => {
    const client = new pg.Client({ ...pgSettings, database: dest.database });
    await client.connect();
    try {
      const before = await registryRows(true);
      const table = { name: 'person', description: null, columns: [{ name: 'id', nullable: true, description: null, logical: { kind: 'int32' } }] as unknown as ColumnInfo[], primaryKey: [], csv: () => textStream('id\n1\n') };
      await assert.rejects(
        loadSchema(client, { target: 'cr8tor_publisher', owner: { project: PROJECT, startTime: START, sourceSchema: 'public' }, readonlyRole, swapLockTimeoutMs: 1000, tables: [table] }),
        (e: unknown) => e instanceof AppError && e.code === 'INVALID_REQUEST' && /Schema 'cr8tor_publisher' is the platform's own/.test(e.detail),
      );
      assert.deepEqual(await registryRows(true), before);
    } finally {
      await client.end();
    }
  });

  test('names PostgreSQL would cut are refused before anything is written', async () => {
    const c = pgConnector(source.database);
    try {
      await assert.rejects(
        packageFrom(c, 'public', ['person'], { project: 'P'.repeat(46) }),
        (error: unknown) => error instanceof AppError && error.code === 'INVALID_REQUEST' && /schema name '.*' is 69 bytes long; .* at most 63/.test(error.detail),
      );
    } finally {
      await c.close();
    }
  });

  test('the read-only role reads every loaded table and can change nothing', async () => {
    const asRole = new pg.Client({ ...pgSettings, database: dest.database, user: readonlyRole, password: RO_PASSWORD });
    await asRole.connect();
    try {
      const { rows: r } = await asRole.query(`SELECT (SELECT count(*) FROM ${TARGET}.person)::int AS p, (SELECT count(*) FROM ${TARGET}.all_types)::int AS a, (SELECT count(*) FROM ${TARGET}.visit)::int AS v`);
      assert.deepEqual(r[0], { p: 3, a: 4, v: 3 });
      await assert.rejects(asRole.query(`INSERT INTO ${TARGET}.person VALUES (9, 'x', null)`), /permission denied/);
      await assert.rejects(asRole.query(`CREATE TABLE ${TARGET}.mine (x int)`), /permission denied/);
    } finally {
      await asRole.end();
    }
  });

  test('a missing read-only role is DESTINATION_NOT_READY, for readiness and for packaging', async () => {
    const other = destinationFor({ ...settings, readonlyUsername: 'no_such_role_here' });
    await assert.rejects(other.checkReady(DESTINATION), (e: unknown) => e instanceof AppError && e.code === 'DESTINATION_NOT_READY' && /read-only role 'no_such_role_here'/.test(e.detail));
    const c = pgConnector(source.database);
    try {
      await assert.rejects(packageFrom(c, 'public', ['person'], { target: other, startTime: '20250303_000000' }), (e: unknown) => e instanceof AppError && e.code === 'DESTINATION_NOT_READY');
    } finally {
      await c.close();
    }
  });
});

describe('readiness', () => {
  test('the database answers and OPAL accepts the credentials', async () => {
    opal.clearLog();
    await destination.checkReady(DESTINATION);
    assert.deepEqual(opal.requests.map((r) => `${r.method} ${r.path} ${r.status}`), ['GET /system/subject-profile/_current 200']);
  });

  test('a database that does not exist, or OPAL refusing the password, is DESTINATION_NOT_READY naming it', async () => {
    const missing = destinationFor({ ...settings, database: { ...settings.database, database: 'no_such_db_cr8tor' } });
    logLines.length = 0;
    await assert.rejects(missing.checkReady(DESTINATION), (e: unknown) => e instanceof AppError && e.code === 'DESTINATION_NOT_READY' && e.detail === 'The PostgreSQL destination database does not exist (DESTINATION_POSTGRESQL_DATABASE).');
    const closed = destinationFor({ ...settings, database: { ...settings.database, port: 1 } });
    await assert.rejects(closed.checkReady(DESTINATION), (e: unknown) => e instanceof AppError && e.status === 503 && e.detail === 'Cannot connect to the PostgreSQL destination database: connection refused.');
    // The caller is not told where the database is; the log is.
    const logged = logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'PostgreSQL destination: readiness check failed');
    assert.deepEqual(logged.map((l) => [l.level, l.database]), [
      [40, { host: pgSettings.host, port: pgSettings.port, database: 'no_such_db_cr8tor', user: pgSettings.user }],
      [40, { host: pgSettings.host, port: 1, database: dest.database, user: pgSettings.user }],
    ]);
    assert.match(logged[0].err.message, /database "no_such_db_cr8tor" does not exist/);
    assert.match(logged[1].err.message, /ECONNREFUSED/);
    secrets.values.set('opal-wrong', 'Not-the-password#1');
    const wrong = destinationFor({ ...settings, opal: { ...settings.opal, passwordSecretName: 'opal-wrong' } });
    await assert.rejects(wrong.checkReady(DESTINATION), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'DESTINATION_NOT_READY');
      assert.match(e.detail, /^OPAL rejected the credentials of user 'administrator' \(password from secret 'opal-wrong'\) at step 'check credentials': HTTP 401/);
      assert.ok(!e.detail.includes('Not-the-password#1'));
      return true;
    });
  });
});

describe('publish to OPAL', () => {
  test("finds every table of the project's recorded schemas (not a look-alike nobody recorded), provisions OPAL, and again changes nothing", async () => {
    const c = pgConnector(source.database);
    try {
      await packageFrom(c, 'other', ['extra']);
    } finally {
      await c.close();
    }
    // Schemas of the project's name shape that nobody recorded; and a bookkeeping table the original's loader left.
    await dest.client.query(`CREATE SCHEMA "pr004x20250205_010101_public"; CREATE TABLE "pr004x20250205_010101_public".decoy (x int)`);
    await dest.client.query(`CREATE SCHEMA "pr004_20250205_010101_byhand"; CREATE TABLE "pr004_20250205_010101_byhand".decoy (x int)`);
    await dest.client.query(`CREATE TABLE ${TARGET}._dlt_loads (x int)`);
    opal.clearLog();
    logLines.length = 0;
    const result = await destination.publish({ project: PROJECT, startTime: START, destination: DESTINATION });
    const expected = [
      ['pr004_20250205_010101_other', 'extra'],
      [TARGET, 'all_types'],
      [TARGET, 'person'],
      [TARGET, 'visit'],
    ];
    assert.deepEqual(result.data_published, expected.map(([s, t]) => ({
      postgresql_table_name: `${s}.${t}`,
      opal_resource_name: `tre_postgresql_${s}_${t}`,
      opal_project_name: PROJECT,
      opal_group_name: 'Pr004_group',
    })));
    const state = opal.state();
    assert.deepEqual(state.resources.map((r) => [r.name, r.parameters, r.credentials]), expected.map(([s, t]) => [
      `tre_postgresql_${s}_${t}`,
      { host: pgSettings.host, port: String(pgSettings.port), db: dest.database, table: t, schema: s, driver: 'postgresql' },
      { username: readonlyRole, password: RO_PASSWORD },
    ]));
    assert.deepEqual(state.users.map((u) => [u.name, u.groups]), [['dsuser_default', ['Pr004_group']]]);
    assert.deepEqual(state.permissions.map((p) => [p.node, p.principal, p.permission]), [
      ['/datashield', 'Pr004_group', 'DATASHIELD_USE'],
      ['/project/Pr004/resources', 'Pr004_group', 'RESOURCES_VIEW'],
    ]);
    const userPassword = opal.passwordOf('dsuser_default')!;
    for (const secret of [userPassword, RO_PASSWORD, opal.password, DEST_PASSWORD]) {
      assert.ok(!JSON.stringify(result).includes(secret), 'no password in the result');
      assert.ok(!logLines.join('\n').includes(secret), 'no password in the log');
    }
    assert.ok(logLines.some((l) => l.includes('OPAL: creating resource')), 'provisioning is logged');

    opal.clearLog();
    const again = await destination.publish({ project: PROJECT, startTime: START, destination: DESTINATION });
    assert.deepEqual(again, result);
    assert.deepEqual(opal.state(), state);
    assert.deepEqual(opal.writes(), []);
    assert.deepEqual(opal.unexpected, []);
  });

  test('a project with no tables has nothing to publish', async () => {
    await assert.rejects(
      destination.publish({ project: PROJECT, startTime: '20991231_235959', destination: DESTINATION }),
      (e: unknown) =>
        e instanceof AppError && e.code === 'NOTHING_TO_PUBLISH' &&
        e.detail === "No tables found in the schemas recorded for project 'Pr004' (start time 20991231_235959) in the PostgreSQL destination database. Nothing to publish to OPAL.",
    );
  });
});

/** A Readable of exactly `text`. */
function textStream(text: string): Readable {
  return Readable.from([Buffer.from(text, 'utf8')]);
}
