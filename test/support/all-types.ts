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
import { CASES, MOOD_LABELS, TRICKY_TEXT, resolve, type Cell, type TypeCase } from './type-cases.js';

/** One column: its DDL type, its expected logical type, and per row the SQL literal and the expected text (null: NULL). */
export interface CaseColumn {
  name: string;
  native: string;
  logical: LogicalType;
  rows: Array<[sql: string, text: string | null]>;
  /** The case (type-cases.ts) the expected texts come from, and the value names by row (absent: the row key). */
  typeCase?: TypeCase;
  values?: Array<string | null>;
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
const NULL = null;

/** A column: its DDL type, its case, and per row the SQL literal and the case value it must read as. */
function col<K extends string>(name: string, native: string, typeCase: TypeCase<K>, cells: Array<Cell<string, K>>): CaseColumn {
  if (cells.length !== ROWS) throw new Error(`case column ${name} has ${cells.length} rows, not ${ROWS}`);
  const r = resolve(name, typeCase, cells, 'NULL');
  return { name, native, logical: typeCase.logical, rows: r.held.map((sql, i) => [sql, r.texts[i]!]), typeCase, values: r.values };
}

// One CSV writer and parser for all tests: NULL is an empty unquoted field, '' is "".
export { encodeField as csvField, parseCsv, toCsv } from './csv-text.js';
import { toCsv } from './csv-text.js';

function build(table: string, columns: CaseColumn[], before: string[], quote: (name: string) => string, ddlTail: string): SourceCase {
  const id: CaseColumn = { name: 'id', native: 'integer', logical: { kind: 'int32' }, rows: Array.from({ length: ROWS }, (_, r) => [String(r + 1), String(r + 1)]) };
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
const sqlString = (text: string) => `'${text.replaceAll("'", "''")}'`;
const C = CASES;

/** PostgreSQL: every logical kind except those NOT_REPRESENTABLE lists for it. */
export function pgAllTypes(table = 'all_types'): SourceCase {
  const columns = [
    col('c_smallint', 'smallint', C.int16, [['12', 'typical'], ['-32768', 'min'], NULL, ['32767', 'max']]),
    col('c_integer', 'integer', C.int32, [['-42', 'negative'], ['-2147483648', 'min'], NULL, ['2147483647', 'max']]),
    col('c_bigint', 'bigint', C.int64, [['1234567890123', 'typical'], ['-9223372036854775808', 'min'], NULL, ['9223372036854775807', 'max']]),
    col('c_numeric', 'numeric(12,2)', C.decimal12_2, [['1234.5', 'scalePadded'], ['-9999999999.99', 'min'], NULL, ['0', 'zero']]),
    col('c_numeric_wide', 'numeric(38,10)', C.decimal38_10, [['1234567890123456789012345678.0123456789', 'wide'], ['-0.0000000001', 'tinyNegative'], NULL, ['0', 'zero']]),
    col('c_numeric_free', 'numeric', C.decimalUnbounded, [['3.14159265358979323846264338327950288419716939937510', 'pi'], ['-123.4500', 'trailingZeros'], NULL, ["'NaN'", 'nan']]),
    col('c_real', 'real', C.float32, [['1.1', 'typical'], ['3.4028235e38', 'max'], NULL, ["'-Infinity'", 'negativeInfinity']]),
    col('c_double', 'double precision', C.float64, [['0.30000000000000004', 'roundTrip'], ['-1.7976931348623157e308', 'negativeMax'], NULL, ['1e-7', 'tiny']]),
    col('c_boolean', 'boolean', C.boolean, [['true', 'true'], ['false', 'false'], NULL, ['false', 'false']]),
    col('c_text', 'text', C.text, [["'plain'", 'plain'], [`E'${TRICKY_TEXT.replaceAll('\n', '\\n').replaceAll('\r', '\\r')}'`, 'tricky'], NULL, ["''", 'empty']]),
    col('c_varchar', 'varchar(20)', C.text20, [["'a,b'", 'comma'], ["E'it''s ; tab\\there'", 'quoteAndTab'], NULL, ["''", 'empty']]),
    col('c_char', 'char(5)', C.char5, [["'ab'", 'padded'], ["'Zoë'", 'paddedUnicode'], NULL, ["''", 'blank']]),
    col('c_date', 'date', C.date, [["'2024-02-29'", 'leapDay'], ["'0001-01-01'", 'min'], NULL, ["'9999-12-31'", 'max']]),
    col('c_time', 'time', C.time, [["'13:45:10'", 'typical'], ["'23:59:59.999999'", 'maxMicros'], NULL, ["'00:00:00'", 'midnight']]),
    col('c_timetz', 'time with time zone', C.timeWithZone, [["'13:45:10+05:30'", 'india'], ["'00:00:00.5-08'", 'pacificHalf'], NULL, ["'12:00:00+00'", 'utcNoon']]),
    col('c_timestamp', 'timestamp(6)', C.timestamp, [
      ["'2024-02-29 13:45:10.123456'", 'leapMicros'], ["'0001-01-01 00:00:00'", 'min'], NULL, ["'1970-01-01 00:00:00.5'", 'epochHalf']]),
    col('c_timestamptz', 'timestamptz', C.timestamptz, [
      ["'2024-03-01 10:15:30.123456+05:30'", 'fromIndia'], ["'1999-12-31 23:59:59.999999-08:00'", 'fromPacificY2k'], NULL, ["'1970-01-01 05:30:00+05:30'", 'epoch']]),
    col('c_interval', 'interval', C.interval, [["'1 year 2 months 3 days 04:05:06.5'", 'full'], ["'-1 day'", 'negativeDay'], NULL, ["'0'", 'zero']]),
    col('c_uuid', 'uuid', C.uuid, [
      ["'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'", 'lowercased'], ["'ffffffff-ffff-ffff-ffff-ffffffffffff'", 'max'], NULL, ["'00000000-0000-0000-0000-000000000000'", 'nil']]),
    col('c_json', 'json', C.json, [[`'{"b": 1, "a": [1, 2]}'`, 'asWritten'], [`'"Zoë 🚀"'`, 'unicodeString'], NULL, ["'null'", 'null']]),
    col('c_jsonb', 'jsonb', C.json, [[`'{"b": 1, "a": [1, 2]}'`, 'normalised'], ["'[]'", 'emptyArray'], NULL, ["'{}'", 'emptyObject']]),
    col('c_bytea', 'bytea', C.binary, [["'\\xDEADBEEF'", 'deadbeef'], ["'\\x00ff'", 'zeroFF'], NULL, ["''", 'empty']]),
    col('c_int_array', 'integer[]', C.int32Array, [["'{1,2,NULL}'", 'withNull'], ["'{{1,2},{3,4}}'", 'twoDimensional'], NULL, ["'{}'", 'empty']]),
    col('c_text_array', 'text[]', C.textArray, [[`ARRAY['a,b', 'c"d', NULL, 'Zoë']`, 'awkward'], ["ARRAY['']", 'emptyString'], NULL, ["'{}'", 'empty']]),
    col('c_timestamptz_array', 'timestamptz[]', C.timestamptzArray, [
      ["ARRAY['2024-03-01 10:15:30+05:30'::timestamptz]", 'fromIndia'], ['ARRAY[NULL::timestamptz]', 'nullElement'], NULL, ["'{}'", 'empty']]),
    col('c_enum', 'mood', C.mood, [["'happy'", 'happy'], [sqlString(MOOD_LABELS[3]!), 'quotedLabel'], NULL, ["'sad'", 'sad']]),
    col('c_inet', 'inet', C.inet, [["'192.168.0.1/24'", 'network'], ["'::1'", 'ipv6Loopback'], NULL, ["'10.0.0.1'", 'host']]),
    col('c_money', 'money', C.pgMoney, [["'1234.56'", 'typical'], ["'-92233720368547758.08'", 'min'], NULL, ["'0'", 'zero']]),
    col('c_bit', 'bit(3)', C.pgBit3, [["B'101'", 'mixed'], ["B'000'", 'zeros'], NULL, ["B'111'", 'ones']]),
    col('c_point', 'point', C.pgPoint, [["'(1,2)'", 'typical'], ["'(-1.5,1e300)'", 'extreme'], NULL, ["'(0,0)'", 'origin']]),
  ];
  return build(table, columns, [`CREATE TYPE mood AS ENUM (${MOOD_LABELS.map(sqlString).join(', ')})`], pgQuote, '');
}

const myQuote = (name: string) => `\`${name.replaceAll('`', '``')}\``;

/**
 * MySQL/MariaDB: every logical kind the source has. TIMESTAMP values are
 * inserted in a +05:30 session, so they come back shifted to UTC.
 */
export function mysqlAllTypes(flavour: 'mariadb' | 'mysql', table = 'all_types'): SourceCase {
  const myText = TRICKY_TEXT.replaceAll('\\', '\\\\').replaceAll("'", "''").replaceAll('\n', '\\n').replaceAll('\r', '\\r');
  const columns = [
    col('c_tinyint', 'tinyint', C.int8, [['12', 'typical'], ['-128', 'min'], NULL, ['127', 'max']]),
    col('c_bool', 'tinyint(1)', C.int8, [['1', 'one'], ['0', 'zero'], NULL, ['2', 'two']]),
    col('c_smallint', 'smallint', C.int16, [['12', 'typical'], ['-32768', 'min'], NULL, ['32767', 'max']]),
    col('c_mediumint', 'mediumint', C.int32, [['-42', 'negative'], ['-8388608', 'mediumMin'], NULL, ['8388607', 'mediumMax']]),
    col('c_int', 'int', C.int32, [['-42', 'negative'], ['-2147483648', 'min'], NULL, ['2147483647', 'max']]),
    col('c_bigint', 'bigint', C.int64, [['1234567890123', 'typical'], ['-9223372036854775808', 'min'], NULL, ['9223372036854775807', 'max']]),
    col('c_utinyint', 'tinyint unsigned', C.uint8, [['7', 'small'], ['255', 'max'], NULL, ['0', 'zero']]),
    col('c_usmallint', 'smallint unsigned', C.uint16, [['7', 'small'], ['65535', 'max'], NULL, ['0', 'zero']]),
    col('c_umediumint', 'mediumint unsigned', C.uint32, [['7', 'small'], ['16777215', 'mediumMax'], NULL, ['0', 'zero']]),
    col('c_uint', 'int unsigned', C.uint32, [['7', 'small'], ['4294967295', 'max'], NULL, ['0', 'zero']]),
    col('c_ubigint', 'bigint unsigned', C.uint64, [['7', 'small'], ['18446744073709551615', 'max'], NULL, ['0', 'zero']]),
    col('c_zerofill', 'int(6) unsigned zerofill', C.uint32, [['42', 'unpadded'], ['4294967295', 'max'], NULL, ['0', 'zero']]),
    col('c_decimal', 'decimal(12,2)', C.decimal12_2, [['1234.5', 'scalePadded'], ['-9999999999.99', 'min'], NULL, ['0', 'zero']]),
    col('c_decimal_wide', 'decimal(38,10)', C.decimal38_10, [['1234567890123456789012345678.0123456789', 'wide'], ['-0.0000000001', 'tinyNegative'], NULL, ['0', 'zero']]),
    col('c_float', 'float', C.float32, [['1.1', 'typical'], ['3.4028234e38', 'max'], NULL, ['1e-7', 'tiny']]),
    col('c_double', 'double', C.float64, [['0.30000000000000004e0', 'roundTrip'], ['-1.7976931348623157e308', 'negativeMax'], NULL, ['1e15', 'exponentAt15']]),
    col('c_bit1', 'bit(1)', C.boolean, [["b'1'", 'true'], ["b'0'", 'false'], NULL, ["b'0'", 'false']]),
    col('c_bit8', 'bit(8)', C.mysqlBit8, [["b'101'", 'padded'], ["b'11111111'", 'ones'], NULL, ["b'0'", 'zeros']]),
    // MySQL and MariaDB strip CHAR's trailing spaces when it is read.
    col('c_char', 'char(5)', C.char5, [["'ab'", 'stripped'], ["'Zoë'", 'strippedUnicode'], NULL, ["''", 'strippedBlank']]),
    col('c_varchar', 'varchar(20)', C.text20, [["'a,b'", 'comma'], ["'it''s ; tab\\there'", 'quoteAndTab'], NULL, ["''", 'empty']]),
    col('c_text', 'text', C.text, [["'plain'", 'plain'], [`'${myText}'`, 'tricky'], NULL, ["''", 'empty']]),
    col('c_enum', `enum(${MOOD_LABELS.map(sqlString).join(',')})`, C.mood, [["'happy'", 'happy'], [sqlString(MOOD_LABELS[3]!), 'quotedLabel'], NULL, ["'sad'", 'sad']]),
    col('c_set', "set('a','b','c')", C.mysqlSet, [["'c,a'", 'reordered'], ["''", 'empty'], NULL, ["'b'", 'one']]),
    col('c_date', 'date', C.date, [["'2024-02-29'", 'leapDay'], ["'1000-01-01'", 'mysqlMin'], NULL, ["'9999-12-31'", 'max']]),
    col('c_time', 'time(6)', C.time, [["'13:45:10'", 'typical'], ["'23:59:59.999999'", 'maxMicros'], NULL, ["'00:00:00'", 'midnight']]),
    col('c_datetime', 'datetime(6)', C.timestamp, [
      ["'2024-02-29 13:45:10.123456'", 'leapMicros'], ["'1000-01-01 00:00:00'", 'mysqlMin'], NULL, ["'1970-01-01 00:00:00.5'", 'epochHalf']]),
    col('c_timestamp', 'timestamp(6) NULL', C.timestamptz, [
      ["'2024-03-01 10:15:30.123456'", 'fromIndia'], ["'2038-01-19 08:44:07.999999'", 'y2038'], NULL, ["'1970-01-01 05:30:01'", 'epochPlusSecond']]),
    col('c_year', 'year', C.int16, [['2024', 'year'], ['1901', 'yearMin'], NULL, ['2155', 'yearMax']]),
    // MySQL normalises JSON documents (keys sorted); MariaDB keeps the text as written.
    col('c_json', 'json', C.json, [[`'{"b": 1, "a": [1, 2]}'`, flavour === 'mariadb' ? 'asWritten' : 'normalised'], [`'"Zoë 🚀"'`, 'unicodeString'], NULL, ["'null'", 'null']]),
    col('c_binary', 'binary(4)', C.binary, [["x'DEADBEEF'", 'deadbeef'], ["x'00'", 'fourZeros'], NULL, ["''", 'fourZeros']]),
    col('c_varbinary', 'varbinary(10)', C.binary, [["x'00FF'", 'zeroFF'], ["x'0A0D2C22'", 'crlfCommaQuote'], NULL, ["''", 'empty']]),
    col('c_blob', 'blob', C.binary, [["x'DEADBEEF'", 'deadbeef'], ["x'00'", 'zeroByte'], NULL, ["''", 'empty']]),
    col('c_point', 'point', C.mysqlPoint, [['POINT(1, 2)', 'typical'], ['POINT(-1.5, 2.25)', 'fractional'], NULL, ['POINT(0, 0)', 'origin']]),
    ...(flavour === 'mariadb'
      ? [
          col('c_uuid', 'uuid', C.uuid, [
            ["'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'", 'lowercased'], ["'ffffffff-ffff-ffff-ffff-ffffffffffff'", 'max'], NULL, ["'00000000-0000-0000-0000-000000000000'", 'nil']]),
          col('c_inet6', 'inet6', C.mariadbInet6, [["'::1'", 'loopback'], ["'2001:db8::ff00:42:8329'", 'compressed'], NULL, ["'::ffff:192.168.0.1'", 'mappedIpv4']]),
        ]
      : []),
  ];
  return build(table, columns, ["SET time_zone = '+05:30'"], myQuote, ' CHARACTER SET utf8mb4');
}

/** The columns of a case as a destination sees them: name, logical type, canonical values by row. */
export function logicalColumns(source: SourceCase): Array<{ name: string; logical: LogicalType; values: Array<string | null> }> {
  return source.columns.map((c) => ({ name: c.name, logical: c.logical, values: c.rows.map((r) => r[1]) }));
}
