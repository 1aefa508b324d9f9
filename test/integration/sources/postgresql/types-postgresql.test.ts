/**
 * PostgreSQL native types → logical types, read through the catalog of a real
 * database: every mapping in lib/connectors/postgresql/types.ts, primary-key
 * positions, unknown types refused, one catalog query for many tables.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AppError } from '../../../../lib/errors.js';
import { sourceSchema, type SqlSourceConfig } from '../../../../lib/contract/index.js';
import type { ColumnInfo, ConnectorOptions } from '../../../../lib/connectors/connector.js';
import { PostgresConnector } from '../../../../lib/connectors/postgresql/connector.js';
import { resolveDataset } from '../../../../lib/connectors/catalog.js';
import { pgCopyExpression, pgLogicalType, pgTextKind } from '../../../../lib/connectors/postgresql/types.js';
import type { LogicalType } from '../../../../lib/types/logical.js';
import { createPgDatabase, pgSettings, type TestPgDatabase } from '../../../support/databases.js';

function connector(database: string, options: ConnectorOptions = {}): PostgresConnector {
  const source = sourceSchema.parse({
    type: 'postgresql', host_url: pgSettings.host, port: pgSettings.port, database,
    credentials: { provider: 'AzureKeyVault', username_key: 'pg-user', password_key: 'pg-password' },
  }) as SqlSourceConfig;
  return new PostgresConnector(source, { username: pgSettings.user, password: pgSettings.password }, options);
}

const int32: LogicalType = { kind: 'int32' };

/** [column, DDL type, expected datatype, expected logical type]. */
const NATIVE: Array<[string, string, string, LogicalType]> = [
  ['c_int2', 'smallint', 'smallint', { kind: 'int16' }],
  ['c_int4', 'integer', 'integer', int32],
  ['c_serial', 'serial', 'integer', int32],
  ['c_int8', 'bigint', 'bigint', { kind: 'int64' }],
  ['c_numeric', 'numeric(12,2)', 'numeric(12,2)', { kind: 'decimal', precision: 12, scale: 2 }],
  ['c_numeric_p', 'numeric(7)', 'numeric(7,0)', { kind: 'decimal', precision: 7, scale: 0 }],
  ['c_numeric_free', 'numeric', 'numeric', { kind: 'decimal' }],
  ['c_real', 'real', 'real', { kind: 'float32' }],
  ['c_double', 'double precision', 'double precision', { kind: 'float64' }],
  ['c_text', 'text', 'text', { kind: 'text' }],
  ['c_varchar', 'varchar(20)', 'character varying(20)', { kind: 'text', length: 20 }],
  ['c_varchar_free', 'varchar', 'character varying', { kind: 'text' }],
  ['c_char', 'char(5)', 'character(5)', { kind: 'text', length: 5 }],
  ['c_name', 'name', 'name', { kind: 'text' }],
  ['c_citext', 'citext', 'citext', { kind: 'text' }],
  ['c_bool', 'boolean', 'boolean', { kind: 'boolean' }],
  ['c_date', 'date', 'date', { kind: 'date' }],
  ['c_time', 'time(3)', 'time(3) without time zone', { kind: 'time', withZone: false }],
  ['c_timetz', 'timetz', 'time with time zone', { kind: 'time', withZone: true }],
  ['c_timestamp', 'timestamp', 'timestamp without time zone', { kind: 'timestamp' }],
  ['c_timestamptz', 'timestamptz(3)', 'timestamp(3) with time zone', { kind: 'timestamptz' }],
  ['c_interval', 'interval', 'interval', { kind: 'interval' }],
  ['c_uuid', 'uuid', 'uuid', { kind: 'uuid' }],
  ['c_json', 'json', 'json', { kind: 'json' }],
  ['c_jsonb', 'jsonb', 'jsonb', { kind: 'json' }],
  ['c_bytea', 'bytea', 'bytea', { kind: 'binary' }],
  ['c_int_array', 'integer[]', 'integer[]', { kind: 'array', element: int32 }],
  ['c_matrix', 'numeric(5,1)[][]', 'numeric(5,1)[]', { kind: 'array', element: { kind: 'decimal', precision: 5, scale: 1 } }],
  ['c_varchar_array', 'varchar(9)[]', 'character varying(9)[]', { kind: 'array', element: { kind: 'text', length: 9 } }],
  ['c_tstz_array', 'timestamptz[]', 'timestamp with time zone[]', { kind: 'array', element: { kind: 'timestamptz' } }],
  ['c_enum', 'mood', 'mood', { kind: 'enum', values: ['sad', 'ok', "it's"] }],
  ['c_enum_array', 'mood[]', 'mood[]', { kind: 'array', element: { kind: 'enum', values: ['sad', 'ok', "it's"] } }],
  ['c_domain', 'posint', 'posint', int32],
  ['c_domain_chain', 'code2', 'code2', { kind: 'text', length: 7 }],
  ['c_domain_array', 'code2[]', 'code2[]', { kind: 'array', element: { kind: 'text', length: 7 } }],
  ['c_domain_of_array', 'scores', 'scores', { kind: 'array', element: { kind: 'decimal', precision: 4, scale: 1 } }],
  ['c_inet', 'inet', 'inet', { kind: 'other', native: 'inet' }],
  ['c_cidr', 'cidr', 'cidr', { kind: 'other', native: 'cidr' }],
  ['c_macaddr', 'macaddr', 'macaddr', { kind: 'other', native: 'macaddr' }],
  ['c_macaddr8', 'macaddr8', 'macaddr8', { kind: 'other', native: 'macaddr8' }],
  ['c_money', 'money', 'money', { kind: 'other', native: 'money' }],
  ['c_xml', 'xml', 'xml', { kind: 'other', native: 'xml' }],
  ['c_tsvector', 'tsvector', 'tsvector', { kind: 'other', native: 'tsvector' }],
  ['c_tsquery', 'tsquery', 'tsquery', { kind: 'other', native: 'tsquery' }],
  ['c_bit1', 'bit', 'bit(1)', { kind: 'other', native: 'bit(1)' }],
  ['c_bit', 'bit(3)', 'bit(3)', { kind: 'other', native: 'bit(3)' }],
  ['c_varbit', 'bit varying(8)', 'bit varying(8)', { kind: 'other', native: 'bit varying(8)' }],
  ['c_point', 'point', 'point', { kind: 'other', native: 'point' }],
  ['c_line', 'line', 'line', { kind: 'other', native: 'line' }],
  ['c_lseg', 'lseg', 'lseg', { kind: 'other', native: 'lseg' }],
  ['c_box', 'box', 'box', { kind: 'other', native: 'box' }],
  ['c_path', 'path', 'path', { kind: 'other', native: 'path' }],
  ['c_polygon', 'polygon', 'polygon', { kind: 'other', native: 'polygon' }],
  ['c_circle', 'circle', 'circle', { kind: 'other', native: 'circle' }],
  ['c_range', 'int4range', 'int4range', { kind: 'other', native: 'int4range' }],
  ['c_inet_array', 'inet[]', 'inet[]', { kind: 'array', element: { kind: 'other', native: 'inet' } }],
];

describe('PostgreSQL type mapping', () => {
  let db: TestPgDatabase;
  let source: PostgresConnector;
  const queries: string[] = [];

  before(async () => {
    db = await createPgDatabase('cr8t_types');
    await db.client.query(`
      CREATE EXTENSION IF NOT EXISTS citext;
      CREATE TYPE mood AS ENUM ('sad', 'ok', 'it''s');
      CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
      CREATE DOMAIN code AS varchar(7);
      CREATE DOMAIN code2 AS code;
      CREATE DOMAIN scores AS numeric(4,1)[];
      CREATE TYPE pair AS (a integer, b text);
      CREATE TABLE natives (${NATIVE.map(([name, type]) => `${name} ${type}`).join(', ')});
      CREATE TABLE keyed (c text, b integer, a integer, PRIMARY KEY (b, a));
      CREATE VIEW keyed_view AS SELECT * FROM keyed;
      CREATE TABLE odd_composite (id integer, c_pair pair);
      CREATE TABLE odd_lsn (id integer, c_lsn pg_lsn);
      CREATE TABLE odd_lsn_array (id integer, c_lsns pg_lsn[]);
      CREATE SCHEMA wide;
    `);
    for (let i = 0; i < 25; i++) await db.client.query(`CREATE TABLE wide.t${i} (id integer PRIMARY KEY, v text)`);
    source = connector(db.database, { onQuery: (sql) => queries.push(sql) });
  });

  after(async () => {
    await source?.close();
    await db?.drop();
  });

  test('every native type maps to its logical type; datatype stays the source spelling', async () => {
    const columns = (await source.getColumns('public', ['natives'])).get('natives');
    assert.ok(columns);
    assert.equal(columns.length, NATIVE.length);
    for (const [i, [name, , datatype, logical]] of NATIVE.entries()) {
      const column: ColumnInfo = columns[i]!;
      assert.equal(column.name, name);
      assert.equal(column.datatype, datatype, `${name} datatype`);
      assert.deepEqual(column.logical, logical, `${name} logical`);
      assert.equal(column.primaryKey, null);
    }
  });

  test('tables named to schemaTables come with the very columns getColumns reads (every type, domains, arrays, enums, keys), in one query', async () => {
    const direct = await source.getColumns('public', ['natives', 'keyed', 'keyed_view', 'odd_composite']);
    queries.length = 0;
    const named = await source.schemaTables('public', ['natives', 'keyed', 'keyed_view', 'odd_composite']);
    assert.equal(queries.length, 1);
    assert.deepEqual(named?.map((t) => t.name), ['keyed', 'keyed_view', 'natives', 'odd_composite']);
    for (const table of named!) assert.deepEqual(table.columns, direct.get(table.name), table.name);
  });

  test('primaryKey is the 1-based position in a composite key, null elsewhere and for views', async () => {
    const found = await source.getColumns('public', ['keyed', 'keyed_view']);
    assert.deepEqual(found.get('keyed')!.map((c) => [c.name, c.primaryKey]), [['c', null], ['b', 1], ['a', 2]]);
    assert.deepEqual(found.get('keyed_view')!.map((c) => c.primaryKey), [null, null, null]);
  });

  for (const [table, column, type] of [
    ['odd_composite', 'c_pair', 'pair'],
    ['odd_lsn', 'c_lsn', 'pg_lsn'],
    ['odd_lsn_array', 'c_lsns', 'pg_lsn[]'],
  ] as const) {
    test(`an unmapped type (${type}) is reported in metadata but refused for extraction, naming the table, the column and the type`, async () => {
      const found = (await source.getColumns('public', [table])).get(table)!.find((c) => c.name === column)!;
      assert.equal(found.unsupported, true);
      assert.equal(found.datatype, type);
      const request = { schema_name: 'public', tables: [{ name: table }] };
      assert.equal((await resolveDataset(source, request)).tables[0]!.columns.some((c) => c.name === column), true);
      await assert.rejects(resolveDataset(source, request, { forExtraction: true }), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, 'SOURCE_NOT_SUPPORTED');
        assert.ok(error.message.includes(`'${column}'`), error.message);
        assert.ok(error.message.includes(`'public.${table}'`), error.message);
        assert.ok(error.message.includes(`'${type}'`), error.message);
        assert.ok(error.message.includes(`postgresql source ${pgSettings.host}:${pgSettings.port}/${db.database}`), error.message);
        return true;
      });
    });
  }

  test('one catalog query describes any number of tables', async () => {
    const tables = Array.from({ length: 25 }, (_, i) => `t${i}`);
    await source.ping();
    queries.length = 0;
    const found = await source.getColumns('wide', tables);
    assert.equal(queries.length, 1);
    assert.equal(found.size, 25);
    for (const t of tables) assert.deepEqual(found.get(t)!.map((c) => [c.name, c.logical.kind, c.primaryKey]), [['id', 'int32', 1], ['v', 'text', null]]);
  });
});

describe('PostgreSQL type mapping without a database', () => {
  const base = { typeSchema: 'pg_catalog', typeKind: 'b', typmod: -1 };

  test('numeric modifiers decode precision and scale, negative scales included', () => {
    // typmod = ((precision << 16) | (scale & 0x7ff)) + 4
    assert.deepEqual(pgLogicalType({ ...base, typeName: 'numeric', typmod: ((38 << 16) | 10) + 4, typeSql: 'numeric(38,10)' }), { kind: 'decimal', precision: 38, scale: 10 });
    assert.deepEqual(pgLogicalType({ ...base, typeName: 'numeric', typmod: ((5 << 16) | (-2 & 0x7ff)) + 4, typeSql: 'numeric(5,-2)' }), { kind: 'decimal', precision: 5, scale: -2 });
    assert.deepEqual(pgLogicalType({ ...base, typeName: 'numeric', typeSql: 'numeric' }), { kind: 'decimal' });
  });

  test('a type outside pg_catalog is unknown unless it is an enum, a range or citext', () => {
    assert.equal(pgLogicalType({ ...base, typeSchema: 'public', typeName: 'inet', typeSql: 'public.inet' }), undefined);
    assert.equal(pgLogicalType({ ...base, typeSchema: 'public', typeName: 'geometry', typeSql: 'geometry(Point,4326)' }), undefined);
    assert.deepEqual(pgLogicalType({ ...base, typeSchema: 'ext', typeName: 'citext', typeSql: 'ext.citext' }), { kind: 'text' });
    assert.deepEqual(pgLogicalType({ ...base, typeSchema: 'public', typeKind: 'r', typeName: 'floatrange', typeSql: 'floatrange' }), { kind: 'other', native: 'floatrange' });
    assert.deepEqual(pgLogicalType({ ...base, typeSchema: 'public', typeKind: 'e', typeName: 'mood', typeSql: 'mood', enumLabels: ['a'] }), { kind: 'enum', values: ['a'] });
    assert.equal(pgLogicalType({ ...base, typeKind: 'c', typeName: 'pair', typeSql: 'pair' }), undefined);
  });

  test('COPY reads every column bare but arrays; the transform rewrites only types whose output is not canonical', () => {
    assert.equal(pgCopyExpression('"c"', { kind: 'int64' }), '"c"');
    assert.equal(pgCopyExpression('"c"', { kind: 'boolean' }), '"c"');
    assert.equal(pgCopyExpression('"c"', { kind: 'timestamptz' }), '"c"');
    assert.equal(pgCopyExpression('"c"', { kind: 'array', element: int32 }), 'to_json("c")::text');
    assert.equal(pgTextKind({ kind: 'int64' }), 'plain');
    assert.equal(pgTextKind({ kind: 'boolean' }), 'boolean');
    assert.equal(pgTextKind({ kind: 'timestamp' }), 'timestamp');
    assert.equal(pgTextKind({ kind: 'timestamptz' }), 'timestamptz');
    assert.equal(pgTextKind({ kind: 'time', withZone: false }), 'plain');
    assert.equal(pgTextKind({ kind: 'time', withZone: true }), 'timetz');
    assert.equal(pgTextKind({ kind: 'array', element: { kind: 'boolean' } }), 'plain');
  });
});
