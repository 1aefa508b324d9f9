/**
 * Databricks (Unity Catalog) types → logical types; the SELECT expression and
 * the formatter that together print each value in its canonical text form
 * (lib/types/logical.ts). Everything the driver could round or reshape is
 * turned into text by the warehouse, so a value reads the same whether the
 * warehouse answers column-based Thrift rows or Arrow batches.
 *
 * | type_name (type_text)                  | logical              | read as                                              |
 * |----------------------------------------|----------------------|------------------------------------------------------|
 * | BYTE (tinyint), SHORT, INT             | int8, int16, int32   | the driver's number                                  |
 * | LONG (bigint)                          | int64                | CAST(… AS STRING): never through a float             |
 * | DECIMAL (decimal(p,s))                 | decimal p,s          | CAST(… AS STRING): the declared scale's digits       |
 * | FLOAT, DOUBLE                          | float32, float64     | the driver's number, shortest round-trip form        |
 * | BOOLEAN                                | boolean              | true / false                                         |
 * | STRING, CHAR(n), VARCHAR(n)            | text (length n)      | as is                                                |
 * | DATE                                   | date                 | CAST(… AS STRING)                                    |
 * | TIMESTAMP (an instant)                 | timestamptz          | unix_micros(…) as text, printed in UTC with `+00:00` |
 * | TIMESTAMP_NTZ                          | timestamp            | CAST(… AS STRING), `T` between date and time         |
 * | BINARY                                 | binary               | lower(hex(…)) after `\x`                             |
 * | ARRAY<integer, string or boolean>      | array of that        | to_json(…) keeping NULL struct fields (see below)    |
 * | other ARRAY, MAP, STRUCT               | json                 | to_json(…) keeping NULL struct fields                |
 * | VARIANT                                | json                 | to_json(…) keeping NULL struct fields                |
 * | INTERVAL (year-month or day-time)      | interval             | CAST(… AS STRING) `INTERVAL '1-2' YEAR TO MONTH` → ISO 8601 `P1Y2M` |
 * | GEOGRAPHY, GEOMETRY, NULL, USER_DEFINED_TYPE, anything else | none: the catalog refuses the table |            |
 *
 * Spark's to_json leaves out struct fields that are NULL unless told
 * otherwise (`spark.sql.jsonGenerator.ignoreNullFields`, which a SQL
 * warehouse session cannot set), so every to_json carries the option itself.
 * CAST(decimal AS STRING) prints plain digits only under ANSI mode: the
 * session sets ANSI_MODE (warehouse.ts, SESSION_CONFIGURATION).
 */
import type { LogicalType } from '../../types/logical.js';
import { formatFloat32, formatFloat64, isoTimestamp, trimFraction, nullable, type Formatter } from '../../types/canonical.js';

/** What Unity Catalog reports about a column's type. */
export interface DatabricksTypeInfo {
  /** ColumnInfo.type_name, e.g. `LONG`, `DECIMAL`, `TIMESTAMP_NTZ`. */
  typeName?: string | undefined;
  /** ColumnInfo.type_text, e.g. `bigint`, `decimal(10,2)`, `array<int>`. */
  typeText: string;
  precision?: number | undefined;
  scale?: number | undefined;
}

/** type_text spellings of the type names, for columns Unity Catalog reports without a type_name. */
const TEXT_NAMES: Record<string, string> = {
  tinyint: 'BYTE', byte: 'BYTE', smallint: 'SHORT', short: 'SHORT', int: 'INT', integer: 'INT', bigint: 'LONG', long: 'LONG',
  float: 'FLOAT', real: 'FLOAT', double: 'DOUBLE', decimal: 'DECIMAL', dec: 'DECIMAL', numeric: 'DECIMAL', boolean: 'BOOLEAN',
  string: 'STRING', char: 'CHAR', varchar: 'STRING', date: 'DATE', timestamp: 'TIMESTAMP', timestamp_ltz: 'TIMESTAMP',
  timestamp_ntz: 'TIMESTAMP_NTZ', binary: 'BINARY', array: 'ARRAY', map: 'MAP', struct: 'STRUCT', interval: 'INTERVAL', variant: 'VARIANT',
};

function typeNameOf(info: DatabricksTypeInfo): string {
  if (info.typeName) return info.typeName.toUpperCase();
  const head = /^[a-z_]+/i.exec(info.typeText.trim())?.[0]?.toLowerCase() ?? '';
  return TEXT_NAMES[head] ?? head.toUpperCase();
}

const SIMPLE: Record<string, LogicalType> = {
  BYTE: { kind: 'int8' },
  SHORT: { kind: 'int16' },
  INT: { kind: 'int32' },
  LONG: { kind: 'int64' },
  FLOAT: { kind: 'float32' },
  DOUBLE: { kind: 'float64' },
  BOOLEAN: { kind: 'boolean' },
  DATE: { kind: 'date' },
  TIMESTAMP: { kind: 'timestamptz' },
  TIMESTAMP_NTZ: { kind: 'timestamp' },
  BINARY: { kind: 'binary' },
  MAP: { kind: 'json' },
  STRUCT: { kind: 'json' },
  VARIANT: { kind: 'json' },
  INTERVAL: { kind: 'interval' },
};

/** Element types whose to_json spelling is the canonical array form (digits, JSON strings, true/false). */
const ARRAY_ELEMENTS: Record<string, LogicalType> = {
  tinyint: { kind: 'int8' }, smallint: { kind: 'int16' }, int: { kind: 'int32' }, bigint: { kind: 'int64' },
  string: { kind: 'text' }, boolean: { kind: 'boolean' },
};

/** The logical type of a Databricks column, or undefined when its type has no mapping. */
export function databricksLogicalType(info: DatabricksTypeInfo): LogicalType | undefined {
  const name = typeNameOf(info);
  const text = info.typeText.trim().toLowerCase();
  switch (name) {
    case 'DECIMAL': {
      const m = /\((\d+)\s*(?:,\s*(\d+))?\)/.exec(text);
      const precision = info.precision ?? (m ? Number(m[1]) : 10);
      const scale = info.scale ?? (m ? Number(m[2] ?? 0) : 0);
      return { kind: 'decimal', precision, scale };
    }
    case 'STRING':
    case 'CHAR': {
      const m = /^(?:var)?char\((\d+)\)$/.exec(text);
      return m ? { kind: 'text', length: Number(m[1]) } : { kind: 'text' };
    }
    case 'ARRAY': {
      const element = /^array<\s*([a-z]+)\s*>$/.exec(text)?.[1];
      const simple = element === undefined ? undefined : ARRAY_ELEMENTS[element];
      return simple ? { kind: 'array', element: simple } : { kind: 'json' };
    }
  }
  return SIMPLE[name];
}

/** A Databricks identifier in backticks, backticks doubled. */
export function quoteIdentifier(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

/** The SELECT expression for a column (already a quoted identifier) of the given logical type. */
export function databricksSelectExpression(column: string, logical: LogicalType): string {
  switch (logical.kind) {
    case 'int64':
    case 'decimal':
    case 'date':
    case 'timestamp':
    case 'interval':
      return `CAST(${column} AS STRING)`;
    case 'timestamptz':
      return `CAST(unix_micros(${column}) AS STRING)`;
    case 'binary':
      return `lower(hex(${column}))`;
    case 'array':
    case 'json':
      return `to_json(${column}, map('ignoreNullFields', 'false'))`;
    default:
      return column;
  }
}


const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Microseconds since the epoch (as digits) → `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`. */
export function utcFromMicros(digits: string): string {
  const micros = BigInt(digits);
  let seconds = micros / 1_000_000n;
  let fraction = micros % 1_000_000n;
  if (fraction < 0n) {
    fraction += 1_000_000n;
    seconds -= 1n;
  }
  const d = new Date(Number(seconds) * 1000);
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  return `${date}T${trimFraction(`${time}.${fraction.toString().padStart(6, '0')}`)}+00:00`;
}

const YEAR_MONTH = ['YEAR', 'MONTH'];
const DAY_TIME = ['DAY', 'HOUR', 'MINUTE', 'SECOND'];
const ISO_LETTER: Record<string, string> = { YEAR: 'Y', MONTH: 'M', DAY: 'D', HOUR: 'H', MINUTE: 'M', SECOND: 'S' };

/**
 * An ANSI interval as Databricks prints it (`INTERVAL '1-2' YEAR TO MONTH`,
 * `INTERVAL '-3 04:05:06.5' DAY TO SECOND`) → ISO 8601 as PostgreSQL's
 * iso_8601 style prints it: every non-zero part signed (`P-3DT-4H-5M-6S`),
 * `PT0S` for zero.
 */
export function isoFromAnsiInterval(text: string): string {
  const m = /^INTERVAL '([+-]?)([^']*)' (YEAR|MONTH|DAY|HOUR|MINUTE|SECOND)(?: TO (MONTH|HOUR|MINUTE|SECOND))?$/i.exec(text.trim());
  if (!m) throw new TypeError(`'${text}' is not an ANSI interval literal`);
  const negative = m[1] === '-';
  const from = m[3]!.toUpperCase();
  const to = (m[4] ?? m[3]!).toUpperCase();
  const fields = YEAR_MONTH.includes(from) ? YEAR_MONTH : DAY_TIME;
  const names = fields.slice(fields.indexOf(from), fields.indexOf(to) + 1);
  const parts = m[2]!.trim().split(/[-\s:]+/);
  if (parts.length !== names.length) throw new TypeError(`'${text}' does not have the fields it names`);
  const sign = negative ? '-' : '';
  const values = new Map(names.map((n, i) => [n, parts[i]!]));
  const render = (name: string) => {
    const raw = values.get(name);
    if (raw === undefined) return '';
    const number = name === 'SECOND' ? trimFraction(raw.replace(/^0+(?=\d)/, '')) : String(Number(raw));
    return /^0(\.0*)?$/.test(number) ? '' : `${sign}${number}${ISO_LETTER[name]}`;
  };
  const date = ['YEAR', 'MONTH', 'DAY'].map(render).join('');
  const time = ['HOUR', 'MINUTE', 'SECOND'].map(render).join('');
  if (!date && !time) return 'PT0S';
  return `P${date}${time ? `T${time}` : ''}`;
}

/** The formatter turning what @databricks/sql returns for {@link databricksSelectExpression} into the canonical form. */
export function databricksFormatter(logical: LogicalType): Formatter {
  switch (logical.kind) {
    case 'boolean':
      return nullable((v) => (v === true || v === 'true' ? 'true' : 'false'));
    case 'float32':
      return nullable((v) => formatFloat32(Number(v)));
    case 'float64':
      return nullable((v) => formatFloat64(Number(v)));
    case 'timestamptz':
      return nullable((v) => utcFromMicros(String(v)));
    case 'timestamp':
      return nullable((v) => isoTimestamp(String(v)));
    case 'binary':
      return nullable((v) => `\\x${String(v).toLowerCase()}`);
    case 'interval':
      return nullable((v) => isoFromAnsiInterval(String(v)));
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'decimal':
    case 'date':
    case 'text':
    case 'json':
    case 'array':
      return nullable((v) => String(v));
    default:
      throw new Error(`Databricks has no ${logical.kind} columns.`);
  }
}
