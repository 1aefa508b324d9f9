/**
 * Four sources, one dataset, the same files. One table holding every logical
 * type the four sources have in common is loaded into PostgreSQL and MariaDB
 * (real servers), the SQL Server double (real `tedious` on the wire) and the
 * Databricks double (real `@databricks/sql`), then packaged from each through
 * the gateway as CSV and as DuckDB. Databricks is read twice: its rows
 * arriving as CloudFetch files (LZ4-compressed Arrow, several per table, from
 * the storage double) and as inline Arrow batches from a protocol-V5
 * warehouse (uncompressed). The CSV files are byte for byte the same
 * and the DuckDB tables hold the same values in the same types — apart from
 * the differences between the sources listed in {@link DIFFERENCES}, which
 * are the only ones allowed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { SourceConnectorOptions } from '../../lib/connectors/index.js';
import { parseCsv, toCsv } from '../support/csv-text.js';
import { createMysqlDatabase, createPgDatabase, type TestMysqlDatabase, type TestPgDatabase } from '../support/databases.js';
import { startPlatform, type Platform } from '../support/platform.js';
import { dataset, sqlSource, transferRequest, type SqlSourceBody } from '../support/requests.js';
import { writeFourSourceSecrets } from '../support/source-secrets.js';
import { mssqlSource, startTdsDouble, type StartedTds } from '../support/tds/index.js';
import { DatabricksDouble, PROTOCOL, SERVICE_PRINCIPAL, databricksSource } from '../support/databricks/index.js';

type Source = 'postgresql' | 'mariadb' | 'mssql' | 'databrickssql' | 'databrickssql-inline';
const SOURCES: Source[] = ['postgresql', 'mariadb', 'mssql', 'databrickssql', 'databrickssql-inline'];
/** The column types and documented differences of a source: both Databricks reads share Databricks'. */
type Kind = Exclude<Source, 'databrickssql-inline'>;
const kindOf = (source: Source): Kind => (source === 'databrickssql-inline' ? 'databrickssql' : source);

const TRICKY_TEXT = 'Zoë 🚀 ñ, "quoted"\nnew line\r\nand, commas';

/**
 * One shared column: its type on each source (absent: the source has no such
 * type), per row the value to load and the canonical text every source
 * extracts. `load` gives each source's SQL literal (PostgreSQL, MariaDB) or
 * the value its double holds (SQL Server, Databricks).
 */
interface SharedColumn {
  name: string;
  types: Partial<Record<Kind, string>>;
  /** Databricks type_name for the double. */
  dbxTypeName?: string;
  rows: Array<{ text: string | null; pg: string; my: string; mssql: unknown; dbx: unknown }>;
  /** The SQL Server column's collation, when not the database default. */
  mssqlCollation?: string;
}

const NULL = { text: null, pg: 'NULL', my: 'NULL', mssql: null, dbx: null };
const same = (text: string, literal: string, mssql: unknown = text, dbx: unknown = mssql) => ({ text, pg: literal, my: literal, mssql, dbx });
const hex = (h: string) => Buffer.from(h, 'hex');

const COLUMNS: SharedColumn[] = [
  { name: 'id', types: { postgresql: 'integer', mariadb: 'int', mssql: 'int', databrickssql: 'int' }, dbxTypeName: 'INT', rows: [same('1', '1', 1), same('2', '2', 2), same('3', '3', 3), same('4', '4', 4)] },
  { name: 'c_tinyint', types: { postgresql: 'smallint', mariadb: 'tinyint', mssql: 'tinyint', databrickssql: 'tinyint' }, dbxTypeName: 'BYTE', rows: [same('12', '12', 12), same('0', '0', 0), NULL, same('127', '127', 127)] },
  { name: 'c_smallint', types: { postgresql: 'smallint', mariadb: 'smallint', mssql: 'smallint', databrickssql: 'smallint' }, dbxTypeName: 'SHORT', rows: [same('12', '12', 12), same('-32768', '-32768', -32768), NULL, same('32767', '32767', 32767)] },
  { name: 'c_int', types: { postgresql: 'integer', mariadb: 'int', mssql: 'int', databrickssql: 'int' }, dbxTypeName: 'INT', rows: [same('-42', '-42', -42), same('-2147483648', '-2147483648', -2147483648), NULL, same('2147483647', '2147483647', 2147483647)] },
  {
    name: 'c_bigint', types: { postgresql: 'bigint', mariadb: 'bigint', mssql: 'bigint', databrickssql: 'bigint' }, dbxTypeName: 'LONG',
    rows: [same('1234567890123', '1234567890123', 1234567890123n), same('-9223372036854775808', '-9223372036854775808', -9223372036854775808n), NULL, same('9223372036854775807', '9223372036854775807', 9223372036854775807n)],
  },
  {
    name: 'c_decimal', types: { postgresql: 'numeric(12,2)', mariadb: 'decimal(12,2)', mssql: 'decimal(12,2)', databrickssql: 'decimal(12,2)' }, dbxTypeName: 'DECIMAL',
    rows: [same('1234.50', '1234.5', '1234.5'), same('-9999999999.99', '-9999999999.99'), NULL, same('0.00', '0', '0')],
  },
  {
    name: 'c_decimal_wide', types: { postgresql: 'numeric(38,10)', mariadb: 'decimal(38,10)', mssql: 'numeric(38,10)', databrickssql: 'decimal(38,10)' }, dbxTypeName: 'DECIMAL',
    rows: [same('1234567890123456789012345678.0123456789', '1234567890123456789012345678.0123456789'), same('-0.0000000001', '-0.0000000001'), NULL, same('0.0000000000', '0', '0')],
  },
  { name: 'c_real', types: { postgresql: 'real', mariadb: 'float', mssql: 'real', databrickssql: 'float' }, dbxTypeName: 'FLOAT', rows: [same('1.1', '1.1', Math.fround(1.1)), same('-2.5', '-2.5', -2.5), NULL, same('0.5', '0.5', 0.5)] },
  {
    name: 'c_double', types: { postgresql: 'double precision', mariadb: 'double', mssql: 'float', databrickssql: 'double' }, dbxTypeName: 'DOUBLE',
    rows: [same('0.30000000000000004', '0.30000000000000004e0', 0.30000000000000004), same('-1.7976931348623157e+308', '-1.7976931348623157e308', -1.7976931348623157e308), NULL, same('1e-07', '1e-7', 1e-7)],
  },
  {
    name: 'c_boolean', types: { postgresql: 'boolean', mariadb: 'bit(1)', mssql: 'bit', databrickssql: 'boolean' }, dbxTypeName: 'BOOLEAN',
    rows: [{ text: 'true', pg: 'true', my: "b'1'", mssql: true, dbx: true }, { text: 'false', pg: 'false', my: "b'0'", mssql: false, dbx: false }, NULL, { text: 'false', pg: 'false', my: "b'0'", mssql: false, dbx: false }],
  },
  {
    name: 'c_char', types: { postgresql: 'char(5)', mariadb: 'char(5)', mssql: 'nchar(5)', databrickssql: 'char(5)' }, dbxTypeName: 'CHAR',
    rows: [same('ab   ', "'ab'", 'ab   '), same('Zoë  ', "'Zoë'", 'Zoë  '), NULL, same('     ', "''", '     ')],
  },
  {
    name: 'c_varchar', types: { postgresql: 'varchar(20)', mariadb: 'varchar(20)', mssql: 'varchar(20)', databrickssql: 'varchar(20)' }, dbxTypeName: 'STRING',
    rows: [same('a,b', "'a,b'", 'a,b'), { text: "it's ; tab\there", pg: "E'it''s ; tab\\there'", my: "'it''s ; tab\\there'", mssql: "it's ; tab\there", dbx: "it's ; tab\there" }, NULL, same('', "''", '')],
  },
  {
    name: 'c_text', types: { postgresql: 'text', mariadb: 'text', mssql: 'varchar(max)', databrickssql: 'string' }, dbxTypeName: 'STRING', mssqlCollation: 'Latin1_General_100_CI_AS_SC_UTF8',
    rows: [
      same('plain', "'plain'", 'plain'),
      {
        text: TRICKY_TEXT,
        pg: `E'${TRICKY_TEXT.replaceAll("'", "''").replaceAll('\n', '\\n').replaceAll('\r', '\\r')}'`,
        my: `'${TRICKY_TEXT.replaceAll('\\', '\\\\').replaceAll("'", "''").replaceAll('\n', '\\n').replaceAll('\r', '\\r')}'`,
        mssql: TRICKY_TEXT,
        dbx: TRICKY_TEXT,
      },
      NULL,
      same('', "''", ''),
    ],
  },
  ...([
    ['c_cyrillic', undefined, ['Съешь же ещё этих мягких французских булок', 'Ёё № «кавычки», Ђђ']],
    ['c_chinese', 'Chinese_PRC_CI_AS', ['中文数据，测试', '北京 上海 “引号”']],
    ['c_japanese', 'Japanese_CI_AS', ['日本語のテキスト', 'ｶﾀｶﾅ 半角、全角']],
    ['c_greek', 'Greek_CI_AS', ['Ελληνικά κείμενα', 'ΑΒΓ αβγ ΩΨ; «»']],
  ] as const).map(([name, collation, [a, b]]): SharedColumn => ({
    name,
    types: { postgresql: 'text', mariadb: 'varchar(60)', mssql: 'varchar(60)', databrickssql: 'string' },
    dbxTypeName: 'STRING',
    ...(collation ? { mssqlCollation: collation } : {}),
    rows: [same(a, `'${a}'`), same(b, `'${b}'`), NULL, same('', "''")],
  })),
  { name: 'c_date', types: { postgresql: 'date', mariadb: 'date', mssql: 'date', databrickssql: 'date' }, dbxTypeName: 'DATE', rows: [same('2024-02-29', "'2024-02-29'", '2024-02-29'), same('1000-01-01', "'1000-01-01'", '1000-01-01'), NULL, same('9999-12-31', "'9999-12-31'", '9999-12-31')] },
  { name: 'c_time', types: { postgresql: 'time', mariadb: 'time(6)', mssql: 'time(6)' }, rows: [same('13:45:10', "'13:45:10'", '13:45:10'), same('23:59:59.999999', "'23:59:59.999999'", '23:59:59.999999'), NULL, same('00:00:00', "'00:00:00'", '00:00:00')] },
  {
    name: 'c_timestamp', types: { postgresql: 'timestamp(6)', mariadb: 'datetime(6)', mssql: 'datetime2(6)', databrickssql: 'timestamp_ntz' }, dbxTypeName: 'TIMESTAMP_NTZ',
    rows: [
      same('2024-02-29T13:45:10.123456', "'2024-02-29 13:45:10.123456'", '2024-02-29 13:45:10.123456'),
      same('1000-01-01T00:00:00', "'1000-01-01 00:00:00'", '1000-01-01 00:00:00'),
      NULL,
      same('1970-01-01T00:00:00.5', "'1970-01-01 00:00:00.5'", '1970-01-01 00:00:00.5'),
    ],
  },
  {
    // MariaDB's TIMESTAMP runs from 1970 to 2038 and is loaded in a UTC session.
    name: 'c_timestamptz', types: { postgresql: 'timestamptz', mariadb: 'timestamp(6) NULL', mssql: 'datetimeoffset(6)', databrickssql: 'timestamp' }, dbxTypeName: 'TIMESTAMP',
    rows: [
      { text: '2024-03-01T04:45:30.123456+00:00', pg: "'2024-03-01 10:15:30.123456+05:30'", my: "'2024-03-01 04:45:30.123456'", mssql: '2024-03-01 10:15:30.123456 +05:30', dbx: '2024-03-01T10:15:30.123456+05:30' },
      { text: '2038-01-19T03:14:07.999999+00:00', pg: "'2038-01-19 03:14:07.999999+00'", my: "'2038-01-19 03:14:07.999999'", mssql: '2038-01-18 19:14:07.999999 -08:00', dbx: '2038-01-19T03:14:07.999999Z' },
      NULL,
      { text: '1970-01-01T00:00:01+00:00', pg: "'1970-01-01 00:00:01+00'", my: "'1970-01-01 00:00:01'", mssql: '1970-01-01 05:30:01 +05:30', dbx: '1970-01-01T00:00:01Z' },
    ],
  },
  {
    name: 'c_binary', types: { postgresql: 'bytea', mariadb: 'varbinary(16)', mssql: 'varbinary(16)', databrickssql: 'binary' }, dbxTypeName: 'BINARY',
    rows: [
      { text: '\\xdeadbeef', pg: "'\\xdeadbeef'", my: "x'DEADBEEF'", mssql: hex('deadbeef'), dbx: hex('deadbeef') },
      { text: '\\x00ff', pg: "'\\x00ff'", my: "x'00FF'", mssql: hex('00ff'), dbx: hex('00ff') },
      NULL,
      { text: '\\x', pg: "''", my: "x''", mssql: hex(''), dbx: hex('') },
    ],
  },
  {
    name: 'c_uuid', types: { postgresql: 'uuid', mariadb: 'uuid', mssql: 'uniqueidentifier', databrickssql: 'string' }, dbxTypeName: 'STRING',
    rows: [
      { text: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', pg: "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'", my: "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'", mssql: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', dbx: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' },
      same('ffffffff-ffff-ffff-ffff-ffffffffffff', "'ffffffff-ffff-ffff-ffff-ffffffffffff'", 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', 'ffffffff-ffff-ffff-ffff-ffffffffffff'),
      NULL,
      same('00000000-0000-0000-0000-000000000000', "'00000000-0000-0000-0000-000000000000'", '00000000-0000-0000-0000-000000000000'),
    ],
  },
];

/**
 * The documented differences between the sources: the only ways a package of
 * the shared table may differ from PostgreSQL's. Everything not listed here
 * must be identical, in the CSV bytes and in the DuckDB types and values.
 */
const DIFFERENCES: Array<{ source: Kind; column: string; csv?: 'absent' | Array<string | null>; duckdb?: string | 'absent'; why: string }> = [
  { source: 'postgresql', column: 'c_tinyint', duckdb: 'SMALLINT', why: 'PostgreSQL has no 1-byte integer: the column is smallint (int16)' },
  { source: 'mssql', column: 'c_tinyint', duckdb: 'UTINYINT', why: "SQL Server's tinyint is unsigned (0–255): uint8" },
  { source: 'mariadb', column: 'c_char', csv: ['ab', 'Zoë', null, ''], why: 'MySQL and MariaDB strip the trailing spaces of CHAR(n) when read' },
  { source: 'databrickssql', column: 'c_time', csv: 'absent', duckdb: 'absent', why: 'Databricks has no TIME type' },
  { source: 'databrickssql', column: 'c_uuid', duckdb: 'VARCHAR', why: 'Databricks has no UUID type: identifiers are held as STRING, extracted as the same text' },
];

function difference(source: Source, column: string) {
  return DIFFERENCES.find((d) => d.source === kindOf(source) && d.column === column);
}

/** The columns a source has, in order. */
function columnsOf(source: Source): SharedColumn[] {
  return COLUMNS.filter((c) => c.types[kindOf(source)] !== undefined);
}

/** The CSV every source must produce, apart from its documented differences. */
function expectedCsv(source: Source): string {
  const columns = columnsOf(source);
  const rows = [0, 1, 2, 3].map((r) =>
    columns.map((c) => {
      const d = difference(source, c.name);
      return Array.isArray(d?.csv) ? d.csv[r]! : c.rows[r]!.text;
    }),
  );
  return toCsv(columns.map((c) => c.name), rows);
}

const TABLE = 'shared';

function ddl(source: 'postgresql' | 'mariadb', quote: (n: string) => string): string[] {
  const columns = columnsOf(source);
  const create = `CREATE TABLE ${quote(TABLE)} (${columns.map((c) => `${quote(c.name)} ${c.types[source]}`).join(', ')}, PRIMARY KEY (${quote('id')}))`;
  const inserts = [0, 1, 2, 3].map((r) => `INSERT INTO ${quote(TABLE)} VALUES (${columns.map((c) => (source === 'postgresql' ? c.rows[r]!.pg : c.rows[r]!.my)).join(', ')})`);
  return [create, ...inserts];
}

let platform: Platform;
let pgDb: TestPgDatabase;
let myDb: TestMysqlDatabase;
let tds: StartedTds;
let dbx: DatabricksDouble;
let dbxInline: DatabricksDouble;

before(async () => {
  pgDb = await createPgDatabase('four');
  for (const sql of ddl('postgresql', (n) => `"${n}"`)) await pgDb.client.query(sql);
  myDb = await createMysqlDatabase('four');
  const [version] = (await myDb.conn.query('SELECT VERSION() AS v')) as unknown as [Array<{ v: string }>];
  if (!/mariadb/i.test(version[0]!.v)) COLUMNS.find((c) => c.name === 'c_uuid')!.types.mariadb = 'char(36)';
  await myDb.conn.query("SET time_zone = '+00:00'");
  for (const sql of ddl('mariadb', (n) => `\`${n}\``)) await myDb.conn.query(sql);

  tds = await startTdsDouble([
    {
      name: 'research',
      snapshotIsolation: true,
      // Not Latin-1: text columns are varchar in code pages 1251 (this default), 936, 932, 1253 and UTF-8,
      // which the double sends with each column's collation, in its code page, for tedious to decode.
      collation: 'Cyrillic_General_CI_AS',
      schemas: {
        dbo: [{
          name: TABLE,
          columns: columnsOf('mssql').map((c) => ({ name: c.name, type: c.types.mssql!, ...(c.mssqlCollation ? { collation: c.mssqlCollation } : {}) })),
          primaryKey: ['id'],
          rows: [0, 1, 2, 3].map((r) => columnsOf('mssql').map((c) => c.rows[r]!.mssql)),
        }],
      },
    },
  ]);
  const catalogs = [
    {
      name: 'research',
      schemas: {
        cohort: {
          tables: [{
            name: TABLE,
            columns: columnsOf('databrickssql').map((c) => ({ name: c.name, typeName: c.dbxTypeName!, typeText: c.types.databrickssql! })),
            primaryKey: ['id'],
            rows: [0, 1, 2, 3].map((r) => columnsOf('databrickssql').map((c) => c.rows[r]!.dbx)),
          }],
        },
      },
    },
  ];
  const clients = { [SERVICE_PRINCIPAL.clientId]: SERVICE_PRINCIPAL.clientSecret };
  // Every table read by CloudFetch: files of one row, two links per page; statements PENDING/RUNNING for a while.
  dbx = await new DatabricksDouble({ clients, catalogs, cloudFetch: { minRows: 0, fileRows: 1, linksPerPage: 2 }, runningPolls: 2 }).start();
  // An older warehouse: Arrow without LZ4, inline batches of one row.
  dbxInline = await new DatabricksDouble({ clients, catalogs, protocolVersion: PROTOCOL.V5, inlineBatchRows: 1 }).start();

  // Both doubles' CAs, as one PEM bundle (what SOURCE_TLS_CA_FILE would hold).
  const connectorOptions: SourceConnectorOptions = { tlsCa: `${tds.ca}\n${dbx.ca}`, connectTimeoutMs: 3000, databricks: { fetchRows: 2 } };
  platform = await startPlatform({ connectorOptions });
  await writeFourSourceSecrets(platform);
});

after(async () => {
  await platform?.close();
  await pgDb?.drop();
  await myDb?.drop();
  if (tds) {
    assert.deepEqual(tds.double.unexpected, []);
    await tds.double.close();
  }
  for (const d of [dbx, dbxInline]) {
    if (!d) continue;
    assert.deepEqual(d.unexpected, []);
    assert.deepEqual(d.warehouse.unexpected, []);
    await d.close();
  }
  // The two Databricks reads went the ways they are named for.
  const formats = (d: DatabricksDouble) => [...new Set(d.warehouse.calls.filter((c) => c.statement?.startsWith('SELECT') && c.statement.includes(TABLE)).map((c) => `${c.format}${c.lz4 ? '+lz4' : ''}`))];
  assert.deepEqual(formats(dbx), ['url+lz4']);
  assert.ok(dbx.storage.requests.filter((r) => r.status === 200).length >= 8, 'several CloudFetch files per table');
  assert.deepEqual(formats(dbxInline), ['arrow']);
});

/** The request body and DuckDB schema of each source. */
function target(source: Source): { body: SqlSourceBody; schema: string } {
  switch (source) {
    case 'postgresql':
      return { body: sqlSource('postgresql', pgDb.database), schema: 'public' };
    case 'mariadb':
      return { body: sqlSource('mysql', myDb.database), schema: myDb.database };
    case 'mssql':
      return { body: mssqlSource(tds.double, 'research'), schema: 'dbo' };
    case 'databrickssql':
      return { body: databricksSource(dbx, 'research') as unknown as SqlSourceBody, schema: 'cohort' };
    case 'databrickssql-inline':
      return { body: databricksSource(dbxInline, 'research') as unknown as SqlSourceBody, schema: 'cohort' };
  }
}

let run = 0;
async function packageFrom(source: Source, format: 'csv' | 'duckdb'): Promise<string> {
  const startTime = `20250601_0000${String(run++).padStart(2, '0')}`;
  const { body, schema } = target(source);
  const request = { ...transferRequest(body, dataset(schema, [TABLE]), { project_start_time: startTime }), destination: { name: 'LSC', type: 'filestore', format } };
  const res = await platform.post(platform.gateway, '/project/package', request);
  assert.equal(res.status, 200, `${source}: ${JSON.stringify(res.body)}`);
  return path.join(platform.mountDir, 'staging', 'Pr004', startTime, 'data', 'outputs');
}

describe('the differences table', () => {
  test('names only columns and sources that exist, each with a reason', () => {
    for (const d of DIFFERENCES) {
      assert.ok(SOURCES.includes(d.source));
      assert.ok(COLUMNS.some((c) => c.name === d.column), d.column);
      assert.ok(d.why.length > 10);
      assert.ok(d.csv !== undefined || d.duckdb !== undefined);
    }
  });
});

describe('CSV: the same bytes from every source', () => {
  const files = new Map<Source, string>();
  for (const source of SOURCES) {
    test(`${source}: the shared table extracts to the expected canonical CSV`, async () => {
      const dir = await packageFrom(source, 'csv');
      const csv = await readFile(path.join(dir, `${TABLE}.csv`), 'utf8');
      const expected = expectedCsv(source);
      const rows = parseCsv(csv);
      const want = parseCsv(expected);
      for (let r = 0; r < want.length; r++) for (let i = 0; i < want[r]!.length; i++) assert.equal(rows[r]?.[i], want[r]![i], `${source} row ${r}, column ${want[0]![i]}`);
      assert.equal(csv, expected);
      files.set(source, csv);
    });
  }

  test('apart from the listed differences, every file is PostgreSQL’s, byte for byte', () => {
    const pg = parseCsv(files.get('postgresql')!);
    for (const source of SOURCES) {
      const theirs = parseCsv(files.get(source)!);
      const header = theirs[0] as string[];
      for (const [i, name] of (pg[0] as string[]).entries()) {
        const d = difference(source, name);
        if (d?.csv === 'absent') {
          assert.ok(!header.includes(name), `${source} has no ${name}`);
          continue;
        }
        const j = header.indexOf(name);
        assert.ok(j >= 0, `${source} has ${name}`);
        const column = (rows: typeof pg, k: number) => rows.slice(1).map((r) => r[k]);
        if (Array.isArray(d?.csv)) assert.deepEqual(column(theirs, j), d.csv, `${source}.${name}`);
        else assert.deepEqual(column(theirs, j), column(pg, i), `${source}.${name} equals PostgreSQL's`);
      }
    }
  });
});

describe('DuckDB: the same types and values from every source', () => {
  const tables = new Map<Source, { types: Map<string, string>; rows: Map<string, Array<string | null>> }>();
  for (const source of SOURCES) {
    test(`${source}: the shared table loads into DuckDB`, async () => {
      const dir = await packageFrom(source, 'duckdb');
      const db = await DuckDBInstance.create(path.join(dir, 'database.duckdb'), { access_mode: 'READ_ONLY' });
      const conn = await db.connect();
      try {
        const { schema } = target(source);
        const read = async (sql: string) => (await conn.runAndReadAll(sql)).getRows().map((r) => r.map((v) => (v === null ? null : String(v))));
        const types = new Map((await read(`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = '${schema}' AND table_name = '${TABLE}'`)).map(([n, t]) => [n!, t!]));
        const names = [...types.keys()];
        const values = await read(`SELECT ${names.map((n) => `CAST("${n}" AS VARCHAR)`).join(', ')} FROM "${schema}"."${TABLE}" ORDER BY id`);
        tables.set(source, { types, rows: new Map(names.map((n, i) => [n, values.map((v) => v[i] ?? null)])) });
      } finally {
        conn.closeSync();
        db.closeSync();
      }
    });
  }

  test('apart from the listed differences, every table has PostgreSQL’s types and values', () => {
    const pg = tables.get('postgresql')!;
    for (const source of SOURCES) {
      const theirs = tables.get(source)!;
      for (const column of COLUMNS) {
        const d = difference(source, column.name);
        if (d?.duckdb === 'absent') {
          assert.equal(theirs.types.has(column.name), false, `${source} has no ${column.name}`);
          continue;
        }
        if (d?.duckdb !== undefined) assert.equal(theirs.types.get(column.name), d.duckdb, `${source}.${column.name} type (documented difference)`);
        // Where PostgreSQL itself differs, there is no baseline type: the assertion below spells it out.
        else if (difference('postgresql', column.name)?.duckdb === undefined) assert.equal(theirs.types.get(column.name), pg.types.get(column.name), `${source}.${column.name} type`);
        // Values compare as text: a differing CSV (MariaDB's CHAR) differs here the same way.
        if (Array.isArray(d?.csv)) continue;
        assert.deepEqual(theirs.rows.get(column.name), pg.rows.get(column.name), `${source}.${column.name} values`);
      }
    }
    // The tinyint differences, spelled out: the same numbers in three integer types.
    assert.deepEqual(SOURCES.map((s) => tables.get(s)!.types.get('c_tinyint')), ['SMALLINT', 'TINYINT', 'UTINYINT', 'TINYINT', 'TINYINT']);
  });
});
