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
 * the differences between the sources listed in DIFFERENCES
 * (test/support/shared-table.ts, its expected texts from the case table
 * type-cases.ts), which are the only ones allowed.
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
import { COLUMNS, DIFFERENCES, type SharedColumn, type SharedKind } from '../support/shared-table.js';

type Source = 'postgresql' | 'mariadb' | 'mssql' | 'databrickssql' | 'databrickssql-inline';
const SOURCES: Source[] = ['postgresql', 'mariadb', 'mssql', 'databrickssql', 'databrickssql-inline'];
/** The column types and documented differences of a source: both Databricks reads share Databricks'. */
type Kind = SharedKind;
const kindOf = (source: Source): Kind => (source === 'databrickssql-inline' ? 'databrickssql' : source);

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
