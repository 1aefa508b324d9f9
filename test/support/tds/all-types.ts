/**
 * The SQL Server all-types case table: one table holding every SQL Server type
 * the publisher maps, with a typical row, a row of extremes (unicode, quotes,
 * commas, newlines, min/max numbers, zoned and 100 ns times), a row of NULLs
 * and a row of empties and zeros; for every value, what the double holds (see
 * sqlserver-model.ts) and the case value (../type-cases.ts) whose canonical
 * text extraction must produce.
 */
import type { LogicalType } from '../../../lib/types/logical.js';
import { toCsv } from '../csv-text.js';
import { CASES as C, TRICKY_TEXT, resolve, type Cell, type TypeCase } from '../type-cases.js';
import type { SqlServerTable } from './sqlserver-model.js';

export { TRICKY_TEXT };

export interface MssqlCaseColumn {
  name: string;
  /** The DDL type the double declares. */
  type: string;
  /** The datatype metadata reports. */
  datatype: string;
  logical: LogicalType;
  /** Per row: the value the double holds, and the expected canonical text (null: NULL). */
  rows: Array<[unknown, string | null]>;
  /** The case the expected texts come from, and the value names by row (absent: the row key). */
  typeCase?: TypeCase;
  values?: Array<string | null>;
}

const NULL = null;
const hex = (h: string) => Buffer.from(h, 'hex');

function col<K extends string>(name: string, type: string, datatype: string, typeCase: TypeCase<K>, cells: Array<Cell<unknown, K>>): MssqlCaseColumn {
  if (cells.length !== 4) throw new Error(`case column ${name} has ${cells.length} rows`);
  const r = resolve(name, typeCase, cells, null);
  return { name, type, datatype, logical: typeCase.logical, rows: r.held.map((held, i) => [held, r.texts[i]!]), typeCase, values: r.values };
}

export const MSSQL_ALL_TYPES_COLUMNS: MssqlCaseColumn[] = [
  { name: 'id', type: 'int', datatype: 'int', logical: { kind: 'int32' }, rows: [[1, '1'], [2, '2'], [3, '3'], [4, '4']] },
  col('c_bit', 'bit', 'bit', C.boolean, [[true, 'true'], [false, 'false'], NULL, [false, 'false']]),
  col('c_tinyint', 'tinyint', 'tinyint', C.uint8, [[12, 'typical'], [255, 'max'], NULL, [0, 'zero']]),
  col('c_smallint', 'smallint', 'smallint', C.int16, [[12, 'typical'], [-32768, 'min'], NULL, [32767, 'max']]),
  col('c_int', 'int', 'int', C.int32, [[-42, 'negative'], [-2147483648, 'min'], NULL, [2147483647, 'max']]),
  col('c_bigint', 'bigint', 'bigint', C.int64, [[1234567890123n, 'typical'], [-9223372036854775808n, 'min'], NULL, [9223372036854775807n, 'max']]),
  col('c_decimal', 'decimal(12,2)', 'decimal(12,2)', C.decimal12_2, [['1234.5', 'scalePadded'], ['-9999999999.99', 'min'], NULL, ['0', 'zero']]),
  col('c_numeric_wide', 'numeric(38,10)', 'numeric(38,10)', C.decimal38_10, [
    ['1234567890123456789012345678.0123456789', 'wide'], ['-0.0000000001', 'tinyNegative'], NULL, ['0', 'zero']]),
  col('c_money', 'money', 'money', C.decimal19_4, [['1234.56', 'scalePadded'], ['-922337203685477.5808', 'min'], NULL, ['0', 'zero']]),
  col('c_smallmoney', 'smallmoney', 'smallmoney', C.decimal10_4, [['12.3456', 'typical'], ['-214748.3648', 'min'], NULL, ['0', 'zero']]),
  col('c_float', 'float', 'float', C.float64, [[0.30000000000000004, 'roundTrip'], [-1.7976931348623157e308, 'negativeMax'], NULL, [1e-7, 'tiny']]),
  col('c_real', 'real', 'real', C.float32, [[Math.fround(1.1), 'typical'], [Math.fround(3.4028235e38), 'max'], NULL, [0.5, 'half']]),
  col('c_char', 'char(5)', 'char(5)', C.char5, [['ab   ', 'padded'], ['Zoë  ', 'paddedUnicode'], NULL, ['     ', 'blank']]),
  col('c_varchar', 'varchar(20)', 'varchar(20)', C.text20, [['a,b', 'comma'], ["it's ; tab\there", 'quoteAndTab'], NULL, ['', 'empty']]),
  col('c_varchar_max', 'varchar(max)', 'varchar(max)', C.text, [['plain', 'plain'], ['x'.repeat(9000), 'beyondPage'], NULL, ['', 'empty']]),
  col('c_nchar', 'nchar(3)', 'nchar(3)', C.char3, [['xyz', 'full'], ['Zoë', 'unicode'], NULL, ['   ', 'blank']]),
  col('c_nvarchar', 'nvarchar(50)', 'nvarchar(50)', C.text50, [['a,b', 'comma'], ['Zoë 🚀', 'unicode'], NULL, ['', 'empty']]),
  col('c_nvarchar_max', 'nvarchar(max)', 'nvarchar(max)', C.text, [['plain', 'plain'], [TRICKY_TEXT, 'tricky'], NULL, ['', 'empty']]),
  col('c_text', 'text', 'text', C.text, [['legacy', 'legacy'], ['a "b", c', 'quotesAndComma'], NULL, ['', 'empty']]),
  col('c_ntext', 'ntext', 'ntext', C.text, [['Zoë 🚀', 'unicode'], ['\\.', 'backslashDot'], NULL, ['', 'empty']]),
  col('c_date', 'date', 'date', C.date, [['2024-02-29', 'leapDay'], ['0001-01-01', 'min'], NULL, ['9999-12-31', 'max']]),
  col('c_time', 'time(7)', 'time(7)', C.time, [['13:45:10', 'typical'], ['23:59:59.9999999', 'max100ns'], NULL, ['00:00:00.5', 'half']]),
  col('c_time0', 'time(0)', 'time(0)', C.time, [['13:45:10', 'typical'], ['23:59:59', 'maxSeconds'], NULL, ['00:00:00', 'midnight']]),
  col('c_datetime2', 'datetime2(6)', 'datetime2(6)', C.timestamp, [
    ['2024-02-29 13:45:10.123456', 'leapMicros'], ['0001-01-01 00:00:00', 'min'], NULL, ['1970-01-01 00:00:00.5', 'epochHalf']]),
  col('c_datetime2_7', 'datetime2', 'datetime2(7)', C.timestamp, [
    ['2024-02-29 13:45:10.1234567', 'leap100ns'], ['9999-12-31 23:59:59.9999999', 'max100ns'], NULL, ['2000-01-01 00:00:00', 'y2k']]),
  col('c_datetime', 'datetime', 'datetime', C.timestamp, [
    ['2024-02-29 13:45:10.123', 'leapMillis'], ['1753-01-01 00:00:00', 'datetimeMin'], NULL, ['9999-12-31 23:59:59.997', 'datetimeMax']]),
  col('c_smalldatetime', 'smalldatetime', 'smalldatetime', C.timestamp, [
    ['2024-02-29 13:45:00', 'leapMinute'], ['1900-01-01 00:00:00', 'smalldatetimeMin'], NULL, ['2079-06-06 23:59:00', 'smalldatetimeMax']]),
  col('c_datetimeoffset', 'datetimeoffset(7)', 'datetimeoffset(7)', C.timestamptz, [
    ['2024-03-01 10:15:30.123456 +05:30', 'fromIndia'], ['1999-12-31 23:59:59.9999999 -08:00', 'fromPacificY2k100ns'], NULL, ['1970-01-01 05:30:00 +05:30', 'epoch']]),
  col('c_uuid', 'uniqueidentifier', 'uniqueidentifier', C.uuid, [
    ['A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 'lowercased'], ['FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', 'max'], NULL, ['00000000-0000-0000-0000-000000000000', 'nil']]),
  col('c_binary', 'binary(4)', 'binary(4)', C.binary, [[hex('deadbeef'), 'deadbeef'], [hex('00000000'), 'fourZeros'], NULL, [hex('00ff0000'), 'padded']]),
  col('c_varbinary', 'varbinary(10)', 'varbinary(10)', C.binary, [[hex('00ff'), 'zeroFF'], [hex('0a0d2c22'), 'crlfCommaQuote'], NULL, [hex(''), 'empty']]),
  col('c_varbinary_max', 'varbinary(max)', 'varbinary(max)', C.binary, [[hex('deadbeef'), 'deadbeef'], [Buffer.alloc(9000, 0xab), 'beyondPage'], NULL, [hex(''), 'empty']]),
  col('c_image', 'image', 'image', C.binary, [[hex('cafe'), 'cafe'], [hex('00'), 'zeroByte'], NULL, [hex(''), 'empty']]),
  col('c_rowversion', 'timestamp', 'timestamp', C.binary, [
    [hex('00000000000007d1'), 'rowversion1'], [hex('00000000000007d2'), 'rowversion2'], [hex('00000000000007d3'), 'rowversion3'], [hex('00000000000007d4'), 'rowversion4']]),
  // SQL Server 2025's json type keeps the document as written.
  col('c_json', 'json', 'json', C.json, [['{"b": 1, "a": [1, 2]}', 'asWritten'], ['"Zoë 🚀"', 'unicodeString'], NULL, ['null', 'null']]),
  col('c_xml', 'xml', 'xml', C.mssqlXml, [['<a b="1">x</a>', 'element'], ['<z/>', 'empty'], NULL, ['', 'nothing']]),
  col('c_hierarchyid', 'hierarchyid', 'hierarchyid', C.mssqlHierarchyid, [['/1/2/', 'path'], ['/', 'root'], NULL, ['/3/', 'child']]),
  col('c_geography', 'geography', 'geography', C.mssqlGeography, [['POINT (1 2)', 'point'], ['LINESTRING (-1.5 2.25, 3 4)', 'line'], NULL, ['POINT (0 0)', 'origin']]),
];

/** The all-types table as the double holds it. */
export function mssqlAllTypesTable(name = 'all_types'): SqlServerTable {
  return {
    name,
    description: 'Every SQL Server type the publisher maps',
    columns: MSSQL_ALL_TYPES_COLUMNS.map((c) => ({ name: c.name, type: c.type, ...(c.name === 'id' ? { nullable: false, description: 'Row key' } : {}) })),
    primaryKey: ['id'],
    rows: [0, 1, 2, 3].map((r) => MSSQL_ALL_TYPES_COLUMNS.map((c) => c.rows[r]![0])),
  };
}

/** The exact CSV extraction must produce for {@link mssqlAllTypesTable}. */
export const MSSQL_ALL_TYPES_CSV = toCsv(
  MSSQL_ALL_TYPES_COLUMNS.map((c) => c.name),
  [0, 1, 2, 3].map((r) => MSSQL_ALL_TYPES_COLUMNS.map((c) => c.rows[r]![1])),
);
