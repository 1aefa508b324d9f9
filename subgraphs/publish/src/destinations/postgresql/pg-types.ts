import { arrayLeaf, type LogicalType } from '../../../../../lib/types/logical.js';

/**
 * Logical type → PostgreSQL type, and how a column's canonical text
 * (lib/types/logical.ts) gets into it. COPY … FROM (FORMAT csv) reads every
 * canonical form as it is except arrays, which arrive as JSON text: those are
 * loaded as text and converted once after the load.
 *
 * | logical                       | PostgreSQL                                         | load                      |
 * |-------------------------------|----------------------------------------------------|---------------------------|
 * | int8, int16, int32, int64     | smallint, smallint, integer, bigint (no 1-byte int)| as is                     |
 * | uint8, uint16, uint32, uint64 | smallint, integer, bigint, numeric(20,0)           | as is                     |
 * | decimal(p,s)                  | numeric(p,s); before PostgreSQL 15 a scale < 0 or > p is widened (numeric(p-s,0), numeric(s,s)) | as is (NaN, ±Infinity too) |
 * | decimal unbounded             | numeric                                            | as is                     |
 * | float32, float64              | real, double precision                             | as is (NaN, ±Infinity)    |
 * | boolean                       | boolean                                            | as is                     |
 * | text (length n)               | varchar(n); text when unbounded or n > 10485760    | as is                     |
 * | date                          | date                                               | as is (`infinity`, BC too)|
 * | time / with zone              | time / timetz (µs)                                 | as is                     |
 * | timestamp / timestamptz       | timestamp / timestamptz (µs)                       | as is (T, +00:00 read)    |
 * | interval                      | interval                                           | as is (ISO 8601, signed parts) |
 * | uuid                          | uuid                                               | as is                     |
 * | json                          | jsonb (as the original's dlt did; keys normalised) | as is                     |
 * | binary                        | bytea                                              | as is (`\x` hex input)    |
 * | enum                          | text: the labels are not a type of their own here (see below) | as is          |
 * | other                         | text: the source's own spelling, deliberately      | as is                     |
 * | array of T                    | T[] (PostgreSQL arrays have no fixed dimensions)   | text, then JSON → array   |
 *
 * Enums become text: OPAL and DataSHIELD read them as character strings anyway,
 * a created enum type would be one more object per column to name within 63
 * bytes, and MySQL stores '' for an invalid enum value, which no enum type
 * built from the labels would accept.
 */

/** What the loader needs to know about the server. */
export interface ServerTraits {
  /** server_version_num, e.g. 150004. */
  versionNum: number;
}

/** PostgreSQL's largest varchar length. */
const MAX_VARCHAR = 10_485_760;
/** PostgreSQL's largest numeric precision. */
const MAX_NUMERIC_PRECISION = 1000;

const INTEGERS: Record<string, string> = {
  int8: 'smallint',
  int16: 'smallint',
  int32: 'integer',
  int64: 'bigint',
  uint8: 'smallint',
  uint16: 'integer',
  uint32: 'bigint',
  uint64: 'numeric(20,0)',
};

/** The numeric type holding every value of decimal(p,s). */
export function numericType(precision: number | undefined, scale: number | undefined, server: ServerTraits): string {
  if (precision == null || precision < 1 || precision > MAX_NUMERIC_PRECISION) return 'numeric';
  const s = scale ?? 0;
  if (s >= 0 && s <= precision) return `numeric(${precision},${s})`;
  // PostgreSQL 15 takes a scale below 0 or above the precision as it is.
  if (server.versionNum >= 150000 && s >= -1000 && s <= 1000) return `numeric(${precision},${s})`;
  if (s < 0) return precision - s <= MAX_NUMERIC_PRECISION ? `numeric(${precision - s},0)` : 'numeric';
  return s <= MAX_NUMERIC_PRECISION ? `numeric(${s},${s})` : 'numeric';
}

/** The PostgreSQL type a logical type is stored as. */
export function pgType(type: LogicalType, server: ServerTraits): string {
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
      return numericType(type.precision, type.scale, server);
    case 'float32':
      return 'real';
    case 'float64':
      return 'double precision';
    case 'boolean':
      return 'boolean';
    case 'text':
      return type.length != null && type.length >= 1 && type.length <= MAX_VARCHAR ? `varchar(${type.length})` : 'text';
    case 'date':
      return 'date';
    case 'time':
      return type.withZone ? 'time with time zone' : 'time without time zone';
    case 'timestamp':
      return 'timestamp without time zone';
    case 'timestamptz':
      return 'timestamp with time zone';
    case 'interval':
      return 'interval';
    case 'uuid':
      return 'uuid';
    case 'json':
      return 'jsonb';
    case 'binary':
      return 'bytea';
    case 'enum':
    case 'other':
      return 'text';
    case 'array':
      return `${pgType(arrayLeaf(type).leaf, server)}[]`;
    default: {
      const unknown: never = type;
      throw new Error(`No PostgreSQL type for logical type ${JSON.stringify(unknown)}.`);
    }
  }
}

/** How one column is created, loaded and, where needed, converted. */
export interface ColumnPlan {
  /** The column's final type. */
  type: string;
  /** The type COPY loads the text into; equals `type` when no conversion follows. */
  loadAs: string;
  /** The `USING` expression turning the loaded column (a quoted identifier) into `type`; absent when none is needed. */
  convert?: (column: string) => string;
}

/** The session function that turns canonical JSON array text into PostgreSQL's array literal. */
export const ARRAY_FUNCTION = 'pg_temp.cr8tor_array_text';

/** How a column of this logical type is created and loaded. */
export function columnPlan(type: LogicalType, server: ServerTraits): ColumnPlan {
  const stored = pgType(type, server);
  if (type.kind !== 'array') return { type: stored, loadAs: stored };
  const jsonLeaf = arrayLeaf(type).leaf.kind === 'json';
  return {
    type: stored,
    loadAs: 'text',
    convert: (column) => `${ARRAY_FUNCTION}(${column}::json, ${jsonLeaf})::${stored}`,
  };
}

/**
 * Creates {@link ARRAY_FUNCTION} for this session (pg_temp: it never outlives
 * the connection and leaves nothing in the database). A JSON array becomes the
 * array literal of the same shape: JSON null → NULL, nested arrays → nested
 * braces, strings unescaped then quoted for the literal, numbers and booleans
 * as written. With `json_leaf` (arrays of json) every element is a JSON value
 * and is kept as its JSON text, nested arrays included.
 */
export const ARRAY_FUNCTION_SQL = String.raw`CREATE OR REPLACE FUNCTION ${ARRAY_FUNCTION}(j json, json_leaf boolean) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $cr8tor$
BEGIN
  IF j IS NULL THEN RETURN NULL; END IF;
  IF json_typeof(j) <> 'array' THEN
    RAISE EXCEPTION 'cr8tor: an array value is not a JSON array' USING ERRCODE = '22P02';
  END IF;
  RETURN '{' || coalesce((
    SELECT string_agg(
      CASE
        WHEN json_typeof(e) = 'null' THEN 'NULL'
        WHEN json_typeof(e) = 'array' AND NOT json_leaf THEN ${ARRAY_FUNCTION}(e, false)
        ELSE '"' || replace(replace(
          CASE WHEN json_typeof(e) = 'string' AND NOT json_leaf THEN e #>> '{}' ELSE e::text END,
          '\', '\\'), '"', '\"') || '"'
      END, ',' ORDER BY n)
    FROM json_array_elements(j) WITH ORDINALITY AS a(e, n)), '') || '}';
END
$cr8tor$`;
