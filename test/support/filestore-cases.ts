/**
 * The writers' table: one table covering every logical type, as extraction
 * hands it to the filestore destination, its values picked from the case
 * table (type-cases.ts): columns, rows in canonical text form, the DuckDB type
 * each column must get, and the value DuckDB must hold, as @duckdb/node-api's
 * lossless JSON form (getRowsJson) shows it.
 */
import type { ColumnInfo } from '../../lib/connectors/connector.js';
import type { LogicalType } from '../../lib/types/logical.js';
import type { Field } from './csv-text.js';
import { CASES as C, type TypeCase } from './type-cases.js';

export interface WriterColumn {
  name: string;
  logical: LogicalType;
  /** The DuckDB type, as duckdb_columns().data_type spells it. */
  duckdb: string;
  /** One canonical text per row (null: SQL NULL). */
  values: Field[];
  /** What DuckDB holds, per row, in getRowsJson form. */
  expected: unknown[];
  /** The case the values come from, and the value names by row (absent: the row key). */
  typeCase?: TypeCase;
  keys?: Array<string | null>;
}

const ROWS = 3;

/** A column loading the named values of a case (null: NULL); each must say what DuckDB holds. */
function w<K extends string>(name: string, typeCase: TypeCase<K>, keys: Array<K | null>): WriterColumn {
  if (keys.length !== ROWS) throw new Error(`writer column ${name} has ${keys.length} rows, not ${ROWS}`);
  if (typeCase.duckdb === undefined) throw new Error(`writer column ${name}: its case has no DuckDB type`);
  const value = (key: K) => {
    const found = typeCase.values[key];
    if (found?.duckdb === undefined) throw new Error(`writer column ${name}: value '${key}' has no DuckDB expectation`);
    return found;
  };
  return {
    name,
    logical: typeCase.logical,
    duckdb: typeCase.duckdb,
    values: keys.map((k) => (k === null ? null : value(k).text)),
    expected: keys.map((k) => (k === null ? null : value(k).duckdb)),
    typeCase,
    keys,
  };
}

export const WRITER_COLUMNS: WriterColumn[] = [
  { name: 'id', logical: { kind: 'int64' }, duckdb: 'BIGINT', values: ['1', '2', '3'], expected: ['1', '2', '3'] },
  w('i8', C.int8, ['min', 'max', null]),
  w('i16', C.int16, ['min', 'max', 'zero']),
  w('i32', C.int32, ['min', 'max', null]),
  w('i64', C.int64, ['min', 'max', 'zero']),
  w('u8', C.uint8, ['zero', 'max', null]),
  w('u16', C.uint16, ['max', 'zero', null]),
  w('u32', C.uint32, ['max', 'zero', null]),
  w('u64', C.uint64, ['max', 'zero', null]),
  w('dec', C.decimal38_10, ['wide', 'tinyNegative', 'scalePadded']),
  w('dec_small', C.decimal5_2, ['max', 'negativeCent', null]),
  w('dec_neg_scale', C.decimalNegativeScale, ['hundreds', 'negativeHundreds', null]),
  w('dec_unbounded', C.decimalUnbounded, ['beyond38', 'nan', 'negativeHalf']),
  w('f32', C.float32, ['max', 'minSubnormal', 'nan']),
  w('f64', C.float64, ['tenth', 'negativeInfinity', 'minSubnormal']),
  w('f64_max', C.float64, ['max', 'infinity', 'negativeZero']),
  w('flag', C.boolean, ['true', 'false', null]),
  w('txt', C.text100, ['lines', 'empty', null]),
  w('txt_unicode', C.text, ['astral', 'crlf', 'onlyQuotes']),
  w('d', C.date, ['leapDay', 'min', 'max']),
  w('t', C.time, ['maxMicros', 'midnight', 'endOfDay']),
  w('ttz', C.timeWithZone, ['indiaMicros', 'pacificMidnight', null]),
  w('ts', C.timestamp, ['leapLastMicro', 'epoch', 'minPlusMicro']),
  w('tstz', C.timestamptz, ['leapLastMicro', 'beforeEpochMicro', null]),
  w('iv', C.interval, ['full', 'allNegative', 'zero']),
  w('iv_more', C.interval, ['negatedDuration', 'negativeMicro', 'weeks']),
  w('uid', C.uuid, ['typical', 'nil', null]),
  w('js', C.json, ['nested', 'null', 'bigNumber']),
  w('bin', C.binary, ['threeBytes', 'empty', null]),
  w('arr_int', C.int32Array, ['nullInside', 'empty', null]),
  w('arr_i64', C.int64Array, ['bounds', null, 'zero']),
  w('arr_text', C.textArray, ['mixed', 'empty', 'bracketText']),
  w('arr_dec', C.decimal30_20Array, ['scalePadded', 'quotedDigits', null]),
  w('arr_dec_unbounded', C.decimalUnboundedArray, ['beyond38', null, 'empty']),
  w('arr_f64', C.float64Array, ['specials', 'empty', null]),
  w('arr_nested', C.int64ArrayArray, ['ragged', 'emptyInner', null]),
  w('arr_2d_pg', C.int32Array2d, ['matrix', null, 'empty']),
  w('arr_mixed', C.textArrayMixedDepth, ['flat', 'nested', null]),
  w('arr_tstz', C.timestamptzArray, ['micro', null, 'nullElement']),
  w('arr_date', C.dateArray, ['bounds', null, null]),
  w('arr_bin', C.binaryArray, ['bytesAndEmpty', null, 'nullElement']),
  w('arr_iv', C.intervalArray, ['dayAndSeconds', null, 'empty']),
  w('arr_uuid', C.uuidArray, ['one', null, null]),
  w('arr_json', C.jsonArray, ['objectAndArray', null, 'empty']),
  w('en', C.enumWithEmpty, ['ok', 'emptyLabel', null]),
  w('arr_en', C.enumArray, ['both', null, 'empty']),
  w('en_empty', C.enumNoLabels, ['any', null, 'empty']),
  w('oth', C.inet, ['network', 'ipv6Loopback', null]),
];

/** The table's columns as catalog ColumnInfo (id is the primary key). */
export function caseColumns(cases: readonly WriterColumn[] = WRITER_COLUMNS): ColumnInfo[] {
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

/** The table's rows (canonical text). */
export function caseRows(cases: readonly WriterColumn[] = WRITER_COLUMNS): Field[][] {
  return Array.from({ length: ROWS }, (_, r) => cases.map((c) => c.values[r] ?? null));
}
