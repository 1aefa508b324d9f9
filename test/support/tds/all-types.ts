/**
 * The SQL Server all-types case table: one table holding every SQL Server type
 * the publisher maps, with a typical row, a row of extremes (unicode, quotes,
 * commas, newlines, min/max numbers, zoned and 100 ns times), a row of NULLs
 * and a row of empties and zeros; for every value, what the double holds (see
 * sqlserver-model.ts) and the canonical text extraction must produce.
 */
import type { LogicalType } from '../../../lib/types/logical.js';
import { toCsv } from '../csv-text.js';
import type { SqlServerTable } from './sqlserver-model.js';

export interface MssqlCaseColumn {
  name: string;
  /** The DDL type the double declares. */
  type: string;
  /** The datatype metadata reports. */
  datatype: string;
  logical: LogicalType;
  /** Per row: the value the double holds, and the expected canonical text (null: NULL). */
  rows: Array<[unknown, string | null]>;
}

export const TRICKY_TEXT = 'Zoë 🚀 ñ, "quoted"\nnew line\r\nand, commas';
const NULL: [null, null] = [null, null];
const hex = (h: string) => Buffer.from(h, 'hex');

function col(name: string, type: string, datatype: string, logical: LogicalType, rows: Array<[unknown, string | null]>): MssqlCaseColumn {
  if (rows.length !== 4) throw new Error(`case column ${name} has ${rows.length} rows`);
  return { name, type, datatype, logical, rows };
}

export const MSSQL_ALL_TYPES_COLUMNS: MssqlCaseColumn[] = [
  col('id', 'int', 'int', { kind: 'int32' }, [[1, '1'], [2, '2'], [3, '3'], [4, '4']]),
  col('c_bit', 'bit', 'bit', { kind: 'boolean' }, [[true, 'true'], [false, 'false'], NULL, [false, 'false']]),
  col('c_tinyint', 'tinyint', 'tinyint', { kind: 'uint8' }, [[12, '12'], [255, '255'], NULL, [0, '0']]),
  col('c_smallint', 'smallint', 'smallint', { kind: 'int16' }, [[12, '12'], [-32768, '-32768'], NULL, [32767, '32767']]),
  col('c_int', 'int', 'int', { kind: 'int32' }, [[-42, '-42'], [-2147483648, '-2147483648'], NULL, [2147483647, '2147483647']]),
  col('c_bigint', 'bigint', 'bigint', { kind: 'int64' }, [[1234567890123n, '1234567890123'], [-9223372036854775808n, '-9223372036854775808'], NULL, [9223372036854775807n, '9223372036854775807']]),
  col('c_decimal', 'decimal(12,2)', 'decimal(12,2)', { kind: 'decimal', precision: 12, scale: 2 }, [['1234.5', '1234.50'], ['-9999999999.99', '-9999999999.99'], NULL, ['0', '0.00']]),
  col('c_numeric_wide', 'numeric(38,10)', 'numeric(38,10)', { kind: 'decimal', precision: 38, scale: 10 }, [
    ['1234567890123456789012345678.0123456789', '1234567890123456789012345678.0123456789'], ['-0.0000000001', '-0.0000000001'], NULL, ['0', '0.0000000000']]),
  col('c_money', 'money', 'money', { kind: 'decimal', precision: 19, scale: 4 }, [['1234.56', '1234.5600'], ['-922337203685477.5808', '-922337203685477.5808'], NULL, ['0', '0.0000']]),
  col('c_smallmoney', 'smallmoney', 'smallmoney', { kind: 'decimal', precision: 10, scale: 4 }, [['12.3456', '12.3456'], ['-214748.3648', '-214748.3648'], NULL, ['0', '0.0000']]),
  col('c_float', 'float', 'float', { kind: 'float64' }, [[0.30000000000000004, '0.30000000000000004'], [-1.7976931348623157e308, '-1.7976931348623157e+308'], NULL, [1e-7, '1e-07']]),
  col('c_real', 'real', 'real', { kind: 'float32' }, [[Math.fround(1.1), '1.1'], [Math.fround(3.4028235e38), '3.4028235e+38'], NULL, [0.5, '0.5']]),
  col('c_char', 'char(5)', 'char(5)', { kind: 'text', length: 5 }, [['ab   ', 'ab   '], ['Zoë  ', 'Zoë  '], NULL, ['     ', '     ']]),
  col('c_varchar', 'varchar(20)', 'varchar(20)', { kind: 'text', length: 20 }, [['a,b', 'a,b'], ["it's ; tab\there", "it's ; tab\there"], NULL, ['', '']]),
  col('c_varchar_max', 'varchar(max)', 'varchar(max)', { kind: 'text' }, [['plain', 'plain'], ['x'.repeat(9000), 'x'.repeat(9000)], NULL, ['', '']]),
  col('c_nchar', 'nchar(3)', 'nchar(3)', { kind: 'text', length: 3 }, [['xyz', 'xyz'], ['Zoë', 'Zoë'], NULL, ['   ', '   ']]),
  col('c_nvarchar', 'nvarchar(50)', 'nvarchar(50)', { kind: 'text', length: 50 }, [['a,b', 'a,b'], ['Zoë 🚀', 'Zoë 🚀'], NULL, ['', '']]),
  col('c_nvarchar_max', 'nvarchar(max)', 'nvarchar(max)', { kind: 'text' }, [['plain', 'plain'], [TRICKY_TEXT, TRICKY_TEXT], NULL, ['', '']]),
  col('c_text', 'text', 'text', { kind: 'text' }, [['legacy', 'legacy'], ['a "b", c', 'a "b", c'], NULL, ['', '']]),
  col('c_ntext', 'ntext', 'ntext', { kind: 'text' }, [['Zoë 🚀', 'Zoë 🚀'], ['\\.', '\\.'], NULL, ['', '']]),
  col('c_date', 'date', 'date', { kind: 'date' }, [['2024-02-29', '2024-02-29'], ['0001-01-01', '0001-01-01'], NULL, ['9999-12-31', '9999-12-31']]),
  col('c_time', 'time(7)', 'time(7)', { kind: 'time', withZone: false }, [['13:45:10', '13:45:10'], ['23:59:59.9999999', '23:59:59.9999999'], NULL, ['00:00:00.5', '00:00:00.5']]),
  col('c_time0', 'time(0)', 'time(0)', { kind: 'time', withZone: false }, [['13:45:10', '13:45:10'], ['23:59:59', '23:59:59'], NULL, ['00:00:00', '00:00:00']]),
  col('c_datetime2', 'datetime2(6)', 'datetime2(6)', { kind: 'timestamp' }, [
    ['2024-02-29 13:45:10.123456', '2024-02-29T13:45:10.123456'], ['0001-01-01 00:00:00', '0001-01-01T00:00:00'], NULL, ['1970-01-01 00:00:00.5', '1970-01-01T00:00:00.5']]),
  col('c_datetime2_7', 'datetime2', 'datetime2(7)', { kind: 'timestamp' }, [
    ['2024-02-29 13:45:10.1234567', '2024-02-29T13:45:10.1234567'], ['9999-12-31 23:59:59.9999999', '9999-12-31T23:59:59.9999999'], NULL, ['2000-01-01 00:00:00', '2000-01-01T00:00:00']]),
  col('c_datetime', 'datetime', 'datetime', { kind: 'timestamp' }, [
    ['2024-02-29 13:45:10.123', '2024-02-29T13:45:10.123'], ['1753-01-01 00:00:00', '1753-01-01T00:00:00'], NULL, ['9999-12-31 23:59:59.997', '9999-12-31T23:59:59.997']]),
  col('c_smalldatetime', 'smalldatetime', 'smalldatetime', { kind: 'timestamp' }, [['2024-02-29 13:45:00', '2024-02-29T13:45:00'], ['1900-01-01 00:00:00', '1900-01-01T00:00:00'], NULL, ['2079-06-06 23:59:00', '2079-06-06T23:59:00']]),
  col('c_datetimeoffset', 'datetimeoffset(7)', 'datetimeoffset(7)', { kind: 'timestamptz' }, [
    ['2024-03-01 10:15:30.123456 +05:30', '2024-03-01T04:45:30.123456+00:00'],
    ['1999-12-31 23:59:59.9999999 -08:00', '2000-01-01T07:59:59.9999999+00:00'], NULL,
    ['1970-01-01 05:30:00 +05:30', '1970-01-01T00:00:00+00:00']]),
  col('c_uuid', 'uniqueidentifier', 'uniqueidentifier', { kind: 'uuid' }, [
    ['A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'], ['FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', 'ffffffff-ffff-ffff-ffff-ffffffffffff'], NULL,
    ['00000000-0000-0000-0000-000000000000', '00000000-0000-0000-0000-000000000000']]),
  col('c_binary', 'binary(4)', 'binary(4)', { kind: 'binary' }, [[hex('deadbeef'), '\\xdeadbeef'], [hex('00000000'), '\\x00000000'], NULL, [hex('00ff0000'), '\\x00ff0000']]),
  col('c_varbinary', 'varbinary(10)', 'varbinary(10)', { kind: 'binary' }, [[hex('00ff'), '\\x00ff'], [hex('0a0d2c22'), '\\x0a0d2c22'], NULL, [hex(''), '\\x']]),
  col('c_varbinary_max', 'varbinary(max)', 'varbinary(max)', { kind: 'binary' }, [[hex('deadbeef'), '\\xdeadbeef'], [Buffer.alloc(9000, 0xab), `\\x${'ab'.repeat(9000)}`], NULL, [hex(''), '\\x']]),
  col('c_image', 'image', 'image', { kind: 'binary' }, [[hex('cafe'), '\\xcafe'], [hex('00'), '\\x00'], NULL, [hex(''), '\\x']]),
  col('c_rowversion', 'timestamp', 'timestamp', { kind: 'binary' }, [[hex('00000000000007d1'), '\\x00000000000007d1'], [hex('00000000000007d2'), '\\x00000000000007d2'], [hex('00000000000007d3'), '\\x00000000000007d3'], [hex('00000000000007d4'), '\\x00000000000007d4']]),
  col('c_xml', 'xml', 'xml', { kind: 'other', native: 'xml' }, [['<a b="1">x</a>', '<a b="1">x</a>'], ['<z/>', '<z/>'], NULL, ['', '']]),
  col('c_hierarchyid', 'hierarchyid', 'hierarchyid', { kind: 'other', native: 'hierarchyid' }, [['/1/2/', '/1/2/'], ['/', '/'], NULL, ['/3/', '/3/']]),
  col('c_geography', 'geography', 'geography', { kind: 'other', native: 'geography' }, [['POINT (1 2)', 'POINT (1 2)'], ['LINESTRING (-1.5 2.25, 3 4)', 'LINESTRING (-1.5 2.25, 3 4)'], NULL, ['POINT (0 0)', 'POINT (0 0)']]),
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
