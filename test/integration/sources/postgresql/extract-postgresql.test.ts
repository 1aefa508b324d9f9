/**
 * Extraction from PostgreSQL through a snapshot: COPY CSV in the canonical
 * text forms, one consistent transaction, failures named after the source.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../../../lib/errors.js';
import { sourceSchema, type SqlSourceConfig } from '../../../../lib/contract/index.js';
import type { ColumnInfo, ConnectorOptions } from '../../../../lib/connectors/connector.js';
import { PostgresConnector } from '../../../../lib/connectors/postgresql/connector.js';
import { copyStatement } from '../../../../lib/connectors/postgresql/snapshot.js';
import { parseCsv, pgAllTypes, toCsv } from '../../../support/all-types.js';
import { readAll, readRowAligned } from '../../../support/csv-text.js';
import { createPgDatabase, pgSettings, type TestPgDatabase } from '../../../support/databases.js';

function connector(database: string, options: ConnectorOptions = {}): PostgresConnector {
  const source = sourceSchema.parse({
    type: 'postgresql', host_url: pgSettings.host, port: pgSettings.port, database,
    credentials: { provider: 'AzureKeyVault', username_key: 'pg-user', password_key: 'pg-password' },
  }) as SqlSourceConfig;
  return new PostgresConnector(source, { username: pgSettings.user, password: pgSettings.password }, options);
}

async function columnsOf(c: PostgresConnector, table: string, schema = 'public'): Promise<ColumnInfo[]> {
  const columns = (await c.getColumns(schema, [table])).get(table);
  assert.ok(columns, `table ${table} has columns`);
  return columns;
}

describe('PostgreSQL extraction', () => {
  let db: TestPgDatabase;
  let source: PostgresConnector;
  const cases = pgAllTypes();

  before(async () => {
    db = await createPgDatabase('cr8t_extract');
    for (const sql of cases.setup) await db.client.query(sql);
    await db.client.query(`
      CREATE TABLE snap_a (id integer PRIMARY KEY);
      CREATE TABLE snap_b (id integer PRIMARY KEY);
      INSERT INTO snap_a VALUES (1); INSERT INTO snap_b VALUES (1);
      CREATE TABLE "we""ird table" ("a ""b""" integer, "select" text, "x,y" text);
      INSERT INTO "we""ird table" VALUES (1, 'k', 'v');
      CREATE TABLE lone (v text); INSERT INTO lone VALUES (E'\\\\.'), (''), (NULL);
      CREATE TABLE empty_table (id integer, note text);
      CREATE TABLE beyond_iso (id integer, ts timestamp, tstz timestamptz, d date);
      INSERT INTO beyond_iso VALUES
        (1, 'infinity', '-infinity', 'infinity'),
        (2, '0044-03-15 12:00 BC', '0044-03-15 12:00+00 BC', '0044-03-15 BC'),
        (3, '10000-01-01 00:00', '10000-01-01 00:00+00', '10000-01-01'),
        (4, '0001-01-01 00:00', '0001-01-01 00:00+00', '0001-01-01');
      CREATE TABLE big AS SELECT g AS id, repeat('x', 100) AS pad, now() AS at FROM generate_series(1, 200000) g;
      CREATE TABLE quoted_lines AS SELECT g AS id, repeat(E'a, "b"\n', g % 40) AS note FROM generate_series(1, 20000) g;
    `);
    source = connector(db.database);
  });

  after(async () => {
    await source?.close();
    await db?.drop();
  });

  test('the all-types table streams as exactly the expected canonical CSV', async () => {
    const columns = await columnsOf(source, cases.table);
    const snapshot = await source.snapshot();
    try {
      const csv = await readAll(snapshot.csv('public', cases.table, columns));
      // Row order is the insertion order here; compare row by row for a readable diff first.
      const rows = parseCsv(csv);
      assert.deepEqual(rows[0], cases.columns.map((c) => c.name));
      for (let r = 0; r < cases.expectedRows.length; r++) {
        const expected = cases.expectedRows[r]!;
        const actual = rows[r + 1]!;
        for (let i = 0; i < expected.length; i++) {
          assert.equal(actual[i], expected[i], `row ${r + 1}, column ${cases.columns[i]!.name}`);
        }
      }
      assert.equal(csv, cases.expectedCsv);
    } finally {
      await snapshot.close();
    }
  });

  test('every all-types column reads as the logical type of its case', async () => {
    const columns = await columnsOf(source, cases.table);
    assert.deepEqual(columns.map((c) => c.name), cases.columns.map((c) => c.name));
    for (const [i, expected] of cases.columns.entries()) assert.deepEqual(columns[i]!.logical, expected.logical, expected.name);
  });

  test('NULL is an empty unquoted field and the empty string is ""', async () => {
    const columns = (await columnsOf(source, cases.table)).filter((c) => ['id', 'c_text', 'c_varchar'].includes(c.name));
    const snapshot = await source.snapshot();
    try {
      const csv = await readAll(snapshot.csv('public', cases.table, columns));
      const lines = csv.split('\n');
      assert.ok(lines.includes('3,,'), csv);
      assert.ok(lines.includes('4,"",""'), csv);
      const parsed = parseCsv(csv);
      assert.deepEqual(parsed.find((r) => r[0] === '3'), ['3', null, null]);
      assert.deepEqual(parsed.find((r) => r[0] === '4'), ['4', '', '']);
    } finally {
      await snapshot.close();
    }
  });

  test('every chunk ends at a row end, however the socket cut the rows (the stream says so)', async () => {
    const columns = await columnsOf(source, 'quoted_lines');
    const snapshot = await source.snapshot();
    try {
      const { text, chunks } = await readRowAligned(snapshot.csv('public', 'quoted_lines', columns));
      assert.ok(chunks > 10, `${chunks} chunks`);
      const rows = parseCsv(text);
      assert.equal(rows.length, 20001);
      assert.deepEqual(rows[40], ['40', '']);
      assert.deepEqual(rows[39], ['39', 'a, "b"\n'.repeat(39)]);
    } finally {
      await snapshot.close();
    }
  });

  test('columns come in the order asked, and odd identifiers are quoted', async () => {
    const all = await columnsOf(source, 'we"ird table');
    const columns = [all[2]!, all[0]!, all[1]!];
    const sql = copyStatement('public', 'we"ird table', columns);
    assert.match(sql, /FROM "public"\."we""ird table"/);
    assert.match(sql, /"a ""b""" AS "a ""b"""/);
    const snapshot = await source.snapshot();
    try {
      assert.equal(await readAll(snapshot.csv('public', 'we"ird table', columns)), toCsv(['x,y', 'a "b"', 'select'], [['v', '1', 'k']]));
    } finally {
      await snapshot.close();
    }
  });

  test('values ISO 8601 cannot spell keep PostgreSQL\'s own spelling (documented, not canonical)', async () => {
    const snapshot = await source.snapshot();
    try {
      assert.equal(await readAll(snapshot.csv('public', 'beyond_iso', await columnsOf(source, 'beyond_iso'))), [
        'id,ts,tstz,d',
        '1,infinity,-infinity,infinity',
        '2,0044-03-15T12:00:00 BC,0044-03-15T12:00:00+00:00 BC,0044-03-15 BC',
        '3,10000-01-01T00:00:00,10000-01-01T00:00:00+00:00,10000-01-01',
        '4,0001-01-01T00:00:00,0001-01-01T00:00:00+00:00,0001-01-01',
        '',
      ].join('\n'));
    } finally {
      await snapshot.close();
    }
  });

  test('a one-column row holding \\. is quoted, as COPY does', async () => {
    const snapshot = await source.snapshot();
    try {
      assert.equal(await readAll(snapshot.csv('public', 'lone', await columnsOf(source, 'lone'))), 'v\n"\\."\n""\n\n');
    } finally {
      await snapshot.close();
    }
  });

  test('an empty table gives the header row only', async () => {
    const snapshot = await source.snapshot();
    try {
      assert.equal(await readAll(snapshot.csv('public', 'empty_table', await columnsOf(source, 'empty_table'))), 'id,note\n');
    } finally {
      await snapshot.close();
    }
  });

  test('every table of a snapshot sees the same moment', async () => {
    const a = await columnsOf(source, 'snap_a');
    const b = await columnsOf(source, 'snap_b');
    const snapshot = await source.snapshot();
    try {
      // A write committed after the snapshot opened, before any table was read.
      await db.client.query('INSERT INTO snap_a VALUES (2)');
      assert.equal(await readAll(snapshot.csv('public', 'snap_a', a)), 'id\n1\n');
      await db.client.query('INSERT INTO snap_b VALUES (2)');
      assert.equal(await readAll(snapshot.csv('public', 'snap_b', b)), 'id\n1\n');
    } finally {
      await snapshot.close();
    }
    const later = await source.snapshot();
    try {
      assert.equal(await readAll(later.csv('public', 'snap_b', b)), 'id\n1\n2\n');
    } finally {
      await later.close();
    }
  });

  test('closing a snapshot ends its transaction and its connection', async () => {
    const snapshot = await source.snapshot();
    const backends = async () =>
      (await db.client.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'cr8tor-publisher' AND state LIKE 'idle in transaction%'",
        [db.database],
      )).rows[0]!.n;
    assert.equal(await backends(), 1);
    await snapshot.close();
    for (let i = 0; i < 50 && (await backends()) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await backends(), 0);
  });

  test('a connection killed mid-stream errors the stream with an AppError naming the source', async () => {
    const columns = await columnsOf(source, 'big');
    const snapshot = await source.snapshot();
    try {
      const stream = snapshot.csv('public', 'big', columns);
      const iterator = stream[Symbol.asyncIterator]();
      const first = await iterator.next();
      assert.equal(first.done, false);
      const killed = await db.client.query(
        "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'COPY (SELECT%big%'",
        [db.database],
      );
      assert.equal(killed.rowCount, 1);
      await assert.rejects(
        (async () => {
          for (;;) if ((await iterator.next()).done) break;
        })(),
        (error: unknown) => {
          assert.ok(error instanceof AppError, String(error));
          assert.equal(error.code, 'SOURCE_UNREACHABLE');
          assert.match(error.message, new RegExp(`postgresql source ${pgSettings.host}:${pgSettings.port}/${db.database}`));
          return true;
        },
      );
    } finally {
      await snapshot.close();
    }
  });

  test('a reader that gives up mid-table releases the connection', async () => {
    const columns = await columnsOf(source, 'big');
    const snapshot = await source.snapshot();
    const stream = snapshot.csv('public', 'big', columns);
    for await (const _chunk of stream) break;
    await snapshot.close();
    const left = async () =>
      (await db.client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'COPY (SELECT%big%'", [db.database])).rows[0]!.n;
    for (let i = 0; i < 100 && (await left()) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await left(), 0);
  });

  test('memory stays bounded: a paused reader pauses the COPY', async () => {
    const columns = await columnsOf(source, 'big');
    const snapshot = await source.snapshot();
    try {
      const stream = snapshot.csv('public', 'big', columns);
      const iterator = stream[Symbol.asyncIterator]();
      await iterator.next();
      await new Promise((r) => setTimeout(r, 500));
      // 200 000 rows of ~140 bytes is ~28 MB; unpaused, the server would have sent it all by now.
      const running = await db.client.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND query LIKE 'COPY (SELECT%big%'", [db.database]);
      assert.equal(running.rowCount, 1, 'the COPY is still running');
      assert.ok(stream.readableLength < 1_000_000, `buffered ${stream.readableLength} bytes`);
      let rows = 0;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) rows += String(next.value).split('\n').length - 1;
      assert.ok(rows > 190_000);
    } finally {
      await snapshot.close();
    }
  });

  test('a table that disappeared errors the stream, and the snapshot refuses further reads', async () => {
    const snapshot = await source.snapshot();
    try {
      const missing: ColumnInfo[] = [{ name: 'id', description: null, datatype: 'integer', nullable: true, position: 1, logical: { kind: 'int32' }, primaryKey: null }];
      await assert.rejects(readAll(snapshot.csv('public', 'no_such_table', missing)), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, 'SOURCE_QUERY_FAILED');
        assert.match(error.message, /no_such_table/);
        return true;
      });
      await assert.rejects(readAll(snapshot.csv('public', 'snap_a', await columnsOf(source, 'snap_a'))), AppError);
    } finally {
      await snapshot.close();
    }
  });
});
