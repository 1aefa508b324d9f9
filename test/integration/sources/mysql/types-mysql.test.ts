/**
 * MySQL/MariaDB native types → logical types, read through the catalog of a
 * real database: every mapping in lib/connectors/mysql/types.ts, MariaDB's JSON
 * (LONGTEXT with a json_valid CHECK), primary-key positions, unknown types
 * refused, one catalog query for many tables.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../../../lib/errors.js';
import { sourceSchema, type SqlSourceConfig } from '../../../../lib/contract/index.js';
import type { ColumnInfo, ConnectorOptions } from '../../../../lib/connectors/connector.js';
import { MysqlConnector } from '../../../../lib/connectors/mysql/connector.js';
import { resolveDataset } from '../../../../lib/connectors/catalog.js';
import { mysqlFormatter, mysqlLogicalType, parseEnumValues } from '../../../../lib/connectors/mysql/types.js';
import type { LogicalType } from '../../../../lib/types/logical.js';
import { createMysqlDatabase, mysqlSettings, type TestMysqlDatabase } from '../../../support/databases.js';

function connector(database: string, options: ConnectorOptions = {}): MysqlConnector {
  const source = sourceSchema.parse({
    type: 'mysql', host_url: mysqlSettings.host, port: mysqlSettings.port, database,
    credentials: { provider: 'AzureKeyVault', username_key: 'mysql-user', password_key: 'mysql-password' },
  }) as SqlSourceConfig;
  return new MysqlConnector(source, { username: mysqlSettings.user, password: mysqlSettings.password }, options);
}

const other = (native: string): LogicalType => ({ kind: 'other', native });

/** [column, DDL type, expected logical type, only on]. COLUMN_TYPE spellings differ between servers, so datatype is checked separately. */
const NATIVE: Array<[string, string, LogicalType, ('mariadb' | 'mysql')?]> = [
  ['c_tinyint', 'tinyint', { kind: 'int8' }],
  ['c_bool', 'boolean', { kind: 'int8' }],
  ['c_tinyint1', 'tinyint(1)', { kind: 'int8' }],
  ['c_smallint', 'smallint', { kind: 'int16' }],
  ['c_mediumint', 'mediumint', { kind: 'int32' }],
  ['c_int', 'int', { kind: 'int32' }],
  ['c_integer', 'integer', { kind: 'int32' }],
  ['c_bigint', 'bigint', { kind: 'int64' }],
  ['c_utinyint', 'tinyint unsigned', { kind: 'uint8' }],
  ['c_usmallint', 'smallint unsigned', { kind: 'uint16' }],
  ['c_umediumint', 'mediumint unsigned', { kind: 'uint32' }],
  ['c_uint', 'int unsigned', { kind: 'uint32' }],
  ['c_ubigint', 'bigint unsigned', { kind: 'uint64' }],
  ['c_serial', 'serial', { kind: 'uint64' }],
  ['c_zerofill', 'int(6) zerofill', { kind: 'uint32' }],
  ['c_decimal', 'decimal(12,2)', { kind: 'decimal', precision: 12, scale: 2 }],
  ['c_decimal_default', 'decimal', { kind: 'decimal', precision: 10, scale: 0 }],
  ['c_numeric', 'numeric(38,10)', { kind: 'decimal', precision: 38, scale: 10 }],
  ['c_float', 'float', { kind: 'float32' }],
  ['c_float_wide', 'float(30)', { kind: 'float64' }],
  ['c_double', 'double', { kind: 'float64' }],
  ['c_real', 'real', { kind: 'float64' }],
  ['c_bit1', 'bit(1)', { kind: 'boolean' }],
  ['c_bit', 'bit', { kind: 'boolean' }],
  ['c_bit8', 'bit(8)', other('bit(8)')],
  ['c_char', 'char(5)', { kind: 'text', length: 5 }],
  ['c_varchar', 'varchar(20)', { kind: 'text', length: 20 }],
  ['c_tinytext', 'tinytext', { kind: 'text' }],
  ['c_text', 'text', { kind: 'text' }],
  ['c_mediumtext', 'mediumtext', { kind: 'text' }],
  ['c_longtext', 'longtext', { kind: 'text' }],
  ['c_json', 'json', { kind: 'json' }],
  ['c_json_checked', 'longtext CHECK (json_valid(c_json_checked) AND json_length(c_json_checked) > 0)', { kind: 'json' }, 'mariadb'],
  ['c_enum', "enum('a','it''s','x,y','')", { kind: 'enum', values: ['a', "it's", 'x,y', ''] }],
  ['c_set', "set('a','b')", other("set('a','b')")],
  ['c_date', 'date', { kind: 'date' }],
  ['c_time', 'time(6)', { kind: 'time', withZone: false }],
  ['c_datetime', 'datetime(3)', { kind: 'timestamp' }],
  ['c_timestamp', 'timestamp(6) NULL', { kind: 'timestamptz' }],
  ['c_year', 'year', { kind: 'int16' }],
  ['c_binary', 'binary(4)', { kind: 'binary' }],
  ['c_varbinary', 'varbinary(10)', { kind: 'binary' }],
  ['c_tinyblob', 'tinyblob', { kind: 'binary' }],
  ['c_blob', 'blob', { kind: 'binary' }],
  ['c_mediumblob', 'mediumblob', { kind: 'binary' }],
  ['c_longblob', 'longblob', { kind: 'binary' }],
  ['c_geometry', 'geometry', other('geometry')],
  ['c_point', 'point', other('point')],
  ['c_linestring', 'linestring', other('linestring')],
  ['c_polygon', 'polygon', other('polygon')],
  ['c_multipoint', 'multipoint', other('multipoint')],
  ['c_multilinestring', 'multilinestring', other('multilinestring')],
  ['c_multipolygon', 'multipolygon', other('multipolygon')],
  ['c_geometrycollection', 'geometrycollection', other('geometrycollection')],
  ['c_uuid', 'uuid', { kind: 'uuid' }, 'mariadb'],
  ['c_inet4', 'inet4', other('inet4'), 'mariadb'],
  ['c_inet6', 'inet6', other('inet6'), 'mariadb'],
];

describe('MySQL/MariaDB type mapping', () => {
  let db: TestMysqlDatabase;
  let source: MysqlConnector;
  let flavour: 'mariadb' | 'mysql';
  let natives: typeof NATIVE;
  const queries: string[] = [];

  before(async () => {
    db = await createMysqlDatabase('cr8t_types');
    const [[version]] = (await db.conn.query('SELECT VERSION() AS v')) as unknown as [[{ v: string }]];
    flavour = /mariadb/i.test(version.v) ? 'mariadb' : 'mysql';
    natives = NATIVE.filter(([, , , only]) => !only || only === flavour);
    await db.conn.query(`
      CREATE TABLE natives (${natives.map(([name, type]) => `${name} ${type}`).join(', ')});
      CREATE TABLE keyed (c text, b int, a int, PRIMARY KEY (b, a));
      CREATE TABLE Keyed2 (x int PRIMARY KEY);
      CREATE TABLE keyed2 (y int, x int PRIMARY KEY);
      CREATE VIEW keyed_view AS SELECT * FROM keyed;
      CREATE TABLE \`we\`\`ird\` (\`j\`\`son\` json);
    `);
    for (let i = 0; i < 25; i++) await db.conn.query(`CREATE TABLE t${i} (id int PRIMARY KEY, v text)`);
    source = connector(db.database, { onQuery: (sql) => queries.push(sql) });
  });

  after(async () => {
    await source?.close();
    await db?.drop();
  });

  test('every native type maps to its logical type; datatype stays COLUMN_TYPE', async () => {
    const columns = (await source.getColumns(db.database, ['natives'])).get('natives');
    assert.ok(columns);
    const [typeRows] = (await db.conn.query(
      "SELECT COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'natives' ORDER BY ORDINAL_POSITION",
      [db.database],
    )) as unknown as [Array<{ t: string }>];
    assert.equal(columns.length, natives.length);
    for (const [i, [name, , logical]] of natives.entries()) {
      const column: ColumnInfo = columns[i]!;
      assert.equal(column.name, name);
      assert.equal(column.datatype, typeRows[i]!.t, `${name} datatype`);
      assert.deepEqual(column.logical, logical, `${name} logical`);
    }
  });

  test("MariaDB's JSON is found by its check even for odd column names", async () => {
    const columns = (await source.getColumns(db.database, ['we`ird'])).get('we`ird');
    assert.deepEqual(columns?.map((c) => c.logical), [{ kind: 'json' }]);
  });

  test('primaryKey is the 1-based position in a composite key, null elsewhere and for views; table names match exactly', async () => {
    const found = await source.getColumns(db.database, ['keyed', 'keyed_view', 'Keyed2', 'keyed2']);
    assert.deepEqual(found.get('keyed')!.map((c) => [c.name, c.primaryKey]), [['c', null], ['b', 1], ['a', 2]]);
    assert.deepEqual(found.get('keyed_view')!.map((c) => c.primaryKey), [null, null, null]);
    assert.deepEqual(found.get('Keyed2')!.map((c) => [c.name, c.primaryKey]), [['x', 1]]);
    assert.deepEqual(found.get('keyed2')!.map((c) => [c.name, c.primaryKey]), [['y', null], ['x', 1]]);
  });

  test('one catalog query describes any number of tables', async () => {
    const tables = Array.from({ length: 25 }, (_, i) => `t${i}`);
    await source.ping();
    queries.length = 0;
    const found = await source.getColumns(db.database, tables);
    assert.equal(queries.length, 1);
    assert.equal(found.size, 25);
    for (const t of tables) assert.deepEqual(found.get(t)!.map((c) => [c.name, c.logical.kind, c.primaryKey]), [['id', 'int32', 1], ['v', 'text', null]]);
  });

  test('a request naming its tables reads the catalog rows of those alone, matching names exactly; refusing a missing one lists every table', async () => {
    const listed = (await source.schemaTables(db.database, ['keyed', 'nope', 'we`ird']))!.map((t) => t.name);
    assert.deepEqual(listed, ['keyed', 'we`ird']);
    assert.deepEqual(await source.schemaTables(db.database, []), []);
    assert.equal(await source.schemaTables(`${db.database}_none`, ['keyed']), null);
    // Keyed2 and keyed2 are two tables here: the name is matched exactly, whatever the catalog's collation.
    const resolved = await resolveDataset(source, { schema_name: db.database, tables: [{ name: 'keyed2' }] });
    assert.deepEqual(resolved.tables.map((t) => [t.name, t.columns.map((c) => c.name)]), [['keyed2', ['y', 'x']]]);
    await assert.rejects(resolveDataset(source, { schema_name: db.database, tables: [{ name: 'keyed' }, { name: 'nope' }] }), (error: unknown) => {
      assert.ok(error instanceof AppError && error.code === 'TABLE_NOT_FOUND');
      assert.match(error.message, /Available tables: 'Keyed2', 'keyed', 'keyed2', 'keyed_view', 'natives', 't0', /);
      return true;
    });
  });

  test('an unmapped type is reported in metadata but refused for extraction, naming the table, the column and the type', async () => {
    // No type of this server is unmapped, so the catalog answer is stood in for.
    class FutureServer extends MysqlConnector {
      protected override async query<R>(sql: string, params: unknown[] = []): Promise<R[]> {
        const rows = await super.query<Record<string, unknown>>(sql, params);
        return rows.map((r) => (r.name === 'v' ? { ...r, data_type: 'vector', datatype: 'vector(3)' } : r)) as R[];
      }
    }
    const future = new FutureServer(source.source, { username: mysqlSettings.user, password: mysqlSettings.password });
    try {
      const found = (await future.getColumns(db.database, ['t1'])).get('t1')!.find((c) => c.name === 'v')!;
      assert.equal(found.unsupported, true);
      assert.equal(found.datatype, 'vector(3)');
      await assert.rejects(resolveDataset(future, { schema_name: db.database, tables: [{ name: 't1' }] }, { forExtraction: true }), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, 'SOURCE_NOT_SUPPORTED');
        assert.ok(error.message.includes("'v'"), error.message);
        assert.ok(error.message.includes(`'${db.database}.t1'`), error.message);
        assert.ok(error.message.includes("'vector(3)'"), error.message);
        return true;
      });
    } finally {
      await future.close();
    }
  });
});

describe('MySQL type mapping without a database', () => {
  test('enum and set labels are parsed with quotes, backslashes and commas', () => {
    assert.deepEqual(parseEnumValues("enum('a','it''s','x,y','','Zoë 🚀')"), ['a', "it's", 'x,y', '', 'Zoë 🚀']);
    assert.deepEqual(parseEnumValues("enum('a\\\\b','c\\'d')"), ['a\\b', "c'd"]);
    assert.deepEqual(parseEnumValues("set('a','b')"), ['a', 'b']);
  });

  test('unknown types have no mapping', () => {
    assert.equal(mysqlLogicalType({ dataType: 'vector', columnType: 'vector(3)', charLength: null, jsonCheck: false }), undefined);
    assert.equal(mysqlLogicalType({ dataType: 'xml', columnType: 'xml', charLength: null, jsonCheck: false }), undefined);
  });

  test('formatters print the canonical forms from what mysql2 returns', () => {
    assert.equal(mysqlFormatter({ kind: 'uint32' }, 'int(6) unsigned zerofill')('000042'), '42');
    assert.equal(mysqlFormatter({ kind: 'decimal', precision: 8, scale: 2 }, 'decimal(8,2) unsigned zerofill')('000001.50'), '1.50');
    assert.equal(mysqlFormatter({ kind: 'decimal', precision: 8, scale: 2 }, 'decimal(8,2)')('-0.50'), '-0.50');
    assert.equal(mysqlFormatter({ kind: 'float32' }, 'float')(1.100000023841858), '1.1');
    assert.equal(mysqlFormatter({ kind: 'float64' }, 'double')(1e21), '1e+21');
    assert.equal(mysqlFormatter({ kind: 'timestamp' }, 'datetime(6)')('2024-01-02 03:04:05.120000'), '2024-01-02T03:04:05.12');
    assert.equal(mysqlFormatter({ kind: 'timestamptz' }, 'timestamp')('2024-01-02 03:04:05'), '2024-01-02T03:04:05+00:00');
    assert.equal(mysqlFormatter({ kind: 'time', withZone: false }, 'time(6)')('-01:02:03.000000'), '-01:02:03');
    assert.equal(mysqlFormatter({ kind: 'binary' }, 'blob')(Buffer.from([0, 255])), '\\x00ff');
    assert.equal(mysqlFormatter({ kind: 'text' }, 'text')(null), null);
    assert.equal(mysqlFormatter({ kind: 'text' }, 'text')(''), '');
  });
});
