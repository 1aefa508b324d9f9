/**
 * The byte-level reader of MySQL/MariaDB text-protocol rows (csv-reader.ts)
 * against the path it replaced, kept here as the oracle: mysql2 parsing each
 * row into JavaScript values, each value formatted by its column's formatter
 * (types.ts) and encoded by the CSV encoder (csv-rows.ts). For thousands of
 * generated values of every type, NULLs and empty strings, texts with every
 * character CSV quotes, long values (past 256 bytes, and past 64 KiB so a row
 * spans packets and chunks), both must write the same bytes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import mysqlCore from 'mysql2';
import { sourceSchema, type SqlSourceConfig } from '../../../../lib/contract/index.js';
import { MysqlConnector } from '../../../../lib/connectors/mysql/connector.js';
import { selectStatement } from '../../../../lib/connectors/mysql/snapshot.js';
import { mysqlFormatter } from '../../../../lib/connectors/mysql/types.js';
import { CanonicalCsvEncoder } from '../../../../lib/connectors/csv-rows.js';
import type { ColumnInfo } from '../../../../lib/connectors/connector.js';
import { createMysqlDatabase, mysqlSettings, type TestMysqlDatabase } from '../../../support/databases.js';

const COLUMNS: [string, string, string][] = [
  ['id', 'int PRIMARY KEY', 'seq'],
  ['i8', 'tinyint', 'IF(seq % 7 = 0, NULL, CAST(seq % 256 AS SIGNED) - 128)'],
  ['u8z', 'tinyint(3) unsigned zerofill', 'IF(seq % 5 = 0, NULL, seq % 256)'],
  ['i16', 'smallint', 'CAST((seq * 37) % 65536 AS SIGNED) - 32768'],
  ['i24', 'mediumint unsigned', 'seq * 997 % 16777216'],
  ['i32z', 'int(8) zerofill', 'IF(seq % 3 = 0, 0, seq * 131)'],
  ['i64', 'bigint', "IF(seq % 11 = 0, -9223372036854775808, CAST(seq AS SIGNED) * 1000000007 - 4000000000000)"],
  ['u64z', 'bigint(20) unsigned zerofill', 'IF(seq % 13 = 0, 18446744073709551615, seq)'],
  ['yr', 'year', "IF(seq % 17 = 0, 0, 1901 + seq % 254)"],
  ['dcm', 'decimal(20,6)', "IF(seq % 9 = 0, NULL, CAST(seq AS SIGNED) * 1.000123 - 1500)"],
  ['dcmz', 'decimal(10,2) unsigned zerofill', 'seq / 7'],
  ['f32', 'float', "IF(seq % 10 = 0, NULL, seq / 3.0 * POW(10, CAST(seq % 40 AS SIGNED) - 20))"],
  ['f64', 'double', "IF(seq % 12 = 0, -0e0, seq / 7.0 * POW(10, CAST(seq % 600 AS SIGNED) - 300))"],
  ['b1', 'bit(1)', 'IF(seq % 4 = 0, NULL, seq % 2)'],
  ['b8', 'bit(8)', 'seq % 256'],
  ['d', 'date', "IF(seq % 19 = 0, NULL, DATE('1000-01-01') + INTERVAL (seq * 97) DAY)"],
  ['dt', 'datetime(6)', "TIMESTAMP('1970-01-01') + INTERVAL (seq * 1234567891) MICROSECOND"],
  ['dt0', 'datetime', "IF(seq % 3 = 0, NULL, TIMESTAMP('2020-01-01') + INTERVAL seq MINUTE)"],
  ['ts', 'timestamp(3) NULL', "IF(seq % 6 = 0, NULL, TIMESTAMP('1980-01-01') + INTERVAL (seq * 987654321) MICROSECOND)"],
  ['tm', 'time(6)', "SEC_TO_TIME((CAST(seq % 2 AS SIGNED) * 2 - 1) * seq * 331.25)"],
  ['tm0', 'time', "SEC_TO_TIME(seq * 61)"],
  ['txt', 'text', `ELT(seq % 9 + 1, NULL, '', 'a,b', 'say "hi"', 'line\\nbreak', 'cr\\rlf\\r\\n', 'Ångström “x” 😀', '\\\\.', concat('plain ', seq))`],
  ['vc', 'varchar(300)', "IF(seq % 5 = 0, REPEAT(concat('x,', seq), 40), concat('v', seq))"],
  ['ch', 'char(4)', "IF(seq % 8 = 0, '', LEFT(md5(seq), 4))"],
  ['big', 'mediumtext', "IF(seq % 500 = 1, REPEAT('long \"row\", ', 9000), NULL)"],
  ['js', 'json', "IF(seq % 6 = 0, NULL, json_object('k', seq, 's', 'a,\"b\"', 'arr', json_array(seq, NULL, true)))"],
  ['en', "enum('a','b,c','d\"e')", "ELT(seq % 4 + 1, 'a', 'b,c', 'd\"e', NULL)"],
  ['st', "set('x','y','z')", "ELT(seq % 4 + 1, 'x', 'x,y', '', NULL)"],
  ['bin', 'varbinary(16)', "IF(seq % 4 = 0, NULL, IF(seq % 4 = 1, '', UNHEX(LPAD(HEX(seq), 8, '0'))))"],
  ['blb', 'blob', "IF(seq % 3 = 0, NULL, UNHEX(md5(seq)))"],
];

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** What the extraction wrote before the byte-level reader: mysql2 rows → formatters → the CSV encoder. */
async function oracle(database: string, table: string, columns: readonly ColumnInfo[]): Promise<Buffer> {
  const conn = mysqlCore.createConnection({
    ...mysqlSettings, database, supportBigNumbers: true, bigNumberStrings: true, dateStrings: true, jsonStrings: true, charset: 'utf8mb4',
  });
  try {
    await new Promise<void>((resolve, reject) => conn.query("SET SESSION time_zone = '+00:00'", (e) => (e ? reject(e) : resolve())));
    const rows = conn.query({ sql: selectStatement(database, table, columns), rowsAsArray: true }).stream();
    const encoder = new CanonicalCsvEncoder(columns.map((c) => c.name), columns.map((c) => mysqlFormatter(c.logical, c.datatype)));
    rows.pipe(encoder);
    rows.on('error', (e) => encoder.destroy(e));
    return await readAll(encoder);
  } finally {
    conn.end();
  }
}

describe('MySQL/MariaDB byte-level row reader against mysql2 values and the CSV encoder', () => {
  let db: TestMysqlDatabase;
  let source: MysqlConnector;

  before(async () => {
    db = await createMysqlDatabase('cr8t_csvreader');
    await db.conn.query("SET SESSION time_zone = '+00:00'");
    await db.conn.query(`CREATE TABLE gen (${COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ')})`);
    await db.conn.query(`INSERT INTO gen SELECT ${COLUMNS.map(([, , e]) => e).join(', ')} FROM (SELECT CAST(seq AS SIGNED) AS seq FROM seq_1_to_3000) q`);
    await db.conn.query("CREATE TABLE lone (v text)");
    await db.conn.query("INSERT INTO lone VALUES ('\\\\.'), (''), (NULL), ('a\"b'), ('x')");
    const config = sourceSchema.parse({
      type: 'mysql', host_url: mysqlSettings.host, port: mysqlSettings.port, database: db.database,
      credentials: { provider: 'AzureKeyVault', username_key: 'mysql-user', password_key: 'mysql-password' },
    }) as SqlSourceConfig;
    source = new MysqlConnector(config, { username: mysqlSettings.user, password: mysqlSettings.password });
  });

  after(async () => {
    await source?.close();
    await db?.drop();
  });

  for (const table of ['gen', 'lone']) {
    test(`table ${table}: the same bytes as before, row for row`, async () => {
      const columns = (await source.getColumns(db.database, [table])).get(table)!;
      assert.equal(columns.length, table === 'gen' ? COLUMNS.length : 1);
      const snapshot = await source.snapshot();
      let actual: Buffer;
      try {
        actual = await readAll(snapshot.csv(db.database, table, columns));
        assert.equal(snapshot.rowsRead(db.database, table), table === 'gen' ? 3000 : 5);
      } finally {
        await snapshot.close();
      }
      const expected = await oracle(db.database, table, columns);
      const a = actual.toString('utf8').split('\n');
      const e = expected.toString('utf8').split('\n');
      for (let i = 0; i < e.length; i++) assert.equal(a[i], e[i], `line ${i}`);
      assert.ok(actual.equals(expected));
    });
  }
});
