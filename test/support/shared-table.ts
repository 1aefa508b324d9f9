/**
 * The table the four-sources end-to-end test loads into every source: each
 * logical type the four sources have in common, its type on each source, and
 * per row the value each source is loaded with and the case value
 * (type-cases.ts) whose canonical text every source must extract. DIFFERENCES
 * lists the only ways a source's package may differ from PostgreSQL's.
 */
import { CASES as C, TRICKY_TEXT, resolve, type Cell, type TypeCase } from './type-cases.js';

/** The sources with a type of their own (both Databricks reads share Databricks'). */
export type SharedKind = 'postgresql' | 'mariadb' | 'mssql' | 'databrickssql';

/** How each source is loaded with one value: the SQL literal (PostgreSQL, MariaDB), the value its double holds (SQL Server, Databricks). */
export interface Load {
  pg: string;
  my: string;
  mssql: unknown;
  dbx: unknown;
}

/**
 * One shared column: its type on each source (absent: the source has no such
 * type), per row the value to load and the canonical text every source
 * extracts.
 */
export interface SharedColumn {
  name: string;
  types: Partial<Record<SharedKind, string>>;
  /** Databricks type_name for the double. */
  dbxTypeName?: string;
  rows: Array<Load & { text: string | null }>;
  /** The SQL Server column's collation, when not the database default. */
  mssqlCollation?: string;
  /** The case the texts come from, and the value names by row (absent: the row key). */
  typeCase?: TypeCase;
  values?: Array<string | null>;
}

const NULL = null;
const NULL_LOAD: Load = { pg: 'NULL', my: 'NULL', mssql: null, dbx: null };
/** The same literal on PostgreSQL and MariaDB; SQL Server and Databricks hold `mssql` (by default the literal) and `dbx` (by default as SQL Server). */
const same = (literal: string, mssql: unknown = literal, dbx: unknown = mssql): Load => ({ pg: literal, my: literal, mssql, dbx });
const hex = (h: string) => Buffer.from(h, 'hex');

function shared<K extends string>(
  name: string,
  types: SharedColumn['types'],
  dbxTypeName: string | undefined,
  typeCase: TypeCase<K>,
  cells: Array<Cell<Load, K>>,
  mssqlCollation?: string,
): SharedColumn {
  const r = resolve(name, typeCase, cells, NULL_LOAD);
  return {
    name,
    types,
    ...(dbxTypeName ? { dbxTypeName } : {}),
    rows: r.held.map((load, i) => ({ ...load, text: r.texts[i]! })),
    ...(mssqlCollation ? { mssqlCollation } : {}),
    typeCase,
    values: r.values,
  };
}

const myText = (text: string) => `'${text.replaceAll('\\', '\\\\').replaceAll("'", "''").replaceAll('\n', '\\n').replaceAll('\r', '\\r')}'`;
const pgText = (text: string) => `E'${text.replaceAll("'", "''").replaceAll('\n', '\\n').replaceAll('\r', '\\r')}'`;

export const COLUMNS: SharedColumn[] = [
  {
    name: 'id', types: { postgresql: 'integer', mariadb: 'int', mssql: 'int', databrickssql: 'int' }, dbxTypeName: 'INT',
    rows: [1, 2, 3, 4].map((n) => ({ ...same(String(n), n), text: String(n) })),
  },
  shared('c_tinyint', { postgresql: 'smallint', mariadb: 'tinyint', mssql: 'tinyint', databrickssql: 'tinyint' }, 'BYTE', C.int8,
    [[same('12', 12), 'typical'], [same('0', 0), 'zero'], NULL, [same('127', 127), 'max']]),
  shared('c_smallint', { postgresql: 'smallint', mariadb: 'smallint', mssql: 'smallint', databrickssql: 'smallint' }, 'SHORT', C.int16,
    [[same('12', 12), 'typical'], [same('-32768', -32768), 'min'], NULL, [same('32767', 32767), 'max']]),
  shared('c_int', { postgresql: 'integer', mariadb: 'int', mssql: 'int', databrickssql: 'int' }, 'INT', C.int32,
    [[same('-42', -42), 'negative'], [same('-2147483648', -2147483648), 'min'], NULL, [same('2147483647', 2147483647), 'max']]),
  shared('c_bigint', { postgresql: 'bigint', mariadb: 'bigint', mssql: 'bigint', databrickssql: 'bigint' }, 'LONG', C.int64, [
    [same('1234567890123', 1234567890123n), 'typical'], [same('-9223372036854775808', -9223372036854775808n), 'min'], NULL,
    [same('9223372036854775807', 9223372036854775807n), 'max']]),
  shared('c_decimal', { postgresql: 'numeric(12,2)', mariadb: 'decimal(12,2)', mssql: 'decimal(12,2)', databrickssql: 'decimal(12,2)' }, 'DECIMAL', C.decimal12_2,
    [[same('1234.5'), 'scalePadded'], [same('-9999999999.99'), 'min'], NULL, [same('0'), 'zero']]),
  shared('c_decimal_wide', { postgresql: 'numeric(38,10)', mariadb: 'decimal(38,10)', mssql: 'numeric(38,10)', databrickssql: 'decimal(38,10)' }, 'DECIMAL', C.decimal38_10,
    [[same('1234567890123456789012345678.0123456789'), 'wide'], [same('-0.0000000001'), 'tinyNegative'], NULL, [same('0'), 'zero']]),
  shared('c_real', { postgresql: 'real', mariadb: 'float', mssql: 'real', databrickssql: 'float' }, 'FLOAT', C.float32,
    [[same('1.1', Math.fround(1.1)), 'typical'], [same('-2.5', -2.5), 'negative'], NULL, [same('0.5', 0.5), 'half']]),
  shared('c_double', { postgresql: 'double precision', mariadb: 'double', mssql: 'float', databrickssql: 'double' }, 'DOUBLE', C.float64, [
    [same('0.30000000000000004e0', 0.30000000000000004), 'roundTrip'], [same('-1.7976931348623157e308', -1.7976931348623157e308), 'negativeMax'], NULL,
    [same('1e-7', 1e-7), 'tiny']]),
  shared('c_boolean', { postgresql: 'boolean', mariadb: 'bit(1)', mssql: 'bit', databrickssql: 'boolean' }, 'BOOLEAN', C.boolean, [
    [{ pg: 'true', my: "b'1'", mssql: true, dbx: true }, 'true'], [{ pg: 'false', my: "b'0'", mssql: false, dbx: false }, 'false'], NULL,
    [{ pg: 'false', my: "b'0'", mssql: false, dbx: false }, 'false']]),
  shared('c_char', { postgresql: 'char(5)', mariadb: 'char(5)', mssql: 'nchar(5)', databrickssql: 'char(5)' }, 'CHAR', C.char5,
    [[same("'ab'", 'ab   '), 'padded'], [same("'Zoë'", 'Zoë  '), 'paddedUnicode'], NULL, [same("''", '     '), 'blank']]),
  shared('c_varchar', { postgresql: 'varchar(20)', mariadb: 'varchar(20)', mssql: 'varchar(20)', databrickssql: 'varchar(20)' }, 'STRING', C.text20, [
    [same("'a,b'", 'a,b'), 'comma'], [{ pg: "E'it''s ; tab\\there'", my: "'it''s ; tab\\there'", mssql: "it's ; tab\there", dbx: "it's ; tab\there" }, 'quoteAndTab'], NULL,
    [same("''", ''), 'empty']]),
  shared('c_text', { postgresql: 'text', mariadb: 'text', mssql: 'varchar(max)', databrickssql: 'string' }, 'STRING', C.text, [
    [same("'plain'", 'plain'), 'plain'], [{ pg: pgText(TRICKY_TEXT), my: myText(TRICKY_TEXT), mssql: TRICKY_TEXT, dbx: TRICKY_TEXT }, 'tricky'], NULL,
    [same("''", ''), 'empty']], 'Latin1_General_100_CI_AS_SC_UTF8'),
  ...([
    ['c_cyrillic', undefined, ['cyrillic', 'cyrillicMarks']],
    ['c_chinese', 'Chinese_PRC_CI_AS', ['chinese', 'chineseQuotes']],
    ['c_japanese', 'Japanese_CI_AS', ['japanese', 'halfwidthKana']],
    ['c_greek', 'Greek_CI_AS', ['greek', 'greekMarks']],
  ] as const).map(([name, collation, [a, b]]) => {
    const load = (key: typeof a | typeof b) => { const text = C.text.values[key].text; return same(`'${text}'`, text); };
    return shared(name, { postgresql: 'text', mariadb: 'varchar(60)', mssql: 'varchar(60)', databrickssql: 'string' }, 'STRING', C.text,
      [[load(a), a], [load(b), b], NULL, [same("''", ''), 'empty']], collation);
  }),
  shared('c_date', { postgresql: 'date', mariadb: 'date', mssql: 'date', databrickssql: 'date' }, 'DATE', C.date,
    [[same("'2024-02-29'", '2024-02-29'), 'leapDay'], [same("'1000-01-01'", '1000-01-01'), 'mysqlMin'], NULL, [same("'9999-12-31'", '9999-12-31'), 'max']]),
  shared('c_time', { postgresql: 'time', mariadb: 'time(6)', mssql: 'time(6)' }, undefined, C.time,
    [[same("'13:45:10'", '13:45:10'), 'typical'], [same("'23:59:59.999999'", '23:59:59.999999'), 'maxMicros'], NULL, [same("'00:00:00'", '00:00:00'), 'midnight']]),
  shared('c_timestamp', { postgresql: 'timestamp(6)', mariadb: 'datetime(6)', mssql: 'datetime2(6)', databrickssql: 'timestamp_ntz' }, 'TIMESTAMP_NTZ', C.timestamp, [
    [same("'2024-02-29 13:45:10.123456'", '2024-02-29 13:45:10.123456'), 'leapMicros'], [same("'1000-01-01 00:00:00'", '1000-01-01 00:00:00'), 'mysqlMin'], NULL,
    [same("'1970-01-01 00:00:00.5'", '1970-01-01 00:00:00.5'), 'epochHalf']]),
  // MariaDB's TIMESTAMP runs from 1970 to 2038 and is loaded in a UTC session.
  shared('c_timestamptz', { postgresql: 'timestamptz', mariadb: 'timestamp(6) NULL', mssql: 'datetimeoffset(6)', databrickssql: 'timestamp' }, 'TIMESTAMP', C.timestamptz, [
    [{ pg: "'2024-03-01 10:15:30.123456+05:30'", my: "'2024-03-01 04:45:30.123456'", mssql: '2024-03-01 10:15:30.123456 +05:30', dbx: '2024-03-01T10:15:30.123456+05:30' }, 'fromIndia'],
    [{ pg: "'2038-01-19 03:14:07.999999+00'", my: "'2038-01-19 03:14:07.999999'", mssql: '2038-01-18 19:14:07.999999 -08:00', dbx: '2038-01-19T03:14:07.999999Z' }, 'y2038'],
    NULL,
    [{ pg: "'1970-01-01 00:00:01+00'", my: "'1970-01-01 00:00:01'", mssql: '1970-01-01 05:30:01 +05:30', dbx: '1970-01-01T00:00:01Z' }, 'epochPlusSecond'],
  ]),
  shared('c_binary', { postgresql: 'bytea', mariadb: 'varbinary(16)', mssql: 'varbinary(16)', databrickssql: 'binary' }, 'BINARY', C.binary, [
    [{ pg: "'\\xdeadbeef'", my: "x'DEADBEEF'", mssql: hex('deadbeef'), dbx: hex('deadbeef') }, 'deadbeef'],
    [{ pg: "'\\x00ff'", my: "x'00FF'", mssql: hex('00ff'), dbx: hex('00ff') }, 'zeroFF'],
    NULL,
    [{ pg: "''", my: "x''", mssql: hex(''), dbx: hex('') }, 'empty'],
  ]),
  shared('c_uuid', { postgresql: 'uuid', mariadb: 'uuid', mssql: 'uniqueidentifier', databrickssql: 'string' }, 'STRING', C.uuid, [
    [{ ...same("'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'", 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'), dbx: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11' }, 'lowercased'],
    [same("'ffffffff-ffff-ffff-ffff-ffffffffffff'", 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', 'ffffffff-ffff-ffff-ffff-ffffffffffff'), 'max'],
    NULL,
    [same("'00000000-0000-0000-0000-000000000000'", '00000000-0000-0000-0000-000000000000'), 'nil'],
  ]),
];

/**
 * The documented differences between the sources: the only ways a package of
 * the shared table may differ from PostgreSQL's. Everything not listed here
 * must be identical, in the CSV bytes and in the DuckDB types and values.
 */
export const DIFFERENCES: Array<{ source: SharedKind; column: string; csv?: 'absent' | Array<string | null>; duckdb?: string | 'absent'; why: string }> = [
  { source: 'postgresql', column: 'c_tinyint', duckdb: 'SMALLINT', why: 'PostgreSQL has no 1-byte integer: the column is smallint (int16)' },
  { source: 'mssql', column: 'c_tinyint', duckdb: 'UTINYINT', why: "SQL Server's tinyint is unsigned (0–255): uint8" },
  {
    source: 'mariadb', column: 'c_char', csv: (['stripped', 'strippedUnicode', null, 'strippedBlank'] as const).map((k) => (k === null ? null : C.char5.values[k].text)),
    why: 'MySQL and MariaDB strip the trailing spaces of CHAR(n) when read',
  },
  { source: 'databrickssql', column: 'c_time', csv: 'absent', duckdb: 'absent', why: 'Databricks has no TIME type' },
  { source: 'databrickssql', column: 'c_uuid', duckdb: 'VARCHAR', why: 'Databricks has no UUID type: identifiers are held as STRING, extracted as the same text' },
];
