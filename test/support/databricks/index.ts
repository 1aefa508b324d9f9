/**
 * The Databricks double for tests (server.ts: OAuth, Unity Catalog, SQL
 * warehouse), the all-types case table it can hold, and request bodies that
 * point the publisher at it.
 */
import type { LogicalType } from '../../../lib/types/logical.js';
import { toCsv } from '../csv-text.js';
import { CASES as C, TRICKY_TEXT, resolve, type Cell, type TypeCase } from '../type-cases.js';
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
  /** The case the expected texts come from, and the value names by row (absent: the row key). */
  typeCase?: TypeCase;
  values?: Array<string | null>;
}

export { TRICKY_TEXT };
const NULL = null;
function c<K extends string>(name: string, typeName: string, typeText: string, typeCase: TypeCase<K>, cells: Array<Cell<unknown, K>>): DbxCaseColumn {
  const r = resolve(name, typeCase, cells, null);
  return { column: { name, typeName, typeText }, logical: typeCase.logical, rows: r.held.map((held, i) => [held, r.texts[i]!]), typeCase, values: r.values };
}

/** Every Databricks type the publisher maps, with a typical row, extremes, NULLs, and empties/zeros. */
export const DBX_ALL_TYPES_COLUMNS: DbxCaseColumn[] = [
  { column: { name: 'id', typeName: 'INT', typeText: 'int', nullable: false, comment: 'Row key' }, logical: { kind: 'int32' }, rows: [[1, '1'], [2, '2'], [3, '3'], [4, '4']] },
  c('c_tinyint', 'BYTE', 'tinyint', C.int8, [[12, 'typical'], [-128, 'min'], NULL, [127, 'max']]),
  c('c_smallint', 'SHORT', 'smallint', C.int16, [[12, 'typical'], [-32768, 'min'], NULL, [32767, 'max']]),
  c('c_int', 'INT', 'int', C.int32, [[-42, 'negative'], [-2147483648, 'min'], NULL, [2147483647, 'max']]),
  c('c_bigint', 'LONG', 'bigint', C.int64, [[1234567890123n, 'typical'], [-9223372036854775808n, 'min'], NULL, [9223372036854775807n, 'max']]),
  c('c_decimal', 'DECIMAL', 'decimal(12,2)', C.decimal12_2, [['1234.5', 'scalePadded'], ['-9999999999.99', 'min'], NULL, ['0', 'zero']]),
  c('c_decimal_wide', 'DECIMAL', 'decimal(38,10)', C.decimal38_10, [
    ['1234567890123456789012345678.0123456789', 'wide'], ['-0.0000000001', 'tinyNegative'], NULL, ['0', 'zero']]),
  c('c_float', 'FLOAT', 'float', C.float32, [[Math.fround(1.1), 'typical'], [Math.fround(3.4028235e38), 'max'], NULL, [Math.fround(1e-7), 'tiny']]),
  c('c_double', 'DOUBLE', 'double', C.float64, [[0.30000000000000004, 'roundTrip'], [-1.7976931348623157e308, 'negativeMax'], NULL, [1e15, 'exponentAt15']]),
  c('c_boolean', 'BOOLEAN', 'boolean', C.boolean, [[true, 'true'], [false, 'false'], NULL, [false, 'false']]),
  c('c_string', 'STRING', 'string', C.text, [['plain', 'plain'], [TRICKY_TEXT, 'tricky'], NULL, ['', 'empty']]),
  c('c_varchar', 'STRING', 'varchar(20)', C.text20, [['a,b', 'comma'], ["it's ; tab\there", 'quoteAndTab'], NULL, ['', 'empty']]),
  c('c_char', 'CHAR', 'char(5)', C.char5, [['ab   ', 'padded'], ['Zoë  ', 'paddedUnicode'], NULL, ['     ', 'blank']]),
  c('c_date', 'DATE', 'date', C.date, [['2024-02-29', 'leapDay'], ['0001-01-01', 'min'], NULL, ['9999-12-31', 'max']]),
  c('c_timestamp', 'TIMESTAMP', 'timestamp', C.timestamptz, [
    ['2024-03-01T10:15:30.123456+05:30', 'fromIndia'], ['1999-12-31T23:59:59.999999-08:00', 'fromPacificY2k'], NULL, ['1969-12-31T23:59:59.5Z', 'beforeEpochHalf']]),
  c('c_timestamp_ntz', 'TIMESTAMP_NTZ', 'timestamp_ntz', C.timestamp, [
    ['2024-02-29 13:45:10.123456', 'leapMicros'], ['0001-01-01 00:00:00', 'min'], NULL, ['1970-01-01 00:00:00.500000', 'epochHalf']]),
  c('c_binary', 'BINARY', 'binary', C.binary, [[Buffer.from('deadbeef', 'hex'), 'deadbeef'], [Buffer.from('00ff', 'hex'), 'zeroFF'], NULL, [Buffer.alloc(0), 'empty']]),
  c('c_array_int', 'ARRAY', 'array<int>', C.int32Array, [[[1, 2, null], 'withNull'], [[-2147483648], 'min'], NULL, [[], 'empty']]),
  c('c_array_string', 'ARRAY', 'array<string>', C.textArray, [[['a,b', 'c"d', null, 'Zoë'], 'awkward'], [[''], 'emptyString'], NULL, [[], 'empty']]),
  c('c_map', 'MAP', 'map<string,int>', C.json, [[{ a: 1, b: 2 }, 'compactObject'], [{}, 'emptyObject'], NULL, [{ 'k,"': null }, 'oddKeyNull']]),
  c('c_struct', 'STRUCT', 'struct<a:int,b:string>', C.json, [[{ a: 1, b: 'x' }, 'struct'], [{ a: null, b: 'Zoë 🚀' }, 'structNullField'], NULL, [{ a: 0, b: '' }, 'structZeros']]),
  c('c_interval_ym', 'INTERVAL', 'interval year to month', C.interval, [
    ["INTERVAL '1-2' YEAR TO MONTH", 'yearMonth'], ["INTERVAL '-0-3' YEAR TO MONTH", 'negativeMonths'], NULL, ["INTERVAL '0-0' YEAR TO MONTH", 'zero']]),
  c('c_interval_dt', 'INTERVAL', 'interval day to second', C.interval, [
    ["INTERVAL '3 04:05:06.5' DAY TO SECOND", 'dayTime'], ["INTERVAL '-1 00:00:00' DAY TO SECOND", 'negativeDay'], NULL, ["INTERVAL '0 00:00:00' DAY TO SECOND", 'zero']]),
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
