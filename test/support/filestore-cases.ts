/**
 * One table covering every logical type, as extraction hands it to the filestore
 * destination: columns, rows in canonical text form (lib/types/logical.ts), the
 * DuckDB type each column must get, and the value DuckDB must hold, as
 * @duckdb/node-api's lossless JSON form (getRowsJson) shows it.
 */
import type { ColumnInfo } from '../../lib/connectors/connector.js';
import type { LogicalType } from '../../lib/types/logical.js';
import type { Field } from './csv-text.js';

export interface TypeCase {
  name: string;
  logical: LogicalType;
  /** The DuckDB type, as duckdb_columns().data_type spells it. */
  duckdb: string;
  /** One canonical text per row (null: SQL NULL). */
  values: Field[];
  /** What DuckDB holds, per row, in getRowsJson form. */
  expected: unknown[];
}

const ROWS = 3;
const col = (name: string, logical: LogicalType, duckdb: string, values: Field[], expected: unknown[]): TypeCase => ({ name, logical, duckdb, values, expected });

export const TYPE_CASES: TypeCase[] = [
  col('id', { kind: 'int64' }, 'BIGINT', ['1', '2', '3'], ['1', '2', '3']),
  col('i8', { kind: 'int8' }, 'TINYINT', ['-128', '127', null], [-128, 127, null]),
  col('i16', { kind: 'int16' }, 'SMALLINT', ['-32768', '32767', '0'], [-32768, 32767, 0]),
  col('i32', { kind: 'int32' }, 'INTEGER', ['-2147483648', '2147483647', null], [-2147483648, 2147483647, null]),
  col('i64', { kind: 'int64' }, 'BIGINT', ['-9223372036854775808', '9223372036854775807', '0'], ['-9223372036854775808', '9223372036854775807', '0']),
  col('u8', { kind: 'uint8' }, 'UTINYINT', ['0', '255', null], [0, 255, null]),
  col('u16', { kind: 'uint16' }, 'USMALLINT', ['65535', '0', null], [65535, 0, null]),
  col('u32', { kind: 'uint32' }, 'UINTEGER', ['4294967295', '0', null], [4294967295, 0, null]),
  col('u64', { kind: 'uint64' }, 'UBIGINT', ['18446744073709551615', '0', null], ['18446744073709551615', '0', null]),
  col('dec', { kind: 'decimal', precision: 38, scale: 10 }, 'DECIMAL(38,10)',
    ['1234567890123456789012345678.0123456789', '-0.0000000001', '1.5000000000'],
    ['1234567890123456789012345678.0123456789', '-0.0000000001', '1.5000000000']),
  col('dec_small', { kind: 'decimal', precision: 5, scale: 2 }, 'DECIMAL(5,2)', ['999.99', '-0.01', null], ['999.99', '-0.01', null]),
  col('dec_neg_scale', { kind: 'decimal', precision: 3, scale: -2 }, 'DECIMAL(5,0)', ['12300', '-99900', null], ['12300', '-99900', null]),
  col('dec_unbounded', { kind: 'decimal' }, 'VARCHAR',
    ['123456789012345678901234567890123456789012345678901234567890.0123456789', 'NaN', '-0.50'],
    ['123456789012345678901234567890123456789012345678901234567890.0123456789', 'NaN', '-0.50']),
  col('f32', { kind: 'float32' }, 'FLOAT', ['3.4028235e+38', '1e-45', 'NaN'], [3.4028234663852886e38, 1.401298464324817e-45, 'NaN']),
  col('f64', { kind: 'float64' }, 'DOUBLE', ['0.1', '-Infinity', '5e-324'], [0.1, '-Infinity', 5e-324]),
  col('f64_max', { kind: 'float64' }, 'DOUBLE', ['1.7976931348623157e+308', 'Infinity', '-0'], [1.7976931348623157e308, 'Infinity', -0]),
  col('flag', { kind: 'boolean' }, 'BOOLEAN', ['true', 'false', null], [true, false, null]),
  col('txt', { kind: 'text', length: 100 }, 'VARCHAR',
    ['héllo, "world"\nline 2', '', null],
    ['héllo, "world"\nline 2', '', null]),
  col('txt_unicode', { kind: 'text' }, 'VARCHAR', ['😀 ü 中文', 'a\r\nb', '""'], ['😀 ü 中文', 'a\r\nb', '""']),
  col('d', { kind: 'date' }, 'DATE', ['2024-02-29', '0001-01-01', '9999-12-31'], ['2024-02-29', '0001-01-01', '9999-12-31']),
  col('t', { kind: 'time', withZone: false }, 'TIME', ['23:59:59.999999', '00:00:00', '24:00:00'], ['23:59:59.999999', '00:00:00', '24:00:00']),
  col('ttz', { kind: 'time', withZone: true }, 'TIME WITH TIME ZONE', ['12:34:56.123456+05:30', '00:00:00-08:00', null], ['12:34:56.123456+05:30', '00:00:00-08', null]),
  col('ts', { kind: 'timestamp' }, 'TIMESTAMP', ['2024-02-29T23:59:59.999999', '1970-01-01T00:00:00', '0001-01-01T00:00:00.000001'],
    ['2024-02-29 23:59:59.999999', '1970-01-01 00:00:00', '0001-01-01 00:00:00.000001']),
  col('tstz', { kind: 'timestamptz' }, 'TIMESTAMP WITH TIME ZONE', ['2024-02-29T23:59:59.999999+00:00', '1969-12-31T23:59:59.000001+00:00', null],
    ['2024-02-29 23:59:59.999999+00', '1969-12-31 23:59:59.000001+00', null]),
  col('iv', { kind: 'interval' }, 'INTERVAL', ['P1Y2M3DT4H5M6.5S', 'P-1Y-2M-3DT-4H-5M-6.000001S', 'PT0S'],
    [
      { months: 14, days: 3, micros: String((4 * 3600 + 5 * 60) * 1e6 + 6.5e6) },
      { months: -14, days: -3, micros: String(-((4 * 3600 + 5 * 60 + 6) * 1e6 + 1)) },
      { months: 0, days: 0, micros: '0' },
    ]),
  col('iv_more', { kind: 'interval' }, 'INTERVAL', ['-P1DT1S', 'PT-0.000001S', 'P2W'],
    [{ months: 0, days: -1, micros: '-1000000' }, { months: 0, days: 0, micros: '-1' }, { months: 0, days: 14, micros: '0' }]),
  col('uid', { kind: 'uuid' }, 'UUID', ['123e4567-e89b-12d3-a456-426614174000', '00000000-0000-0000-0000-000000000000', null],
    ['123e4567-e89b-12d3-a456-426614174000', '00000000-0000-0000-0000-000000000000', null]),
  col('js', { kind: 'json' }, 'JSON', ['{"a": [1, 2.50, null], "b": "x,\\"y\\""}', 'null', '12345678901234567890123'],
    ['{"a": [1, 2.50, null], "b": "x,\\"y\\""}', 'null', '12345678901234567890123']),
  col('bin', { kind: 'binary' }, 'BLOB', ['\\x00ff10', '\\x', null], ['\\x00\\xFF\\x10', '', null]),
  col('arr_int', { kind: 'array', element: { kind: 'int32' } }, 'INTEGER[]', ['[1,null,-3]', '[]', null], [[1, null, -3], [], null]),
  col('arr_i64', { kind: 'array', element: { kind: 'int64' } }, 'BIGINT[]', ['[-9223372036854775808,9223372036854775807]', null, '[0]'],
    [['-9223372036854775808', '9223372036854775807'], null, ['0']]),
  col('arr_text', { kind: 'array', element: { kind: 'text' } }, 'VARCHAR[]', ['["a","b,c","d\\"e",null,""]', '[]', '["[1]"]'],
    [['a', 'b,c', 'd"e', null, ''], [], ['[1]']]),
  col('arr_dec', { kind: 'array', element: { kind: 'decimal', precision: 30, scale: 20 } }, 'DECIMAL(30,20)[]',
    ['[1.00000000000000000001,-2.5,null]', '["3.14"]', null],
    [['1.00000000000000000001', '-2.50000000000000000000', null], ['3.14000000000000000000'], null]),
  col('arr_dec_unbounded', { kind: 'array', element: { kind: 'decimal' } }, 'VARCHAR[]', ['[123456789012345678901234567890.5,1e5]', null, '[]'],
    [['123456789012345678901234567890.5', '1e5'], null, []]),
  col('arr_f64', { kind: 'array', element: { kind: 'float64' } }, 'DOUBLE[]', ['[0.1,-1.5e+300,"NaN","-Infinity"]', '[]', null],
    [[0.1, -1.5e300, 'NaN', '-Infinity'], [], null]),
  col('arr_nested', { kind: 'array', element: { kind: 'array', element: { kind: 'int64' } } }, 'BIGINT[][]', ['[[1,2],[3]]', '[[]]', null],
    [[['1', '2'], ['3']], [[]], null]),
  col('arr_2d_pg', { kind: 'array', element: { kind: 'int32' } }, 'INTEGER[][]', ['[[1,2],[3,4]]', null, '[]'], [[[1, 2], [3, 4]], null, []]),
  col('arr_mixed', { kind: 'array', element: { kind: 'text' } }, 'JSON', ['["a"]', '[["b"]]', null], ['["a"]', '[["b"]]', null]),
  col('arr_tstz', { kind: 'array', element: { kind: 'timestamptz' } }, 'TIMESTAMP WITH TIME ZONE[]', ['["2024-01-01T00:00:00.000001+00:00"]', null, '[null]'],
    [['2024-01-01 00:00:00.000001+00'], null, [null]]),
  col('arr_date', { kind: 'array', element: { kind: 'date' } }, 'DATE[]', ['["2024-02-29","0001-01-01"]', null, null], [['2024-02-29', '0001-01-01'], null, null]),
  col('arr_bin', { kind: 'array', element: { kind: 'binary' } }, 'BLOB[]', ['["\\\\x00ff","\\\\x"]', null, '[null]'], [['\\x00\\xFF', ''], null, [null]]),
  col('arr_iv', { kind: 'array', element: { kind: 'interval' } }, 'INTERVAL[]', ['["P1D","PT1.5S"]', null, '[]'],
    [[{ months: 0, days: 1, micros: '0' }, { months: 0, days: 0, micros: '1500000' }], null, []]),
  col('arr_uuid', { kind: 'array', element: { kind: 'uuid' } }, 'UUID[]', ['["123e4567-e89b-12d3-a456-426614174000"]', null, null],
    [['123e4567-e89b-12d3-a456-426614174000'], null, null]),
  col('arr_json', { kind: 'array', element: { kind: 'json' } }, 'JSON', ['[{"a": 1.10}, [2]]', null, '[]'], ['[{"a": 1.10}, [2]]', null, '[]']),
  col('en', { kind: 'enum', values: ['sad', 'ok', 'happy', ''] }, "ENUM('sad', 'ok', 'happy', '')", ['ok', '', null], ['ok', '', null]),
  col('arr_en', { kind: 'array', element: { kind: 'enum', values: ['x', 'y'] } }, "ENUM('x', 'y')[]", ['["y","x"]', null, '[]'], [['y', 'x'], null, []]),
  col('en_empty', { kind: 'enum', values: [] }, 'VARCHAR', ['anything', null, ''], ['anything', null, '']),
  col('oth', { kind: 'other', native: 'inet' }, 'VARCHAR', ['192.168.0.1/24', '::1', null], ['192.168.0.1/24', '::1', null]),
];

/** The case table's columns as catalog ColumnInfo (id is the primary key). */
export function caseColumns(cases: readonly TypeCase[] = TYPE_CASES): ColumnInfo[] {
  return cases.map((c, i) => ({
    name: c.name,
    description: null,
    datatype: c.logical.kind,
    nullable: c.name !== 'id',
    position: i + 1,
    logical: c.logical,
    primaryKey: c.name === 'id' ? 1 : null,
  }));
}

/** The case table's rows (canonical text). */
export function caseRows(cases: readonly TypeCase[] = TYPE_CASES): Field[][] {
  return Array.from({ length: ROWS }, (_, r) => cases.map((c) => c.values[r] ?? null));
}
