/**
 * The Databricks double for tests (server.ts: OAuth, Unity Catalog, SQL
 * warehouse), the all-types case table it can hold, and request bodies that
 * point the publisher at it.
 */
import type { LogicalType } from '../../../lib/types/logical.js';
import { toCsv } from '../csv-text.js';
import type { DbxColumn, DbxTable } from './model.js';
import type { DatabricksDouble } from './server.js';

export { DatabricksDouble } from './server.js';
export { doubleTls } from './tls.js';
export { PROTOCOL } from './thrift-service.js';
export type { DbxCatalog, DbxTable, DbxColumn } from './model.js';

/** The service principal the double accepts unless told otherwise. */
export const SERVICE_PRINCIPAL = { clientId: '5a1e0c4e-7d1f-4c2b-9d3e-0f1a2b3c4d5e', clientSecret: 'dose-double-secret-0123456789' };

export interface DatabricksSourceBody {
  name: string | null;
  type: string;
  host_url: string;
  http_path: string;
  port: number | null;
  catalog: string;
  credentials: { provider: string; spn_clientid: string; spn_secret: string };
}

/** A Databricks source as the CLI sends it, naming the secrets `dbx-client-id` and `dbx-client-secret` unless told otherwise. */
export function databricksSource(double: DatabricksDouble, catalog: string, options: { host?: string; clientIdKey?: string; secretKey?: string; httpPath?: string } = {}): DatabricksSourceBody {
  return {
    name: 'lakehouse',
    type: 'databrickssql',
    host_url: `https://${options.host ?? '127.0.0.1'}`,
    http_path: options.httpPath ?? double.warehousePath,
    port: double.port,
    catalog,
    credentials: { provider: 'AzureKeyVault', spn_clientid: options.clientIdKey ?? 'dbx-client-id', spn_secret: options.secretKey ?? 'dbx-client-secret' },
  };
}

export interface DbxCaseColumn {
  column: DbxColumn;
  logical: LogicalType;
  /** Per row: the value the double holds, and the expected canonical text (null: NULL). */
  rows: Array<[unknown, string | null]>;
}

export const TRICKY_TEXT = 'Zoë 🚀 ñ, "quoted"\nnew line\r\nand, commas';
const NULL: [null, null] = [null, null];
const c = (name: string, typeName: string, typeText: string, logical: LogicalType, rows: Array<[unknown, string | null]>): DbxCaseColumn => ({ column: { name, typeName, typeText }, logical, rows });

/** Every Databricks type the publisher maps, with a typical row, extremes, NULLs, and empties/zeros. */
export const DBX_ALL_TYPES_COLUMNS: DbxCaseColumn[] = [
  { column: { name: 'id', typeName: 'INT', typeText: 'int', nullable: false, comment: 'Row key' }, logical: { kind: 'int32' }, rows: [[1, '1'], [2, '2'], [3, '3'], [4, '4']] },
  c('c_tinyint', 'BYTE', 'tinyint', { kind: 'int8' }, [[12, '12'], [-128, '-128'], NULL, [127, '127']]),
  c('c_smallint', 'SHORT', 'smallint', { kind: 'int16' }, [[12, '12'], [-32768, '-32768'], NULL, [32767, '32767']]),
  c('c_int', 'INT', 'int', { kind: 'int32' }, [[-42, '-42'], [-2147483648, '-2147483648'], NULL, [2147483647, '2147483647']]),
  c('c_bigint', 'LONG', 'bigint', { kind: 'int64' }, [[1234567890123n, '1234567890123'], [-9223372036854775808n, '-9223372036854775808'], NULL, [9223372036854775807n, '9223372036854775807']]),
  c('c_decimal', 'DECIMAL', 'decimal(12,2)', { kind: 'decimal', precision: 12, scale: 2 }, [['1234.5', '1234.50'], ['-9999999999.99', '-9999999999.99'], NULL, ['0', '0.00']]),
  c('c_decimal_wide', 'DECIMAL', 'decimal(38,10)', { kind: 'decimal', precision: 38, scale: 10 }, [
    ['1234567890123456789012345678.0123456789', '1234567890123456789012345678.0123456789'], ['-0.0000000001', '-0.0000000001'], NULL, ['0', '0.0000000000']]),
  c('c_float', 'FLOAT', 'float', { kind: 'float32' }, [[Math.fround(1.1), '1.1'], [Math.fround(3.4028235e38), '3.4028235e+38'], NULL, [Math.fround(1e-7), '1e-07']]),
  c('c_double', 'DOUBLE', 'double', { kind: 'float64' }, [[0.30000000000000004, '0.30000000000000004'], [-1.7976931348623157e308, '-1.7976931348623157e+308'], NULL, [1e15, '1e+15']]),
  c('c_boolean', 'BOOLEAN', 'boolean', { kind: 'boolean' }, [[true, 'true'], [false, 'false'], NULL, [false, 'false']]),
  c('c_string', 'STRING', 'string', { kind: 'text' }, [['plain', 'plain'], [TRICKY_TEXT, TRICKY_TEXT], NULL, ['', '']]),
  c('c_varchar', 'STRING', 'varchar(20)', { kind: 'text', length: 20 }, [['a,b', 'a,b'], ["it's ; tab\there", "it's ; tab\there"], NULL, ['', '']]),
  c('c_char', 'CHAR', 'char(5)', { kind: 'text', length: 5 }, [['ab   ', 'ab   '], ['Zoë  ', 'Zoë  '], NULL, ['     ', '     ']]),
  c('c_date', 'DATE', 'date', { kind: 'date' }, [['2024-02-29', '2024-02-29'], ['0001-01-01', '0001-01-01'], NULL, ['9999-12-31', '9999-12-31']]),
  c('c_timestamp', 'TIMESTAMP', 'timestamp', { kind: 'timestamptz' }, [
    ['2024-03-01T10:15:30.123456+05:30', '2024-03-01T04:45:30.123456+00:00'], ['1999-12-31T23:59:59.999999-08:00', '2000-01-01T07:59:59.999999+00:00'], NULL,
    ['1969-12-31T23:59:59.5Z', '1969-12-31T23:59:59.5+00:00']]),
  c('c_timestamp_ntz', 'TIMESTAMP_NTZ', 'timestamp_ntz', { kind: 'timestamp' }, [
    ['2024-02-29 13:45:10.123456', '2024-02-29T13:45:10.123456'], ['0001-01-01 00:00:00', '0001-01-01T00:00:00'], NULL, ['1970-01-01 00:00:00.500000', '1970-01-01T00:00:00.5']]),
  c('c_binary', 'BINARY', 'binary', { kind: 'binary' }, [[Buffer.from('deadbeef', 'hex'), '\\xdeadbeef'], [Buffer.from('00ff', 'hex'), '\\x00ff'], NULL, [Buffer.alloc(0), '\\x']]),
  c('c_array_int', 'ARRAY', 'array<int>', { kind: 'array', element: { kind: 'int32' } }, [[[1, 2, null], '[1,2,null]'], [[-2147483648], '[-2147483648]'], NULL, [[], '[]']]),
  c('c_array_string', 'ARRAY', 'array<string>', { kind: 'array', element: { kind: 'text' } }, [[['a,b', 'c"d', null, 'Zoë'], '["a,b","c\\"d",null,"Zoë"]'], [[''], '[""]'], NULL, [[], '[]']]),
  c('c_map', 'MAP', 'map<string,int>', { kind: 'json' }, [[{ a: 1, b: 2 }, '{"a":1,"b":2}'], [{}, '{}'], NULL, [{ 'k,"': null }, '{"k,\\"":null}']]),
  c('c_struct', 'STRUCT', 'struct<a:int,b:string>', { kind: 'json' }, [[{ a: 1, b: 'x' }, '{"a":1,"b":"x"}'], [{ a: null, b: 'Zoë 🚀' }, '{"a":null,"b":"Zoë 🚀"}'], NULL, [{ a: 0, b: '' }, '{"a":0,"b":""}']]),
  c('c_interval_ym', 'INTERVAL', 'interval year to month', { kind: 'interval' }, [
    ["INTERVAL '1-2' YEAR TO MONTH", 'P1Y2M'], ["INTERVAL '-0-3' YEAR TO MONTH", 'P-3M'], NULL, ["INTERVAL '0-0' YEAR TO MONTH", 'PT0S']]),
  c('c_interval_dt', 'INTERVAL', 'interval day to second', { kind: 'interval' }, [
    ["INTERVAL '3 04:05:06.5' DAY TO SECOND", 'P3DT4H5M6.5S'], ["INTERVAL '-1 00:00:00' DAY TO SECOND", 'P-1D'], NULL, ["INTERVAL '0 00:00:00' DAY TO SECOND", 'PT0S']]),
];

/** The all-types table as the double holds it (a managed Delta table at version 3). */
export function dbxAllTypesTable(name = 'all_types'): DbxTable {
  return {
    name,
    comment: 'Every Databricks type the publisher maps',
    version: 3,
    columns: DBX_ALL_TYPES_COLUMNS.map((x) => x.column),
    primaryKey: ['id'],
    rows: [0, 1, 2, 3].map((r) => DBX_ALL_TYPES_COLUMNS.map((x) => x.rows[r]![0])),
  };
}

/** The exact CSV extraction must produce for {@link dbxAllTypesTable}. */
export const DBX_ALL_TYPES_CSV = toCsv(
  DBX_ALL_TYPES_COLUMNS.map((x) => x.column.name),
  [0, 1, 2, 3].map((r) => DBX_ALL_TYPES_COLUMNS.map((x) => x.rows[r]![1])),
);
