/**
 * The logical type table: every source type maps into one of these, and every
 * destination type is chosen from one of these. A column schema carries what
 * the value needs to survive exactly: precision and scale, time zone, element
 * type, enum labels.
 *
 * Canonical text form (what extraction emits into the intermediate CSV stream,
 * and what the CSV files researchers receive contain):
 *
 * | kind                    | text form                                              |
 * |-------------------------|--------------------------------------------------------|
 * | int8…int64, uint8…uint64| decimal digits, never through a float                  |
 * | decimal                 | exact decimal digits as the source holds them          |
 * | float32, float64        | shortest round-trip decimal; NaN, Infinity, -Infinity  |
 * |                         | (spelled as PostgreSQL prints float4/float8, see below)|
 * | boolean                 | true / false                                           |
 * | text, enum, uuid, other | the value itself                                       |
 * | date                    | YYYY-MM-DD                                             |
 * | time                    | HH:MM:SS[.ffffff]; with zone: +HH:MM appended          |
 * | timestamp               | YYYY-MM-DDTHH:MM:SS[.ffffff] (no zone: as stored)      |
 * | timestamptz             | YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00 (the instant, UTC)  |
 * | interval                | ISO 8601 duration, e.g. P1Y2M3DT4H5M6.5S               |
 * | json                    | the JSON text                                          |
 * | binary                  | \x followed by lowercase hex                           |
 * | array                   | a JSON array of the elements' JSON values              |
 *
 * NULL is an empty unquoted field; the empty string is `""`.
 *
 * Spelling details, so every source writes a value byte for byte alike
 * (PostgreSQL prints these itself; lib/types/canonical.ts reproduces them):
 * - floats: the shortest digits strictly inside the value's rounding interval;
 *   fixed notation when the decimal exponent is in [-4, 15) (float64) or
 *   [-4, 6) (float32), otherwise `d.ddde±XX` (1e+15, 1.5e-07); `-0` keeps its sign.
 * - fractional seconds appear only when non-zero, without trailing zeros
 *   (`12:00:00.5`, `12:00:00`).
 * - decimals keep the column's scale (`1.50` in a numeric(12,2)).
 * - arrays: PostgreSQL's to_json of the array (timestamps inside are JSON
 *   strings in the same ISO form, but time-with-zone elements keep PostgreSQL's
 *   short offset `+05`; bytea elements are `"\\x…"`).
 * Values no canonical form can hold pass through as the source prints them:
 * PostgreSQL infinite and BC dates/timestamps (`infinity`, `0044-03-15 BC`),
 * MySQL zero dates (`0000-00-00`) and TIME beyond 24h or negative.
 */
export type LogicalType =
  | { kind: 'int8' | 'int16' | 'int32' | 'int64' }
  | { kind: 'uint8' | 'uint16' | 'uint32' | 'uint64' }
  /**
   * precision/scale absent: unbounded (PostgreSQL `numeric` without a modifier).
   * scale may be negative (PostgreSQL 15+: numeric(5,-2) rounds to hundreds).
   */
  | { kind: 'decimal'; precision?: number; scale?: number }
  | { kind: 'float32' | 'float64' }
  | { kind: 'boolean' }
  /** length: the declared maximum in characters, if any. */
  | { kind: 'text'; length?: number }
  | { kind: 'date' }
  | { kind: 'time'; withZone: boolean }
  | { kind: 'timestamp' }
  | { kind: 'timestamptz' }
  | { kind: 'interval' }
  | { kind: 'uuid' }
  | { kind: 'json' }
  | { kind: 'binary' }
  | { kind: 'array'; element: LogicalType }
  | { kind: 'enum'; values: string[] }
  /** A source type mapped on purpose to its text form (e.g. PostgreSQL inet, MySQL geometry as WKT). */
  | { kind: 'other'; native: string };

export type LogicalKind = LogicalType['kind'];

/** Every logical kind, for tables that must cover them all. */
export const LOGICAL_KINDS: readonly LogicalKind[] = [
  'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64',
  'decimal', 'float32', 'float64', 'boolean', 'text', 'date', 'time', 'timestamp', 'timestamptz',
  'interval', 'uuid', 'json', 'binary', 'array', 'enum', 'other',
];

/** The innermost element type of an array type, and how many array levels wrap it. */
export function arrayLeaf(type: LogicalType & { kind: 'array' }): { leaf: LogicalType; depth: number } {
  let leaf: LogicalType = type;
  let depth = 0;
  while (leaf.kind === 'array') {
    leaf = leaf.element;
    depth++;
  }
  return { leaf, depth };
}

/**
 * A logical type as one line of text, all of it (precision, scale, length,
 * zone, element, labels): two columns have the same text exactly when their
 * values take the same form. `decimal(12,2)`, `text(50)`, `time with zone`,
 * `array<int32>`, `enum["a","b"]`, `other(inet)`.
 */
export function logicalTypeText(type: LogicalType): string {
  switch (type.kind) {
    case 'decimal':
      return type.precision === undefined ? 'decimal' : `decimal(${type.precision}${type.scale === undefined ? '' : `,${type.scale}`})`;
    case 'text':
      return type.length === undefined ? 'text' : `text(${type.length})`;
    case 'time':
      return type.withZone ? 'time with zone' : 'time';
    case 'array':
      return `array<${logicalTypeText(type.element)}>`;
    case 'enum':
      return `enum${JSON.stringify(type.values)}`;
    case 'other':
      return `other(${type.native})`;
    default:
      return type.kind;
  }
}
