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
 */
export type LogicalType =
  | { kind: 'int8' | 'int16' | 'int32' | 'int64' }
  | { kind: 'uint8' | 'uint16' | 'uint32' | 'uint64' }
  /** precision/scale absent: unbounded (PostgreSQL `numeric` without a modifier). */
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
