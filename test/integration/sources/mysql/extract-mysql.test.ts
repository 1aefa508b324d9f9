/**
 * Extraction from MySQL/MariaDB through a snapshot: a streaming SELECT encoded
 * by the shared CSV encoder (lib/connectors/csv-rows.ts) in the canonical text forms, one consistent transaction,
 * failures named after the source.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../../../lib/errors.js';
import { sourceSchema, type SqlSourceConfig } from '../../../../lib/contract/index.js';
import type { ColumnInfo, ConnectorOptions } from '../../../../lib/connectors/connector.js';
import { MysqlConnector } from '../../../../lib/connectors/mysql/connector.js';
import { selectStatement } from '../../../../lib/connectors/mysql/snapshot.js';
import { mysqlAllTypes, parseCsv, toCsv } from '../../../support/all-types.js';
import { readAll, readRowAligned } from '../../../support/csv-text.js';
import { createMysqlDatabase, mysqlSettings, type TestMysqlDatabase } from '../../../support/databases.js';

function connector(database: string, options: ConnectorOptions = {}): MysqlConnector {
  const source = sourceSchema.parse({
    type: 'mysql', host_url: mysqlSettings.host, port: mysqlSettings.port, database,
    credentials: { provider: 'AzureKeyVault', username_key: 'mysql-user', password_key: 'mysql-password' },
  }) as SqlSourceConfig;
  return new MysqlConnector(source, { username: mysqlSettings.user, password: mysqlSettings.password }, options);
}

/** The digits 0–9 as a derived table, for generating rows on MySQL and MariaDB alike. */
const DIGITS = `(${Array.from({ length: 10 }, (_, i) => `SELECT ${i} AS n`).join(' UNION ALL ')})`;

describe('MySQL/MariaDB extraction', () => {
  let db: TestMysqlDatabase;
  let source: MysqlConnector;
  let cases: ReturnType<typeof mysqlAllTypes>;

  async function columnsOf(table: string): Promise<ColumnInfo[]> {
    const columns = (await source.getColumns(db.database, [table])).get(table);
    assert.ok(columns, `table ${table} has columns`);
    return columns;
  }

  before(async () => {
    db = await createMysqlDatabase('cr8t_extract');
    const [[version]] = (await db.conn.query('SELECT VERSION() AS v')) as unknown as [[{ v: string }]];
    cases = mysqlAllTypes(/mariadb/i.test(version.v) ? 'mariadb' : 'mysql');
    for (const sql of cases.setup) await db.conn.query(sql);
    await db.conn.query(`
      SET time_zone = '+00:00';
      CREATE TABLE snap_a (id int PRIMARY KEY) ENGINE=InnoDB;
      CREATE TABLE snap_b (id int PRIMARY KEY) ENGINE=InnoDB;
      INSERT INTO snap_a VALUES (1); INSERT INTO snap_b VALUES (1);
      CREATE TABLE \`we\`\`ird table\` (\`a \`\`b\`\`\` int, \`select\` text, \`x,y\` text);
      INSERT INTO \`we\`\`ird table\` VALUES (1, 'k', 'v');
      CREATE TABLE lone (v text); INSERT INTO lone VALUES ('\\\\.'), (''), (NULL);
      CREATE TABLE empty_table (id int, note text);
      CREATE TABLE big (id int PRIMARY KEY, pad varchar(200));
      INSERT INTO big SELECT a.n + 10 * b.n + 100 * c.n + 1000 * d.n + 10000 * e.n + 1, REPEAT('x', 100)
        FROM ${DIGITS} a, ${DIGITS} b, ${DIGITS} c, ${DIGITS} d, ${DIGITS} e;
    `);
    source = connector(db.database);
  });

  after(async () => {
    await source?.close();
    await db?.drop();
  });

  test('the all-types table streams as exactly the expected canonical CSV', async () => {
    const columns = await columnsOf(cases.table);
    const snapshot = await source.snapshot();
    try {
      // The reader's chunks end at row ends: the stream says so.
      const { text: csv } = await readRowAligned(snapshot.csv(db.database, cases.table, columns));
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
    const columns = await columnsOf(cases.table);
    assert.deepEqual(columns.map((c) => c.name), cases.columns.map((c) => c.name));
    for (const [i, expected] of cases.columns.entries()) assert.deepEqual(columns[i]!.logical, expected.logical, expected.name);
  });

  test('NULL is an empty unquoted field and the empty string is ""', async () => {
    const columns = (await columnsOf(cases.table)).filter((c) => ['id', 'c_text', 'c_varchar'].includes(c.name));
    const snapshot = await source.snapshot();
    try {
      const csv = await readAll(snapshot.csv(db.database, cases.table, columns));
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

  test('columns come in the order asked, and odd identifiers are quoted', async () => {
    const all = await columnsOf('we`ird table');
    const columns = [all[2]!, all[0]!, all[1]!];
    const sql = selectStatement(db.database, 'we`ird table', columns);
    assert.match(sql, /FROM `[^`]+`\.`we``ird table`$/);
    assert.match(sql, /`a ``b``` AS `a ``b```/);
    const snapshot = await source.snapshot();
    try {
      assert.equal(await readAll(snapshot.csv(db.database, 'we`ird table', columns)), toCsv(['x,y', 'a `b`', 'select'], [['v', '1', 'k']]));
    } finally {
      await snapshot.close();
    }
  });

  test('a one-column row holding \\. is quoted, as COPY does', async () => {
    const snapshot = await source.snapshot();
    try {
      assert.equal(await readAll(snapshot.csv(db.database, 'lone', await columnsOf('lone'))), 'v\n"\\."\n""\n\n');
    } finally {
      await snapshot.close();
    }
  });

  test('an empty table gives the header row only', async () => {
    const snapshot = await source.snapshot();
    try {
      assert.equal(await readAll(snapshot.csv(db.database, 'empty_table', await columnsOf('empty_table'))), 'id,note\n');
    } finally {
      await snapshot.close();
    }
  });

  test('every table of a snapshot sees the same moment', async () => {
    const a = await columnsOf('snap_a');
    const b = await columnsOf('snap_b');
    const snapshot = await source.snapshot();
    try {
      await db.conn.query('INSERT INTO snap_a VALUES (2)');
      assert.equal(await readAll(snapshot.csv(db.database, 'snap_a', a)), 'id\n1\n');
      await db.conn.query('INSERT INTO snap_b VALUES (2)');
      assert.equal(await readAll(snapshot.csv(db.database, 'snap_b', b)), 'id\n1\n');
    } finally {
      await snapshot.close();
    }
    const later = await source.snapshot();
    try {
      assert.equal(await readAll(later.csv(db.database, 'snap_b', b)), 'id\n1\n2\n');
    } finally {
      await later.close();
    }
  });

  test('closing a snapshot ends its connection', async () => {
    const count = async () => {
      const [rows] = (await db.conn.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()', [db.database])) as unknown as [[{ n: number | string }]];
      return Number(rows[0].n);
    };
    await source.ping();
    const before = await count();
    const snapshot = await source.snapshot();
    assert.equal(await count(), before + 1);
    await snapshot.close();
    for (let i = 0; i < 50 && (await count()) > before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await count(), before);
  });

  test('a connection killed mid-stream errors the stream with an AppError naming the source', async () => {
    const columns = await columnsOf('big');
    const snapshot = await source.snapshot();
    try {
      const stream = snapshot.csv(db.database, 'big', columns);
      const iterator = stream[Symbol.asyncIterator]();
      assert.equal((await iterator.next()).done, false);
      // The snapshot's own reading session; one an earlier test killed may take a moment to leave the list.
      let found: Array<{ id: number }> = [];
      for (let i = 0; i < 100; i++) {
        [found] = (await db.conn.query("SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE 'SELECT %big%' AND ID <> CONNECTION_ID()", [db.database])) as unknown as [Array<{ id: number }>];
        if (found.length === 1) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(found.length, 1);
      await db.conn.query(`KILL CONNECTION ${Number(found[0]!.id)}`);
      await assert.rejects(
        (async () => {
          for (;;) if ((await iterator.next()).done) break;
        })(),
        (error: unknown) => {
          assert.ok(error instanceof AppError, String(error));
          assert.equal(error.code, 'SOURCE_UNREACHABLE');
          assert.match(error.message, new RegExp(`mysql source ${mysqlSettings.host}:${mysqlSettings.port}/${db.database}`));
          return true;
        },
      );
    } finally {
      await snapshot.close();
    }
  });

  test('a reader that gives up mid-table releases the connection', async () => {
    const columns = await columnsOf('big');
    const snapshot = await source.snapshot();
    const stream = snapshot.csv(db.database, 'big', columns);
    for await (const _chunk of stream) break;
    await snapshot.close();
    const left = async () => {
      const [rows] = (await db.conn.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE 'SELECT %big%' AND ID <> CONNECTION_ID()", [db.database])) as unknown as [[{ n: number | string }]];
      return Number(rows[0].n);
    };
    for (let i = 0; i < 100 && (await left()) > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await left(), 0);
  });

  test('memory stays bounded: a paused reader pauses the source', async () => {
    const columns = await columnsOf('big');
    const snapshot = await source.snapshot();
    try {
      const stream = snapshot.csv(db.database, 'big', columns);
      const iterator = stream[Symbol.asyncIterator]();
      await iterator.next();
      await new Promise((r) => setTimeout(r, 500));
      // 100 000 rows of ~110 bytes is ~11 MB; unpaused, the server would have sent it all by now.
      const [running] = (await db.conn.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE 'SELECT %big%' AND ID <> CONNECTION_ID()", [db.database])) as unknown as [[{ n: number | string }]];
      assert.equal(Number(running[0].n), 1, 'the SELECT is still being sent');
      assert.ok(stream.readableLength < 1_000_000, `buffered ${stream.readableLength} bytes`);
      let rows = 0;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) rows += String(next.value).split('\n').length - 1;
      assert.ok(rows > 90_000);
    } finally {
      await snapshot.close();
    }
  });

  test('a table that disappeared errors the stream, and the snapshot refuses further reads', async () => {
    const snapshot = await source.snapshot();
    try {
      const missing: ColumnInfo[] = [{ name: 'id', description: null, datatype: 'int(11)', nullable: true, position: 1, logical: { kind: 'int32' }, primaryKey: null }];
      await assert.rejects(readAll(snapshot.csv(db.database, 'no_such_table', missing)), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, 'SOURCE_QUERY_FAILED');
        assert.match(error.message, /no_such_table/);
        return true;
      });
      await assert.rejects(readAll(snapshot.csv(db.database, 'snap_a', await columnsOf('snap_a'))), AppError);
    } finally {
      await snapshot.close();
    }
  });
});
