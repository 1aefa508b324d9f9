/**
 * The all-types case table: for each source, one table holding every logical
 * type the source can hold, with a typical row, a row of extremes (unicode,
 * quotes, commas, newlines, min/max numbers, zoned and microsecond times), a
 * row of NULLs and a row of empties and zeros; for every value, the SQL that
 * inserts it and the canonical text form extraction must produce
 * (lib/types/logical.ts). Connector tests load it into a source and compare
 * the CSV; destination tests can load `expectedRows` and `logicalColumns`.
 */
import type { LogicalType } from '../../lib/types/logical.js';

/** One column: its DDL type, its expected logical type, and per row the SQL literal and the expected text (null: NULL). */
export interface CaseColumn {
  name: string;
  native: string;
  logical: LogicalType;
  rows: Array<[sql: string, text: string | null]>;
  /** Only on this flavour of the source (MariaDB's UUID and INET6 types). */
  only?: 'mariadb';
}

export interface SourceCase {
  table: string;
  columns: CaseColumn[];
  /** Statements that create the table (and its types) and insert the rows. */
  setup: string[];
  /** Rows in primary-key order, values in canonical text form, null for NULL. */
  expectedRows: Array<Array<string | null>>;
  /** The exact CSV extraction must produce: header, then expectedRows. */
  expectedCsv: string;
}

/** Rows in the case table; row 3 is all NULL except the key. */
export const ROWS = 4;
const NULL: [string, null] = ['NULL', null];

function col(name: string, native: string, logical: LogicalType, rows: Array<[string, string | null]>, only?: 'mariadb'): CaseColumn {
  if (rows.length !== ROWS) throw new Error(`case column ${name} has ${rows.length} rows, not ${ROWS}`);
  return only ? { name, native, logical, rows, only } : { name, native, logical, rows };
}

// One CSV writer and parser for all tests: NULL is an empty unquoted field, '' is "".
export { encodeField as csvField, parseCsv, toCsv } from './csv-text.js';
import { toCsv } from './csv-text.js';

function build(table: string, columns: CaseColumn[], before: string[], quote: (name: string) => string, ddlTail: string): SourceCase {
  const id = col('id', 'integer', { kind: 'int32' }, [['1', '1'], ['2', '2'], ['3', '3'], ['4', '4']]);
  const all = [id, ...columns];
  const create = `CREATE TABLE ${quote(table)} (${all.map((c) => `${quote(c.name)} ${c.native}`).join(', ')}, PRIMARY KEY (${quote('id')}))${ddlTail}`;
  const inserts = Array.from({ length: ROWS }, (_, r) =>
    `INSERT INTO ${quote(table)} (${all.map((c) => quote(c.name)).join(', ')}) VALUES (${all.map((c) => c.rows[r]![0]).join(', ')})`);
  const expectedRows = Array.from({ length: ROWS }, (_, r) => all.map((c) => c.rows[r]![1]));
  return {
    table,
    columns: all,
    setup: [...before, create, ...inserts],
    expectedRows,
    expectedCsv: toCsv(all.map((c) => c.name), expectedRows),
  };
}

const pgQuote = (name: string) => `"${name.replaceAll('"', '""')}"`;

const MOOD = { kind: 'enum', values: ['sad', 'ok', 'happy', 'it\'s, "odd"'] } as const satisfies LogicalType;
const TRICKY_TEXT = 'Zoë 🚀 ñ, "quoted"\nnew line\r\nand, commas';

/** PostgreSQL: every logical kind except the unsigned integers. */
export function pgAllTypes(table = 'all_types'): SourceCase {
  const columns = [
    col('c_smallint', 'smallint', { kind: 'int16' }, [['12', '12'], ['-32768', '-32768'], NULL, ['32767', '32767']]),
    col('c_integer', 'integer', { kind: 'int32' }, [['-42', '-42'], ['-2147483648', '-2147483648'], NULL, ['2147483647', '2147483647']]),
    col('c_bigint', 'bigint', { kind: 'int64' }, [['1234567890123', '1234567890123'], ['-9223372036854775808', '-9223372036854775808'], NULL, ['9223372036854775807', '9223372036854775807']]),
    col('c_numeric', 'numeric(12,2)', { kind: 'decimal', precision: 12, scale: 2 }, [['1234.5', '1234.50'], ['-9999999999.99', '-9999999999.99'], NULL, ['0', '0.00']]),
    col('c_numeric_wide', 'numeric(38,10)', { kind: 'decimal', precision: 38, scale: 10 }, [
      ['1234567890123456789012345678.0123456789', '1234567890123456789012345678.0123456789'], ['-0.0000000001', '-0.0000000001'], NULL, ['0', '0.0000000000']]),
    col('c_numeric_free', 'numeric', { kind: 'decimal' }, [
      ['3.14159265358979323846264338327950288419716939937510', '3.14159265358979323846264338327950288419716939937510'], ['-123.4500', '-123.4500'], NULL, ["'NaN'", 'NaN']]),
    col('c_real', 'real', { kind: 'float32' }, [['1.1', '1.1'], ['3.4028235e38', '3.4028235e+38'], NULL, ["'-Infinity'", '-Infinity']]),
    col('c_double', 'double precision', { kind: 'float64' }, [
      ['0.30000000000000004', '0.30000000000000004'], ['-1.7976931348623157e308', '-1.7976931348623157e+308'], NULL, ['1e-7', '1e-07']]),
    col('c_boolean', 'boolean', { kind: 'boolean' }, [['true', 'true'], ['false', 'false'], NULL, ['false', 'false']]),
    col('c_text', 'text', { kind: 'text' }, [["'plain'", 'plain'], [`E'${TRICKY_TEXT.replaceAll('\n', '\\n').replaceAll('\r', '\\r')}'`, TRICKY_TEXT], NULL, ["''", '']]),
    col('c_varchar', 'varchar(20)', { kind: 'text', length: 20 }, [["'a,b'", 'a,b'], ["E'it''s ; tab\\there'", "it's ; tab\there"], NULL, ["''", '']]),
    col('c_char', 'char(5)', { kind: 'text', length: 5 }, [["'ab'", 'ab   '], ["'Zoë'", 'Zoë  '], NULL, ["''", '     ']]),
    col('c_date', 'date', { kind: 'date' }, [["'2024-02-29'", '2024-02-29'], ["'0001-01-01'", '0001-01-01'], NULL, ["'9999-12-31'", '9999-12-31']]),
    col('c_time', 'time', { kind: 'time', withZone: false }, [["'13:45:10'", '13:45:10'], ["'23:59:59.999999'", '23:59:59.999999'], NULL, ["'00:00:00'", '00:00:00']]),
    col('c_timetz', 'time with time zone', { kind: 'time', withZone: true }, [
      ["'13:45:10+05:30'", '13:45:10+05:30'], ["'00:00:00.5-08'", '00:00:00.5-08:00'], NULL, ["'12:00:00+00'", '12:00:00+00:00']]),
    col('c_timestamp', 'timestamp(6)', { kind: 'timestamp' }, [
      ["'2024-02-29 13:45:10.123456'", '2024-02-29T13:45:10.123456'], ["'0001-01-01 00:00:00'", '0001-01-01T00:00:00'], NULL, ["'1970-01-01 00:00:00.5'", '1970-01-01T00:00:00.5']]),
    col('c_timestamptz', 'timestamptz', { kind: 'timestamptz' }, [
      ["'2024-03-01 10:15:30.123456+05:30'", '2024-03-01T04:45:30.123456+00:00'],
      ["'1999-12-31 23:59:59.999999-08:00'", '2000-01-01T07:59:59.999999+00:00'], NULL,
      ["'1970-01-01 05:30:00+05:30'", '1970-01-01T00:00:00+00:00']]),
    col('c_interval', 'interval', { kind: 'interval' }, [["'1 year 2 months 3 days 04:05:06.5'", 'P1Y2M3DT4H5M6.5S'], ["'-1 day'", 'P-1D'], NULL, ["'0'", 'PT0S']]),
    col('c_uuid', 'uuid', { kind: 'uuid' }, [
      ["'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'", 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'], ["'ffffffff-ffff-ffff-ffff-ffffffffffff'", 'ffffffff-ffff-ffff-ffff-ffffffffffff'], NULL,
      ["'00000000-0000-0000-0000-000000000000'", '00000000-0000-0000-0000-000000000000']]),
    col('c_json', 'json', { kind: 'json' }, [[`'{"b": 1, "a": [1, 2]}'`, '{"b": 1, "a": [1, 2]}'], [`'"Zoë 🚀"'`, '"Zoë 🚀"'], NULL, ["'null'", 'null']]),
    col('c_jsonb', 'jsonb', { kind: 'json' }, [[`'{"b": 1, "a": [1, 2]}'`, '{"a": [1, 2], "b": 1}'], ["'[]'", '[]'], NULL, ["'{}'", '{}']]),
    col('c_bytea', 'bytea', { kind: 'binary' }, [["'\\xDEADBEEF'", '\\xdeadbeef'], ["'\\x00ff'", '\\x00ff'], NULL, ["''", '\\x']]),
    col('c_int_array', 'integer[]', { kind: 'array', element: { kind: 'int32' } }, [["'{1,2,NULL}'", '[1,2,null]'], ["'{{1,2},{3,4}}'", '[[1,2],[3,4]]'], NULL, ["'{}'", '[]']]),
    col('c_text_array', 'text[]', { kind: 'array', element: { kind: 'text' } }, [
      [`ARRAY['a,b', 'c"d', NULL, 'Zoë']`, '["a,b","c\\"d",null,"Zoë"]'], ["ARRAY['']", '[""]'], NULL, ["'{}'", '[]']]),
    col('c_timestamptz_array', 'timestamptz[]', { kind: 'array', element: { kind: 'timestamptz' } }, [
      ["ARRAY['2024-03-01 10:15:30+05:30'::timestamptz]", '["2024-03-01T04:45:30+00:00"]'], ['ARRAY[NULL::timestamptz]', '[null]'], NULL, ["'{}'", '[]']]),
    col('c_enum', 'mood', MOOD, [["'happy'", 'happy'], [`'it''s, "odd"'`, 'it\'s, "odd"'], NULL, ["'sad'", 'sad']]),
    col('c_inet', 'inet', { kind: 'other', native: 'inet' }, [["'192.168.0.1/24'", '192.168.0.1/24'], ["'::1'", '::1'], NULL, ["'10.0.0.1'", '10.0.0.1']]),
    col('c_money', 'money', { kind: 'other', native: 'money' }, [["'1234.56'", '$1,234.56'], ["'-92233720368547758.08'", '-$92,233,720,368,547,758.08'], NULL, ["'0'", '$0.00']]),
    col('c_bit', 'bit(3)', { kind: 'other', native: 'bit(3)' }, [["B'101'", '101'], ["B'000'", '000'], NULL, ["B'111'", '111']]),
    col('c_point', 'point', { kind: 'other', native: 'point' }, [["'(1,2)'", '(1,2)'], ["'(-1.5,1e300)'", '(-1.5,1e+300)'], NULL, ["'(0,0)'", '(0,0)']]),
  ];
  const enumLabels = MOOD.values.map((v) => `'${v.replaceAll("'", "''")}'`).join(', ');
  return build(table, columns, [`CREATE TYPE mood AS ENUM (${enumLabels})`], pgQuote, '');
}

const myQuote = (name: string) => `\`${name.replaceAll('`', '``')}\``;

/**
 * MySQL/MariaDB: every logical kind the source has. TIMESTAMP values are
 * inserted in a +05:30 session, so they come back shifted to UTC.
 */
export function mysqlAllTypes(flavour: 'mariadb' | 'mysql', table = 'all_types'): SourceCase {
  const myText = TRICKY_TEXT.replaceAll('\\', '\\\\').replaceAll("'", "''").replaceAll('\n', '\\n').replaceAll('\r', '\\r');
  const columns = [
    col('c_tinyint', 'tinyint', { kind: 'int8' }, [['12', '12'], ['-128', '-128'], NULL, ['127', '127']]),
    col('c_bool', 'tinyint(1)', { kind: 'int8' }, [['1', '1'], ['0', '0'], NULL, ['2', '2']]),
    col('c_smallint', 'smallint', { kind: 'int16' }, [['12', '12'], ['-32768', '-32768'], NULL, ['32767', '32767']]),
    col('c_mediumint', 'mediumint', { kind: 'int32' }, [['-42', '-42'], ['-8388608', '-8388608'], NULL, ['8388607', '8388607']]),
    col('c_int', 'int', { kind: 'int32' }, [['-42', '-42'], ['-2147483648', '-2147483648'], NULL, ['2147483647', '2147483647']]),
    col('c_bigint', 'bigint', { kind: 'int64' }, [['1234567890123', '1234567890123'], ['-9223372036854775808', '-9223372036854775808'], NULL, ['9223372036854775807', '9223372036854775807']]),
    col('c_utinyint', 'tinyint unsigned', { kind: 'uint8' }, [['7', '7'], ['255', '255'], NULL, ['0', '0']]),
    col('c_usmallint', 'smallint unsigned', { kind: 'uint16' }, [['7', '7'], ['65535', '65535'], NULL, ['0', '0']]),
    col('c_umediumint', 'mediumint unsigned', { kind: 'uint32' }, [['7', '7'], ['16777215', '16777215'], NULL, ['0', '0']]),
    col('c_uint', 'int unsigned', { kind: 'uint32' }, [['7', '7'], ['4294967295', '4294967295'], NULL, ['0', '0']]),
    col('c_ubigint', 'bigint unsigned', { kind: 'uint64' }, [['7', '7'], ['18446744073709551615', '18446744073709551615'], NULL, ['0', '0']]),
    col('c_zerofill', 'int(6) unsigned zerofill', { kind: 'uint32' }, [['42', '42'], ['4294967295', '4294967295'], NULL, ['0', '0']]),
    col('c_decimal', 'decimal(12,2)', { kind: 'decimal', precision: 12, scale: 2 }, [['1234.5', '1234.50'], ['-9999999999.99', '-9999999999.99'], NULL, ['0', '0.00']]),
    col('c_decimal_wide', 'decimal(38,10)', { kind: 'decimal', precision: 38, scale: 10 }, [
      ['1234567890123456789012345678.0123456789', '1234567890123456789012345678.0123456789'], ['-0.0000000001', '-0.0000000001'], NULL, ['0', '0.0000000000']]),
    col('c_float', 'float', { kind: 'float32' }, [['1.1', '1.1'], ['3.4028234e38', '3.4028235e+38'], NULL, ['1e-7', '1e-07']]),
    col('c_double', 'double', { kind: 'float64' }, [['0.30000000000000004e0', '0.30000000000000004'], ['-1.7976931348623157e308', '-1.7976931348623157e+308'], NULL, ['1e15', '1e+15']]),
    col('c_bit1', 'bit(1)', { kind: 'boolean' }, [["b'1'", 'true'], ["b'0'", 'false'], NULL, ["b'0'", 'false']]),
    col('c_bit8', 'bit(8)', { kind: 'other', native: 'bit(8)' }, [["b'101'", '00000101'], ["b'11111111'", '11111111'], NULL, ["b'0'", '00000000']]),
    col('c_char', 'char(5)', { kind: 'text', length: 5 }, [["'ab'", 'ab'], ["'Zoë'", 'Zoë'], NULL, ["''", '']]),
    col('c_varchar', 'varchar(20)', { kind: 'text', length: 20 }, [["'a,b'", 'a,b'], ["'it''s ; tab\\there'", "it's ; tab\there"], NULL, ["''", '']]),
    col('c_text', 'text', { kind: 'text' }, [["'plain'", 'plain'], [`'${myText}'`, TRICKY_TEXT], NULL, ["''", '']]),
    col('c_enum', `enum(${MOOD.values.map((v) => `'${v.replaceAll("'", "''")}'`).join(',')})`, MOOD, [["'happy'", 'happy'], [`'it''s, "odd"'`, 'it\'s, "odd"'], NULL, ["'sad'", 'sad']]),
    col('c_set', "set('a','b','c')", { kind: 'other', native: "set('a','b','c')" }, [["'c,a'", 'a,c'], ["''", ''], NULL, ["'b'", 'b']]),
    col('c_date', 'date', { kind: 'date' }, [["'2024-02-29'", '2024-02-29'], ["'1000-01-01'", '1000-01-01'], NULL, ["'9999-12-31'", '9999-12-31']]),
    col('c_time', 'time(6)', { kind: 'time', withZone: false }, [["'13:45:10'", '13:45:10'], ["'23:59:59.999999'", '23:59:59.999999'], NULL, ["'00:00:00'", '00:00:00']]),
    col('c_datetime', 'datetime(6)', { kind: 'timestamp' }, [
      ["'2024-02-29 13:45:10.123456'", '2024-02-29T13:45:10.123456'], ["'1000-01-01 00:00:00'", '1000-01-01T00:00:00'], NULL, ["'1970-01-01 00:00:00.5'", '1970-01-01T00:00:00.5']]),
    col('c_timestamp', 'timestamp(6) NULL', { kind: 'timestamptz' }, [
      ["'2024-03-01 10:15:30.123456'", '2024-03-01T04:45:30.123456+00:00'],
      ["'2038-01-19 08:44:07.999999'", '2038-01-19T03:14:07.999999+00:00'], NULL,
      ["'1970-01-01 05:30:01'", '1970-01-01T00:00:01+00:00']]),
    col('c_year', 'year', { kind: 'int16' }, [['2024', '2024'], ['1901', '1901'], NULL, ['2155', '2155']]),
    col('c_json', 'json', { kind: 'json' }, [[`'{"b": 1, "a": [1, 2]}'`, flavour === 'mariadb' ? '{"b": 1, "a": [1, 2]}' : '{"a": [1, 2], "b": 1}'], [`'"Zoë 🚀"'`, '"Zoë 🚀"'], NULL, ["'null'", 'null']]),
    col('c_binary', 'binary(4)', { kind: 'binary' }, [["x'DEADBEEF'", '\\xdeadbeef'], ["x'00'", '\\x00000000'], NULL, ["''", '\\x00000000']]),
    col('c_varbinary', 'varbinary(10)', { kind: 'binary' }, [["x'00FF'", '\\x00ff'], ["x'0A0D2C22'", '\\x0a0d2c22'], NULL, ["''", '\\x']]),
    col('c_blob', 'blob', { kind: 'binary' }, [["x'DEADBEEF'", '\\xdeadbeef'], ["x'00'", '\\x00'], NULL, ["''", '\\x']]),
    col('c_point', 'point', { kind: 'other', native: 'point' }, [['POINT(1, 2)', 'POINT(1 2)'], ['POINT(-1.5, 2.25)', 'POINT(-1.5 2.25)'], NULL, ['POINT(0, 0)', 'POINT(0 0)']]),
    col('c_uuid', 'uuid', { kind: 'uuid' }, [
      ["'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'", 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'], ["'ffffffff-ffff-ffff-ffff-ffffffffffff'", 'ffffffff-ffff-ffff-ffff-ffffffffffff'], NULL,
      ["'00000000-0000-0000-0000-000000000000'", '00000000-0000-0000-0000-000000000000']], 'mariadb'),
    col('c_inet6', 'inet6', { kind: 'other', native: 'inet6' }, [["'::1'", '::1'], ["'2001:db8::ff00:42:8329'", '2001:db8::ff00:42:8329'], NULL, ["'::ffff:192.168.0.1'", '::ffff:192.168.0.1']], 'mariadb'),
  ].filter((c) => !c.only || c.only === flavour);
  return build(table, columns, ["SET time_zone = '+05:30'"], myQuote, ' CHARACTER SET utf8mb4');
}

/** The columns of a case as a destination sees them: name, logical type, canonical values by row. */
export function logicalColumns(source: SourceCase): Array<{ name: string; logical: LogicalType; values: Array<string | null> }> {
  return source.columns.map((c) => ({ name: c.name, logical: c.logical, values: c.rows.map((r) => r[1]) }));
}
