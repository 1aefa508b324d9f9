/**
 * PostgreSQL native types → logical types, and how each column's canonical
 * text form is made: COPY sends the plain text output (under the session
 * settings of snapshot.ts), and copy-text.ts rewrites the few types whose
 * output differs from the canonical form, in the service.
 *
 * Domains are resolved to their base type first (the column keeps the domain's
 * name as its `datatype`); an array maps to `array` of its element's mapping.
 *
 * | native (pg_catalog unless noted)            | logical                    | canonical form from the plain output              |
 * |---------------------------------------------|----------------------------|---------------------------------------------------|
 * | smallint, integer, bigint                   | int16, int32, int64        | as is                                             |
 * | numeric(p,s)                                | decimal p,s (s may be < 0) | as is: exact digits, scale kept (1.50)            |
 * | numeric (no modifier)                       | decimal, unbounded         | as is; NaN, Infinity, -Infinity as PG spells them |
 * | real, double precision                      | float32, float64           | as is with extra_float_digits = 1: shortest       |
 * | text, varchar(n), char(n), name, "char"     | text (length n)            | as is (char(n) keeps its padding)                 |
 * | citext (extension, any schema)              | text                       | as is                                             |
 * | boolean                                     | boolean                    | t / f → true / false (transform)                  |
 * | date                                        | date                       | as is with DateStyle ISO                          |
 * | time                                        | time, no zone              | as is                                             |
 * | time with time zone                         | time, with zone            | offset widened to ±HH:MM (transform)              |
 * | timestamp                                   | timestamp                  | first space → T: YYYY-MM-DDTHH:MM:SS[.ffffff] (transform) |
 * | timestamp with time zone                    | timestamptz                | the same in a UTC session, +00 widened to +00:00 (transform) |
 * | interval                                    | interval                   | as is with IntervalStyle iso_8601                 |
 * | uuid                                        | uuid                       | as is                                             |
 * | json, jsonb                                 | json                       | as is (jsonb in its normalised spelling)          |
 * | bytea                                       | binary                     | as is with bytea_output hex: \x…                  |
 * | any of these [] (any dimensions)            | array of the element       | to_json(c)::text, in SQL                          |
 * | user enum                                   | enum, labels in sort order | as is                                             |
 * | inet, cidr, macaddr, macaddr8, money, xml,  | other (deliberate)         | as is (money with lc_monetary C: $1,234.56)       |
 * |   tsvector, tsquery, bit(n), bit varying,   |                            |                                                   |
 * |   point, line, lseg, box, path, polygon,    |                            |                                                   |
 * |   circle; range and multirange types        |                            |                                                   |
 * | anything else (composite, pg_lsn, oid, …)   | none: the catalog refuses  |                                                   |
 *
 * Timestamps PostgreSQL cannot print in ISO 8601 keep its own spelling, as
 * to_json gives it: infinities as they are, BC values with the T and ` BC`
 * (`0044-03-15T12:00:00+00:00 BC`).
 *
 * bit(1) stays `other` ('0'/'1'): PostgreSQL has a real boolean, and a bit
 * string of length one is still a bit string.
 */
import type { LogicalType } from '../../types/logical.js';
import type { PgTextKind } from './copy-text.js';

/** What the catalog query reports about a column's type, domains resolved. */
export interface PgTypeInfo {
  /** pg_type.typname of the base type. */
  typeName: string;
  /** Schema of the base type. */
  typeSchema: string;
  /** pg_type.typtype of the base type: b base, c composite, e enum, p pseudo, r range, m multirange. */
  typeKind: string;
  /** The type modifier in effect (the column's, or the nearest domain's); -1 when none. */
  typmod: number;
  /** format_type of the base type with its modifier, e.g. `numeric(12,2)`, `inet`. */
  typeSql: string;
  /** For an array: the same for its element type, domains resolved. */
  element?: Omit<PgTypeInfo, 'element' | 'enumLabels'>;
  /** Labels of the enum (the column's, or its element's), in sort order. */
  enumLabels?: string[];
}

/** The 4-byte header PostgreSQL adds to length modifiers of varlena types. */
const VARHDRSZ = 4;

function length(typmod: number): number | undefined {
  return typmod >= VARHDRSZ ? typmod - VARHDRSZ : undefined;
}

function numeric(typmod: number): LogicalType {
  if (typmod < VARHDRSZ) return { kind: 'decimal' };
  const packed = typmod - VARHDRSZ;
  // Since PostgreSQL 15 the scale is an 11-bit signed field and may be negative.
  return { kind: 'decimal', precision: (packed >> 16) & 0xffff, scale: ((packed & 0x7ff) ^ 1024) - 1024 };
}

const text = (typmod: number): LogicalType => {
  const n = length(typmod);
  return n === undefined ? { kind: 'text' } : { kind: 'text', length: n };
};

/** Built-in scalar types, by pg_catalog name. */
const BUILTIN: Record<string, (typmod: number, typeSql: string) => LogicalType> = {
  int2: () => ({ kind: 'int16' }),
  int4: () => ({ kind: 'int32' }),
  int8: () => ({ kind: 'int64' }),
  numeric,
  float4: () => ({ kind: 'float32' }),
  float8: () => ({ kind: 'float64' }),
  bool: () => ({ kind: 'boolean' }),
  text: () => ({ kind: 'text' }),
  varchar: text,
  bpchar: text,
  name: () => ({ kind: 'text' }),
  char: () => ({ kind: 'text', length: 1 }),
  date: () => ({ kind: 'date' }),
  time: () => ({ kind: 'time', withZone: false }),
  timetz: () => ({ kind: 'time', withZone: true }),
  timestamp: () => ({ kind: 'timestamp' }),
  timestamptz: () => ({ kind: 'timestamptz' }),
  interval: () => ({ kind: 'interval' }),
  uuid: () => ({ kind: 'uuid' }),
  json: () => ({ kind: 'json' }),
  jsonb: () => ({ kind: 'json' }),
  bytea: () => ({ kind: 'binary' }),
};

/** Built-in types deliberately carried as their PostgreSQL text form. */
const AS_TEXT = new Set([
  'inet', 'cidr', 'macaddr', 'macaddr8', 'money', 'xml', 'tsvector', 'tsquery', 'bit', 'varbit',
  'point', 'line', 'lseg', 'box', 'path', 'polygon', 'circle',
]);

function scalar(info: Omit<PgTypeInfo, 'element'>, labels: string[] | undefined): LogicalType | undefined {
  if (info.typeKind === 'e') return { kind: 'enum', values: labels ?? [] };
  if (info.typeKind === 'r' || info.typeKind === 'm') return { kind: 'other', native: info.typeSql };
  if (info.typeKind !== 'b') return undefined;
  if (info.typeName === 'citext') return { kind: 'text' };
  if (info.typeSchema !== 'pg_catalog') return undefined;
  const mapped = BUILTIN[info.typeName];
  if (mapped) return mapped(info.typmod, info.typeSql);
  if (AS_TEXT.has(info.typeName)) return { kind: 'other', native: info.typeSql };
  return undefined;
}

/** The logical type of a PostgreSQL column, or undefined when its type has no mapping. */
export function pgLogicalType(info: PgTypeInfo): LogicalType | undefined {
  if (info.element) {
    const element = scalar(info.element, info.enumLabels);
    return element && { kind: 'array', element };
  }
  return scalar(info, info.enumLabels);
}

/**
 * The SQL expression COPY reads a column (already a quoted identifier)
 * through: arrays as their JSON text (every element canonical, which no
 * transform of the array's text output could give as cheaply); every other
 * column bare, so COPY runs its output function alone, as `psql \copy` does.
 */
export function pgCopyExpression(column: string, logical: LogicalType): string {
  return logical.kind === 'array' ? `to_json(${column})::text` : column;
}

/** How copy-text.ts turns the column's plain text output into its canonical form. */
export function pgTextKind(logical: LogicalType): PgTextKind {
  switch (logical.kind) {
    case 'boolean':
    case 'timestamp':
    case 'timestamptz':
      return logical.kind;
    case 'time':
      return logical.withZone ? 'timetz' : 'plain';
    default:
      return 'plain';
  }
}
