import { arrayLeaf, type LogicalType } from '../../../../../../../lib/types/logical.js';

/**
 * Logical type → DuckDB type, and how a column's canonical text
 * (lib/types/logical.ts) becomes a DuckDB value. Every mapping keeps the value
 * exactly; where DuckDB has no exact type the text is kept instead:
 *
 * | logical                          | DuckDB                                   |
 * |----------------------------------|------------------------------------------|
 * | int8, int16, int32, int64        | TINYINT, SMALLINT, INTEGER, BIGINT       |
 * | uint8, uint16, uint32, uint64    | UTINYINT, USMALLINT, UINTEGER, UBIGINT   |
 * | decimal(p,s), digits ≤ 38        | DECIMAL(p,s) (s > p or s < 0: widened)   |
 * | decimal unbounded or > 38 digits | VARCHAR: DuckDB's widest DECIMAL is 38 digits with a fixed scale and DOUBLE keeps ~16; the text keeps every digit |
 * | float32, float64                 | FLOAT, DOUBLE                            |
 * | boolean                          | BOOLEAN                                  |
 * | text, other                      | VARCHAR                                  |
 * | date, timestamp, timestamptz     | DATE, TIMESTAMP, TIMESTAMPTZ (µs)        |
 * | time / time with zone            | TIME / TIMETZ                            |
 * | interval                         | INTERVAL (months, days, µs, as PostgreSQL) |
 * | uuid, json, binary               | UUID, JSON, BLOB                         |
 * | enum                             | ENUM(labels in source order); VARCHAR if it has no labels or repeats one |
 * | array of T                       | T[], nested as deep as the values are (withMeasuredDepth); mixed depths: JSON |
 * | array whose leaves are json      | JSON: a list of JSON would re-serialise each element through DuckDB's parser (numbers through double) |
 */

/** Quotes an SQL identifier: double quotes, inner quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes an SQL string literal: single quotes, inner quotes doubled. */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

const INTEGERS: Record<string, string> = {
  int8: 'TINYINT',
  int16: 'SMALLINT',
  int32: 'INTEGER',
  int64: 'BIGINT',
  uint8: 'UTINYINT',
  uint16: 'USMALLINT',
  uint32: 'UINTEGER',
  uint64: 'UBIGINT',
};

/** DuckDB's widest DECIMAL. */
export const MAX_DECIMAL_DIGITS = 38;

/** The DECIMAL holding every value of decimal(p,s), or undefined when none does. */
export function decimalType(precision: number | undefined, scale: number | undefined): string | undefined {
  if (precision == null) return undefined;
  const s = scale ?? 0;
  const fraction = Math.max(s, 0);
  const width = Math.max(precision - s, 0) + fraction;
  if (width < 1 || width > MAX_DECIMAL_DIGITS) return undefined;
  return `DECIMAL(${width},${fraction})`;
}

function enumType(values: readonly string[]): string | undefined {
  if (values.length === 0 || new Set(values).size !== values.length) return undefined;
  return `ENUM(${values.map(quoteLiteral).join(', ')})`;
}

/** The DuckDB type a logical type is stored as. */
export function duckdbType(type: LogicalType): string {
  switch (type.kind) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'uint8':
    case 'uint16':
    case 'uint32':
    case 'uint64':
      return INTEGERS[type.kind]!;
    case 'decimal':
      return decimalType(type.precision, type.scale) ?? 'VARCHAR';
    case 'float32':
      return 'FLOAT';
    case 'float64':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    case 'text':
    case 'other':
      return 'VARCHAR';
    case 'date':
      return 'DATE';
    case 'time':
      return type.withZone ? 'TIMETZ' : 'TIME';
    case 'timestamp':
      return 'TIMESTAMP';
    case 'timestamptz':
      return 'TIMESTAMPTZ';
    case 'interval':
      return 'INTERVAL';
    case 'uuid':
      return 'UUID';
    case 'json':
      return 'JSON';
    case 'binary':
      return 'BLOB';
    case 'enum':
      return enumType(type.values) ?? 'VARCHAR';
    case 'array': {
      const { leaf, depth } = arrayLeaf(type);
      if (leaf.kind === 'json') return 'JSON';
      return duckdbType(leaf) + '[]'.repeat(depth);
    }
    default: {
      const unknown: never = type;
      throw new Error(`No DuckDB type for logical type ${JSON.stringify(unknown)}.`);
    }
  }
}

/**
 * An array type with the dimensions its values have. A PostgreSQL array column
 * does not declare its dimensions (`int[]` may hold `{1,2}` or `{{1,2},{3,4}}`),
 * so the writer measures them first: `min`/`max` are the smallest and largest
 * depth among the column's non-empty values (undefined when there are none).
 * One depth gives the list nested that deep; mixed depths give JSON.
 */
export function withMeasuredDepth(type: LogicalType & { kind: 'array' }, min: number | undefined, max: number | undefined): LogicalType {
  if (min == null || max == null) return type;
  if (min !== max) return { kind: 'json' };
  let nested: LogicalType = arrayLeaf(type).leaf;
  for (let i = 0; i < min; i++) nested = { kind: 'array', element: nested };
  return nested;
}

/** How one column is read from the CSV and stored. */
export interface ColumnLoad {
  /** The column's type in CREATE TABLE. */
  type: string;
  /** The type read_csv parses the field as. */
  readAs: string;
  /** The SELECT expression giving the stored value from the read_csv column `ref`. */
  convert(ref: string): string;
}

/** Applies `leaf` to every innermost element of a `depth`-deep list. */
function mapLeaves(expr: string, depth: number, leaf: (x: string) => string, level = 1): string {
  const v = `x${level}`;
  const inner = depth === 1 ? leaf(v) : mapLeaves(v, depth - 1, leaf, level + 1);
  return `list_transform(${expr}, lambda ${v}: ${inner})`;
}

/** Kinds whose PostgreSQL text may end in ` BC`, which DuckDB's parser ignores (it reads `0044-03-15 BC` as 44 AD). */
const ERA_KINDS = new Set<LogicalType['kind']>(['date', 'timestamp', 'timestamptz']);

export interface ColumnLoadOptions {
  /** The table's text holds ` BC` somewhere: dates and timestamps go through cr8tor_bc. */
  eras?: boolean;
}

/** How a column of this logical type is loaded from its canonical text. */
export function columnLoad(type: LogicalType, options: ColumnLoadOptions = {}): ColumnLoad {
  const stored = duckdbType(type);
  const direct: ColumnLoad = { type: stored, readAs: stored, convert: (ref) => ref };
  if (options.eras && ERA_KINDS.has(type.kind)) {
    return { type: stored, readAs: 'VARCHAR', convert: (ref) => `CAST(cr8tor_bc(${ref}) AS ${stored})` };
  }
  switch (type.kind) {
    case 'enum':
      // read_csv's type list takes no ENUM; the cast fails loudly on a label the type lacks.
      return { type: stored, readAs: 'VARCHAR', convert: (ref) => `CAST(${ref} AS ${stored})` };
    case 'binary':
      return { type: stored, readAs: 'VARCHAR', convert: (ref) => `cr8tor_blob(${ref})` };
    case 'interval':
      return { type: stored, readAs: 'VARCHAR', convert: (ref) => `cr8tor_interval(${ref})` };
    case 'array':
      return { type: stored, readAs: 'VARCHAR', convert: (ref) => arrayConversion(type, ref, options) };
    default:
      return direct;
  }
}

function arrayConversion(type: LogicalType & { kind: 'array' }, ref: string, options: ColumnLoadOptions): string {
  const { leaf, depth } = arrayLeaf(type);
  const stored = duckdbType(type);
  const texts = `VARCHAR${'[]'.repeat(depth)}`;
  if (options.eras && ERA_KINDS.has(leaf.kind)) {
    return mapLeaves(`CAST(CAST(${ref} AS JSON) AS ${texts})`, depth, (x) => `CAST(cr8tor_bc(${x}) AS ${duckdbType(leaf)})`);
  }
  switch (leaf.kind) {
    case 'json':
      return `CAST(${ref} AS JSON)`;
    case 'decimal':
    case 'float32':
    case 'float64': {
      // DuckDB's JSON reader turns numbers into doubles; quote them first so their digits survive.
      const asText = `CAST(cr8tor_numbers_as_strings(${ref}) AS ${texts})`;
      const leafType = duckdbType(leaf);
      return leafType === 'VARCHAR' ? asText : mapLeaves(asText, depth, (x) => `CAST(${x} AS ${leafType})`);
    }
    case 'binary':
      return mapLeaves(`CAST(CAST(${ref} AS JSON) AS ${texts})`, depth, (x) => `cr8tor_blob(${x})`);
    case 'interval':
      return mapLeaves(`CAST(CAST(${ref} AS JSON) AS ${texts})`, depth, (x) => `cr8tor_interval(${x})`);
    default:
      return `CAST(CAST(${ref} AS JSON) AS ${stored})`;
  }
}

const ISO_DURATION = String.raw`-?P(?:-?\d+Y)?(?:-?\d+M)?(?:-?\d+W)?(?:-?\d+D)?(?:T(?:-?\d+H)?(?:-?\d+M)?(?:-?\d+(?:\.\d+)?S)?)?`;

/**
 * Session macros the conversions use (TEMP: they live in the connection, not in
 * the database file researchers receive).
 * - cr8tor_blob: `\x` + hex → BLOB.
 * - cr8tor_interval: ISO 8601 duration (`P1Y2M3DT4H5M6.5S`, signed parts, optional
 *   leading `-`) → INTERVAL. DuckDB's cast does not read ISO 8601, so the parts are
 *   rewritten into the `1 years 2 months …` form it reads; months, days and
 *   microseconds stay separate, as in PostgreSQL.
 * - cr8tor_numbers_as_strings: a JSON array of numbers with every number quoted.
 * - cr8tor_array_depth: how many `[` open a JSON array's text (NULL for NULL and `[]`).
 * - cr8tor_bc: PostgreSQL's `YYYY-… BC` → the astronomical year DuckDB reads
 *   (`0044-03-15 BC` → `-0043-03-15`, 1 BC → year 0); other text unchanged.
 */
export const CONVERSION_MACROS: readonly string[] = [
  String.raw`CREATE OR REPLACE TEMP MACRO cr8tor_blob(s) AS CASE
    WHEN s IS NULL THEN NULL
    WHEN starts_with(s, '\x') THEN unhex(substr(s, 3))
    ELSE error('cr8tor: a binary value is not in the \x hex form') END`,
  String.raw`CREATE OR REPLACE TEMP MACRO cr8tor_interval_text(s) AS concat(
    regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(split_part(s, 'T', 1), '^P', ''),
      '(-?\d+)Y', '\1 years '), '(-?\d+)M', '\1 months '), '(-?\d+)W', '\1 weeks '), '(-?\d+)D', '\1 days '),
    regexp_replace(regexp_replace(regexp_replace(split_part(s, 'T', 2),
      '(-?\d+)H', '\1 hours '), '(-?\d+)M', '\1 minutes '), '(-?\d+(?:\.\d+)?)S', '\1 seconds '))`,
  String.raw`CREATE OR REPLACE TEMP MACRO cr8tor_interval(s) AS CASE
    WHEN s IS NULL THEN NULL
    WHEN NOT regexp_full_match(s, '${ISO_DURATION}') OR s IN ('P', '-P') OR ends_with(s, 'T')
      THEN error('cr8tor: an interval value is not an ISO 8601 duration')
    WHEN starts_with(s, '-') THEN -CAST(cr8tor_interval_text(substr(s, 2)) AS INTERVAL)
    ELSE CAST(cr8tor_interval_text(s) AS INTERVAL) END`,
  String.raw`CREATE OR REPLACE TEMP MACRO cr8tor_numbers_as_strings(s) AS
    CAST(regexp_replace(replace(s, '"', ''), '(-?(?:[0-9][0-9.eE+-]*|Infinity)|NaN)', '"\1"', 'g') AS JSON)`,
  String.raw`CREATE OR REPLACE TEMP MACRO cr8tor_array_depth(s) AS CASE
    WHEN s IS NULL OR regexp_full_match(s, '\s*\[\s*\]\s*') THEN NULL
    ELSE length(regexp_replace(regexp_extract(s, '^[\[\s]*'), '\s', '', 'g')) END`,
  String.raw`CREATE OR REPLACE TEMP MACRO cr8tor_bc(s) AS CASE
    WHEN s IS NULL OR NOT ends_with(s, ' BC') THEN s
    WHEN NOT regexp_full_match(s, '\d+-.* BC') THEN error('cr8tor: a BC date is not in the YYYY-MM-DD … BC form')
    ELSE concat(
      CASE WHEN CAST(regexp_extract(s, '^(\d+)-', 1) AS BIGINT) > 1 THEN '-' ELSE '' END,
      lpad(CAST(CAST(regexp_extract(s, '^(\d+)-', 1) AS BIGINT) - 1 AS VARCHAR), 4, '0'),
      '-', regexp_extract(s, '^\d+-(.*) BC$', 1)) END`,
];
