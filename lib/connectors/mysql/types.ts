/**
 * MySQL and MariaDB native types → logical types; the SELECT expression and
 * the JavaScript formatter that together print each value in its canonical
 * text form (lib/types/logical.ts).
 *
 * | native (information_schema DATA_TYPE)           | logical                  | read as                                     |
 * |-------------------------------------------------|--------------------------|---------------------------------------------|
 * | tinyint, smallint, mediumint, int, bigint       | int8, int16, int32, int32, int64 | digits (bigint as a string, never a float) |
 * | … UNSIGNED                                      | uint8, uint16, uint32, uint32, uint64 | digits                          |
 * | tinyint(1) (what BOOLEAN is an alias of)        | int8, deliberately       | 0 / 1 / any other value it holds: it is an integer column |
 * | decimal(p,s), numeric(p,s)                      | decimal p,s              | exact digits from the server (string)       |
 * | float                                           | float32                  | widened in SQL (c + 0e0) for all digits, then shortest float4 form |
 * | double, real, float(p > 24)                     | float64                  | shortest float8 form                        |
 * | bit(1)                                          | boolean                  | CASE → true / false                         |
 * | bit(n), n > 1                                   | other                    | the n-character bit string, as PostgreSQL prints bit(n) |
 * | char(n), varchar(n)                             | text (length n)          | as is (MySQL strips CHAR padding)           |
 * | tinytext, text, mediumtext, longtext            | text                     | as is                                       |
 * | longtext with CHECK (json_valid(c)) (MariaDB's JSON) | json                | the text as stored                          |
 * | json (MySQL)                                    | json                     | the server's text (jsonStrings)             |
 * | enum('a','b')                                   | enum (labels parsed)     | as is                                       |
 * | set('a','b')                                    | other                    | the members, comma separated                |
 * | date                                            | date                     | YYYY-MM-DD (dateStrings)                    |
 * | time(n)                                         | time, no zone            | HH:MM:SS[.ffffff]; may exceed 24h or be negative |
 * | datetime(n)                                     | timestamp                | YYYY-MM-DDTHH:MM:SS[.ffffff]                |
 * | timestamp(n)                                    | timestamptz              | read in a UTC session, +00:00 appended      |
 * | year                                            | int16                    | digits                                      |
 * | binary, varbinary, tinyblob … longblob          | binary                   | \x + lowercase hex                          |
 * | uuid (MariaDB 10.7+)                            | uuid                     | as is                                       |
 * | inet4, inet6 (MariaDB 10.10+)                   | other                    | as is                                       |
 * | geometry, point, linestring, polygon, multi…, geometrycollection | other   | WKT (ST_AsText)                             |
 * | anything else (vector, …)                       | none: the catalog refuses |                                            |
 *
 * Zero dates ('0000-00-00') and TIME values outside 00:00–24:00 have no
 * canonical form; they are passed through as the server prints them.
 */
import type { LogicalType } from '../../types/logical.js';
import { asText, commonFormatter, hexBinary, nullable, type Formatter } from '../../types/canonical.js';

/** What the catalog reports about a column's type. */
export interface MysqlTypeInfo {
  /** information_schema.COLUMNS.DATA_TYPE, e.g. `int`, `varchar`, `longtext`. */
  dataType: string;
  /** information_schema.COLUMNS.COLUMN_TYPE, e.g. `int(10) unsigned`, `enum('a','b')`. */
  columnType: string;
  /** CHARACTER_MAXIMUM_LENGTH, for char and varchar. */
  charLength: number | null;
  /** Whether a CHECK constraint holds `json_valid(column)` (how MariaDB declares JSON). */
  jsonCheck: boolean;
}

const INTEGERS: Record<string, [LogicalType['kind'], LogicalType['kind']]> = {
  tinyint: ['int8', 'uint8'],
  smallint: ['int16', 'uint16'],
  mediumint: ['int32', 'uint32'],
  int: ['int32', 'uint32'],
  integer: ['int32', 'uint32'],
  bigint: ['int64', 'uint64'],
};

const TEXTS = new Set(['tinytext', 'text', 'mediumtext', 'longtext']);
const BINARIES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);
const GEOMETRIES = new Set(['geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection', 'geomcollection']);
const AS_TEXT = new Set(['set', 'inet4', 'inet6', ...GEOMETRIES]);

/** The quoted values of `enum('a','it''s')` / `set(…)`, unescaped. */
export function parseEnumValues(columnType: string): string[] {
  const values: string[] = [];
  const open = columnType.indexOf('(');
  let i = open + 1;
  while (open >= 0 && i < columnType.length) {
    if (columnType[i] !== "'") {
      i++;
      continue;
    }
    let value = '';
    for (i++; i < columnType.length; i++) {
      const ch = columnType[i]!;
      if (ch === "'" && columnType[i + 1] === "'") {
        value += "'";
        i++;
      } else if (ch === "'") {
        break;
      } else if (ch === '\\' && i + 1 < columnType.length) {
        const next = columnType[++i]!;
        value += ({ n: '\n', r: '\r', t: '\t', '0': '\0', Z: '\x1a', b: '\b' } as Record<string, string>)[next] ?? next;
      } else {
        value += ch;
      }
    }
    values.push(value);
    i++;
  }
  return values;
}

function precisionScale(columnType: string): { precision?: number; scale?: number } {
  const m = /\((\d+)(?:,(\d+))?\)/.exec(columnType);
  if (!m) return {};
  return { precision: Number(m[1]), scale: m[2] === undefined ? 0 : Number(m[2]) };
}

/** The bit width of `bit(n)`; `bit` alone is bit(1). */
function bitWidth(columnType: string): number {
  const m = /\((\d+)\)/.exec(columnType);
  return m ? Number(m[1]) : 1;
}

/** The logical type of a MySQL/MariaDB column, or undefined when its type has no mapping. */
export function mysqlLogicalType(info: MysqlTypeInfo): LogicalType | undefined {
  const dataType = info.dataType.toLowerCase();
  const columnType = info.columnType.toLowerCase();
  const integer = INTEGERS[dataType];
  if (integer) {
    const kind = / unsigned\b/.test(columnType) ? integer[1] : integer[0];
    return { kind } as LogicalType;
  }
  switch (dataType) {
    case 'decimal':
    case 'numeric':
      return { kind: 'decimal', ...precisionScale(columnType) };
    case 'float':
      return { kind: 'float32' };
    case 'double':
    case 'real':
      return { kind: 'float64' };
    case 'bit':
      return bitWidth(columnType) === 1 ? { kind: 'boolean' } : { kind: 'other', native: info.columnType };
    case 'char':
    case 'varchar':
      return info.charLength == null ? { kind: 'text' } : { kind: 'text', length: Number(info.charLength) };
    case 'enum':
      return { kind: 'enum', values: parseEnumValues(info.columnType) };
    case 'json':
      return { kind: 'json' };
    case 'date':
      return { kind: 'date' };
    case 'time':
      return { kind: 'time', withZone: false };
    case 'datetime':
      return { kind: 'timestamp' };
    case 'timestamp':
      return { kind: 'timestamptz' };
    case 'year':
      return { kind: 'int16' };
    case 'uuid':
      return { kind: 'uuid' };
  }
  if (TEXTS.has(dataType)) return info.jsonCheck ? { kind: 'json' } : { kind: 'text' };
  if (BINARIES.has(dataType)) return { kind: 'binary' };
  if (AS_TEXT.has(dataType)) return { kind: 'other', native: info.columnType };
  return undefined;
}

/** The leading word of a COLUMN_TYPE: `bit(8)` → `bit`, `point` → `point`. */
function baseName(native: string): string {
  return /^[a-z0-9]+/i.exec(native)?.[0]?.toLowerCase() ?? '';
}

/**
 * The SELECT expression for a column (already a quoted identifier): the
 * column itself, or SQL that hands the driver something it cannot lose.
 */
export function mysqlSelectExpression(column: string, logical: LogicalType): string {
  switch (logical.kind) {
    case 'boolean':
      return `CASE ${column} WHEN 1 THEN 'true' WHEN 0 THEN 'false' END`;
    case 'float32':
      // FLOAT travels with 6 significant digits; as a double every bit survives.
      return `(${column} + 0e0)`;
    case 'other': {
      const base = baseName(logical.native);
      if (base === 'bit') return `LPAD(BIN(${column}), ${bitWidth(logical.native)}, '0')`;
      if (GEOMETRIES.has(base)) return `ST_AsText(${column})`;
      return column;
    }
    default:
      return column;
  }
}

/** Leading zeros of ZEROFILL columns removed: `-0042.50` → `-42.50`. */
const unpad = (text: string): string => text.replace(/^(-?)0+(?=\d)/, '$1');

/** The formatter turning what mysql2 (dateStrings, bigNumberStrings, jsonStrings) returns into the canonical form. */
export function mysqlFormatter(logical: LogicalType, datatype: string): Formatter {
  const zerofill = /\bzerofill\b/i.test(datatype);
  switch (logical.kind) {
    case 'int8': case 'int16': case 'int32': case 'int64':
    case 'uint8': case 'uint16': case 'uint32': case 'uint64':
    case 'decimal':
      return zerofill ? nullable((v) => unpad(asText(v))) : nullable(asText);
    case 'float32': case 'float64': case 'time': case 'timestamp': case 'timestamptz':
      return commonFormatter(logical.kind);
    case 'binary':
      return nullable((v) => (Buffer.isBuffer(v) ? hexBinary(v) : hexBinary(Buffer.from(String(v), 'utf8'))));
    case 'array':
    case 'interval':
      throw new Error(`MySQL has no ${logical.kind} columns.`);
    default:
      return nullable(asText);
  }
}
