/**
 * The in-memory Unity Catalog and Delta tables behind the Databricks double,
 * and the statements the publisher's Databricks connector sends the
 * warehouse, evaluated with Databricks' semantics once the Spark grammar has
 * accepted them (spark-sql.ts):
 *
 * - `SELECT 1 AS one`;
 * - `DESCRIBE HISTORY c.s.t [LIMIT n]` (Delta tables only), with the columns
 *   Delta's history has;
 * - `SELECT <expr> AS cN, … FROM c.s.t [VERSION AS OF n]` where each
 *   expression is a column, `CAST(e AS STRING)`, `unix_micros(e)`,
 *   `lower(hex(e))` or `to_json(e[, map('option', 'value', …)])`.
 *
 * Session-dependent semantics are modelled, so output that depends on a
 * session setting differs when the setting is not what the connector sets:
 * `CAST(decimal AS STRING)` prints plain digits only with ANSI_MODE true
 * (otherwise Java's BigDecimal.toString: `0E-10`, `-1E-10`); `to_json` drops
 * NULL struct fields unless its options say `ignoreNullFields` false (a SQL
 * warehouse session cannot change the default); `CAST(timestamp AS STRING)`
 * prints the instant in the session's TIMEZONE.
 *
 * Values are held as: numbers for BYTE/SHORT/INT/FLOAT/DOUBLE, bigint for
 * LONG, digit strings for DECIMAL, booleans, strings, `YYYY-MM-DD` for DATE,
 * an ISO instant with offset for TIMESTAMP (`2024-03-01T10:15:30.5+05:30`),
 * `YYYY-MM-DD HH:MM:SS[.ffffff]` for TIMESTAMP_NTZ, Buffers for BINARY,
 * JavaScript arrays/objects for ARRAY/MAP/STRUCT, and the ANSI literal for
 * INTERVAL (`INTERVAL '1-2' YEAR TO MONTH`, as CAST(… AS STRING) prints it).
 *
 * What it does not do: run arbitrary SQL. Any other statement or expression
 * is refused as not understood (and recorded by the warehouse double).
 */
import { DbxSqlError, DESCRIBE_HISTORY } from './spark-sql.js';

/** A column as Unity Catalog describes it (ColumnInfo), position implied by order. */
export interface DbxColumn {
  name: string;
  /** ColumnInfo.type_name: LONG, INT, DECIMAL, STRING, TIMESTAMP, TIMESTAMP_NTZ, ARRAY, … */
  typeName: string;
  /** ColumnInfo.type_text: `bigint`, `decimal(12,2)`, `array<int>`, … */
  typeText: string;
  comment?: string;
  nullable?: boolean;
}

export interface DbxTable {
  name: string;
  comment?: string;
  /** MANAGED (default), EXTERNAL, VIEW, … */
  tableType?: string;
  /** DELTA (default for tables), or another format; views have none. */
  dataSourceFormat?: string;
  columns: DbxColumn[];
  primaryKey?: string[];
  /** The current rows, in column order. */
  rows: unknown[][] | (() => Iterable<unknown[]>);
  /** The latest Delta version (default 0); older versions are not kept. */
  version?: number;
  /**
   * The service principal has BROWSE on it, not SELECT: Unity Catalog lists it
   * only with include_browse=true, and describes it marked `browse_only`.
   */
  browseOnly?: boolean;
}

export interface DbxSchema {
  comment?: string;
  tables: DbxTable[];
}

export interface DbxCatalog {
  name: string;
  schemas: Record<string, DbxSchema>;
}

/** Thrift result column types the double uses (TTypeId names). */
export type ResultType = 'BOOLEAN' | 'TINYINT' | 'SMALLINT' | 'INT' | 'BIGINT' | 'FLOAT' | 'DOUBLE' | 'STRING' | 'BINARY' | 'TIMESTAMP' | 'MAP' | 'STRUCT';

export interface ResultColumn {
  name: string;
  type: ResultType;
}

export interface StatementResult {
  columns: ResultColumn[];
  rows: () => Iterable<unknown[]>;
}

/** The session settings the model's answers depend on. */
export interface SessionSettings {
  /** ANSI_MODE. */
  ansi: boolean;
  /** TIMEZONE (an IANA zone name or `UTC`). */
  timeZone: string;
}

const BARE_TYPES: Record<string, ResultType> = {
  BOOLEAN: 'BOOLEAN', BYTE: 'TINYINT', SHORT: 'SMALLINT', INT: 'INT', LONG: 'BIGINT', FLOAT: 'FLOAT', DOUBLE: 'DOUBLE', STRING: 'STRING', CHAR: 'STRING', BINARY: 'BINARY',
};

/** `a``b` → a`b for each backticked part of a qualified name. */
function unquoteParts(text: string): string[] {
  const parts: string[] = [];
  const re = /`((?:[^`]|``)*)`/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) parts.push(m[1]!.replaceAll('``', '`'));
  return parts;
}

/** Microseconds since the epoch of an ISO instant with offset, fraction digits kept exactly. */
export function microsOf(instant: string): bigint {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:\d{2})$/.exec(instant);
  if (!m) throw new Error(`'${instant}' is not an ISO instant`);
  const d = new Date(0);
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  d.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), 0);
  let offsetMinutes = 0;
  if (m[8] !== 'Z') offsetMinutes = (m[8]![0] === '-' ? -1 : 1) * (Number(m[8]!.slice(1, 3)) * 60 + Number(m[8]!.slice(4, 6)));
  return BigInt(d.getTime() - offsetMinutes * 60_000) * 1000n + BigInt((m[7] ?? '').padEnd(6, '0') || '0');
}

/** Spark's STRING form of a timestamp's wall clock: fraction without trailing zeros. */
function trimmedFraction(value: string): string {
  const [main = '', frac = ''] = value.split('.');
  const trimmed = frac.replace(/0+$/, '');
  return trimmed ? `${main}.${trimmed}` : main;
}

/** CAST(timestamp AS STRING): the instant's wall clock in the session time zone. */
export function timestampText(micros: bigint, timeZone: string): string {
  const ms = Number(micros / 1000n);
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(new Date(Math.floor(ms / 1000) * 1000))
      .map((p) => [p.type, p.value]),
  );
  const fraction = (((micros % 1_000_000n) + 1_000_000n) % 1_000_000n).toString().padStart(6, '0');
  return trimmedFraction(`${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}.${fraction}`);
}

/** The declared scale's digits of a decimal held as text: [sign, unscaled digits, scale]. */
function decimalParts(value: string, typeText: string): [string, string, number] {
  const scale = Number(/\(\s*\d+\s*,\s*(\d+)\s*\)/.exec(typeText)?.[1] ?? 0);
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(value);
  if (!m) throw new Error(`'${value}' is not a decimal`);
  const frac = (m[3] ?? '').padEnd(scale, '0');
  if (frac.length > scale) throw new Error(`'${value}' has more digits than ${typeText} holds`);
  const unscaled = `${m[2] || '0'}${frac}`.replace(/^0+(?=\d)/, '');
  return [unscaled === '0' ? '' : m[1]!, unscaled, scale];
}

/**
 * CAST(decimal AS STRING): plain digits under ANSI mode, otherwise Java's
 * BigDecimal.toString, which switches to scientific notation when the
 * adjusted exponent is below -6 (`0E-10`, `-1E-10`, `1.5E-7`).
 */
export function decimalText(value: string, typeText: string, ansi: boolean): string {
  const [sign, unscaled, scale] = decimalParts(value, typeText);
  const adjusted = unscaled.length - 1 - scale;
  if (ansi || adjusted >= -6) {
    if (scale === 0) return `${sign}${unscaled}`;
    const digits = unscaled.padStart(scale + 1, '0');
    return `${sign}${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  }
  const mantissa = unscaled.length > 1 ? `${unscaled[0]}.${unscaled.slice(1)}` : unscaled;
  return `${sign}${mantissa}E${adjusted}`;
}

/** A Spark type from its type_text: structs, maps and arrays by their parts, anything else by name. */
type SparkType = { kind: 'struct'; fields: Array<{ name: string; type: SparkType }> } | { kind: 'map'; value: SparkType } | { kind: 'array'; element: SparkType } | { kind: 'scalar' };

/** The comma-separated parts of a type list, at depth 0. */
function splitTop(text: string, separator = ','): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '<' || ch === '(') depth++;
    else if (ch === '>' || ch === ')') depth--;
    else if (depth === 0 && ch === separator) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts;
}

export function sparkType(text: string): SparkType {
  const t = text.trim();
  let m: RegExpExecArray | null;
  if ((m = /^struct<([\s\S]*)>$/i.exec(t))) {
    return {
      kind: 'struct',
      fields: splitTop(m[1]!).map((f) => {
        const colon = f.indexOf(':');
        return { name: f.slice(0, colon).trim().replace(/^`|`$/g, ''), type: sparkType(f.slice(colon + 1)) };
      }),
    };
  }
  if ((m = /^map<([\s\S]*)>$/i.exec(t))) return { kind: 'map', value: sparkType(splitTop(m[1]!)[1] ?? '') };
  if ((m = /^array<([\s\S]*)>$/i.exec(t))) return { kind: 'array', element: sparkType(m[1]!) };
  return { kind: 'scalar' };
}

/** Spark's JacksonGenerator: struct fields that are NULL are left out when `ignoreNullFields`; map values and array elements never. */
export function toJson(value: unknown, type: SparkType, ignoreNullFields: boolean): string {
  if (value === null || value === undefined) return 'null';
  switch (type.kind) {
    case 'struct': {
      const record = value as Record<string, unknown>;
      const fields = type.fields.filter((f) => !(ignoreNullFields && (record[f.name] === null || record[f.name] === undefined)));
      return `{${fields.map((f) => `${JSON.stringify(f.name)}:${toJson(record[f.name], f.type, ignoreNullFields)}`).join(',')}}`;
    }
    case 'map':
      return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${JSON.stringify(k)}:${toJson(v, type.value, ignoreNullFields)}`).join(',')}}`;
    case 'array':
      return `[${(value as unknown[]).map((v) => toJson(v, type.element, ignoreNullFields)).join(',')}]`;
    default:
      return JSON.stringify(value);
  }
}

/** A compiled expression: its result type and how to compute it from a row's values. */
interface Compiled {
  type: string;
  column?: DbxColumn;
  run: (values: readonly unknown[]) => unknown;
}

const ITEM = /^([\s\S]+) AS (c\d+)$/;
const QUOTED = /^`(?:[^`]|``)*`$/;
const STRING_LITERAL = /^'((?:[^'\\]|\\.)*)'$/;

/** `map('k', 'v', …)` of string literals → its entries (keys case-insensitive, as Spark's JSON options are). */
function optionsMap(text: string): Map<string, string> {
  const m = /^map\(([\s\S]*)\)$/i.exec(text.trim());
  if (!m) throw new DbxSqlError('42K09', `[DATATYPE_MISMATCH.INVALID_OPTIONS] to_json options must be a map of string literals, not ${text}.`);
  const items = splitTop(m[1]!).map((x) => STRING_LITERAL.exec(x)?.[1]);
  if (items.length % 2 !== 0 || items.some((x) => x === undefined)) throw new DbxSqlError('42K09', `[DATATYPE_MISMATCH.INVALID_OPTIONS] to_json options must be a map of string literals, not ${text}.`);
  const options = new Map<string, string>();
  for (let i = 0; i < items.length; i += 2) options.set(items[i]!.toLowerCase(), items[i + 1]!);
  return options;
}

/** The Delta history rows of a table at `version`, latest first, as `DESCRIBE HISTORY` gives them. */
function historyRows(table: DbxTable, session: SessionSettings): unknown[][] {
  const latest = table.version ?? 0;
  const rows: unknown[][] = [];
  for (let v = latest; v >= 0; v--) {
    const when = timestampText(BigInt(Date.UTC(2025, 0, 1) + v * 3_600_000) * 1000n, session.timeZone);
    const operation = v === 0 ? 'CREATE TABLE' : 'WRITE';
    rows.push([
      BigInt(v), when, '4711', 'etl@example.org', operation,
      JSON.stringify(v === 0 ? { isManaged: 'true', partitionBy: '[]' } : { mode: 'Append', partitionBy: '[]' }),
      null, null, '0101-000000-double01', v === 0 ? null : BigInt(v - 1), 'WriteSerializable', v !== 0,
      JSON.stringify(v === 0 ? {} : { numFiles: '1', numOutputRows: '4', numOutputBytes: '2048' }), null, 'Databricks-Runtime/16.4.x-photon-scala2.12',
    ]);
  }
  return rows;
}

const HISTORY_COLUMNS: ResultColumn[] = [
  { name: 'version', type: 'BIGINT' }, { name: 'timestamp', type: 'TIMESTAMP' }, { name: 'userId', type: 'STRING' }, { name: 'userName', type: 'STRING' },
  { name: 'operation', type: 'STRING' }, { name: 'operationParameters', type: 'MAP' }, { name: 'job', type: 'STRUCT' }, { name: 'notebook', type: 'STRUCT' },
  { name: 'clusterId', type: 'STRING' }, { name: 'readVersion', type: 'BIGINT' }, { name: 'isolationLevel', type: 'STRING' }, { name: 'isBlindAppend', type: 'BOOLEAN' },
  { name: 'operationMetrics', type: 'MAP' }, { name: 'userMetadata', type: 'STRING' }, { name: 'engineInfo', type: 'STRING' },
];

export class DbxModel {
  constructor(readonly catalogs: DbxCatalog[]) {}

  catalog(name: string): DbxCatalog | undefined {
    return this.catalogs.find((c) => c.name === name);
  }

  schema(catalog: string, schema: string): DbxSchema | undefined {
    return this.catalog(catalog)?.schemas[schema];
  }

  table(catalog: string, schema: string, table: string): DbxTable | undefined {
    return this.schema(catalog, schema)?.tables.find((t) => t.name === table);
  }

  private tableOrFail(parts: string[]): DbxTable {
    const [catalog = '', schema = '', name = ''] = parts;
    const table = parts.length === 3 ? this.table(catalog, schema, name) : undefined;
    if (!table) throw new DbxSqlError('42P01', `[TABLE_OR_VIEW_NOT_FOUND] The table or view \`${parts.join('`.`')}\` cannot be found.`);
    return table;
  }

  /** The result of a statement the grammar accepted, or a thrown Error (not understood) / DbxSqlError (failed as the warehouse would fail it). */
  execute(sql: string, session: SessionSettings): StatementResult {
    const text = sql.trim();
    if (text === 'SELECT 1 AS one') return { columns: [{ name: 'one', type: 'INT' }], rows: () => [[1]] };
    const history = DESCRIBE_HISTORY.exec(text);
    if (history) {
      const table = this.tableOrFail(unquoteParts(history[1]!));
      if ((table.tableType ?? 'MANAGED') === 'VIEW' || (table.dataSourceFormat ?? 'DELTA') !== 'DELTA') {
        throw new DbxSqlError('42809', `[EXPECT_TABLE_NOT_VIEW.NO_ALTERNATIVE] 'DESCRIBE HISTORY' expects a Delta table.`);
      }
      const limit = history[2] === undefined ? Infinity : Number(history[2]);
      return { columns: HISTORY_COLUMNS, rows: () => historyRows(table, session).slice(0, limit) };
    }
    const select = /^SELECT ([\s\S]+) FROM ((?:`(?:[^`]|``)*`\.){2}`(?:[^`]|``)*`)(?: VERSION AS OF (\d+))?$/.exec(text);
    if (select) return this.select(select[1]!, unquoteParts(select[2]!), select[3] === undefined ? undefined : Number(select[3]), session);
    throw new Error(`statement not understood: ${text}`);
  }

  private select(list: string, parts: string[], version: number | undefined, session: SessionSettings): StatementResult {
    const table = this.tableOrFail(parts);
    if (version !== undefined && version !== (table.version ?? 0)) {
      throw new DbxSqlError('22003', `[DELTA_VERSION_NOT_CONTIGUOUS] The double keeps only version ${table.version ?? 0} of this table, not ${version}.`);
    }
    const items = splitTop(list).map((item) => {
      const m = ITEM.exec(item);
      if (!m) throw new Error(`select item not understood: ${item}`);
      return { expr: m[1]!.trim(), alias: m[2]! };
    });
    const compile = (expr: string): Compiled => {
      let m: RegExpExecArray | null;
      if (QUOTED.test(expr)) {
        const name = unquoteParts(expr)[0];
        const i = table.columns.findIndex((c) => c.name === name);
        if (i < 0) throw new DbxSqlError('42703', `[UNRESOLVED_COLUMN] A column ${expr} cannot be resolved.`);
        const column = table.columns[i]!;
        return { type: column.typeName, column, run: (values) => values[i] ?? null };
      }
      if ((m = /^CAST\(([\s\S]+) AS STRING\)$/i.exec(expr))) {
        const inner = compile(m[1]!);
        const text = ((): ((v: unknown) => string) => {
          switch (inner.type) {
            case 'LONG': case 'BIGINT': case 'INT': case 'SHORT': case 'BYTE': case 'DATE': case 'STRING': case 'INTERVAL':
              return String;
            case 'DECIMAL':
              return (v) => decimalText(String(v), inner.column!.typeText, session.ansi);
            case 'TIMESTAMP_NTZ':
              return (v) => trimmedFraction(String(v));
            case 'TIMESTAMP':
              return (v) => timestampText(microsOf(String(v)), session.timeZone);
            default:
              throw new Error(`CAST of ${inner.type} to STRING is not emulated`);
          }
        })();
        return { type: 'STRING', run: (values) => { const v = inner.run(values); return v == null ? null : text(v); } };
      }
      if ((m = /^unix_micros\(([\s\S]+)\)$/i.exec(expr))) {
        const inner = compile(m[1]!);
        if (inner.type !== 'TIMESTAMP') throw new DbxSqlError('42K09', `[DATATYPE_MISMATCH] unix_micros needs a TIMESTAMP, not ${inner.type}.`);
        return { type: 'BIGINT', run: (values) => { const v = inner.run(values); return v == null ? null : microsOf(String(v)); } };
      }
      if ((m = /^lower\(hex\(([\s\S]+)\)\)$/i.exec(expr))) {
        const inner = compile(m[1]!);
        if (inner.type !== 'BINARY') throw new Error(`hex of ${inner.type} is not emulated`);
        return { type: 'STRING', run: (values) => { const v = inner.run(values); return v == null ? null : (v as Buffer).toString('hex'); } };
      }
      if ((m = /^to_json\(([\s\S]+)\)$/i.exec(expr))) {
        const [argument = '', options, ...rest] = splitTop(m[1]!);
        if (rest.length > 0) throw new DbxSqlError('42605', `[WRONG_NUM_ARGS] to_json takes 1 or 2 arguments.`);
        const inner = compile(argument);
        if (!['ARRAY', 'MAP', 'STRUCT', 'VARIANT'].includes(inner.type)) throw new DbxSqlError('42K09', `[DATATYPE_MISMATCH] to_json needs a complex type, not ${inner.type}.`);
        // The option's default is spark.sql.jsonGenerator.ignoreNullFields, true, which a SQL warehouse session cannot change.
        const ignoreNullFields = options === undefined ? true : (optionsMap(options).get('ignorenullfields') ?? 'true').toLowerCase() !== 'false';
        const type = sparkType(inner.column!.typeText);
        return { type: 'STRING', run: (values) => { const v = inner.run(values); return v == null ? null : toJson(v, type, ignoreNullFields); } };
      }
      throw new Error(`expression not understood: ${expr}`);
    };
    const compiled = items.map((item) => compile(item.expr));
    const columns = items.map((item, i) => {
      const t = compiled[i]!.type;
      const type = t === 'BIGINT' ? 'BIGINT' : BARE_TYPES[t];
      if (!type) throw new Error(`a ${t} result column would be converted by the driver; the connector must convert it in SQL`);
      return { name: item.alias, type };
    });
    const source = typeof table.rows === 'function' ? table.rows : () => table.rows as unknown[][];
    return {
      columns,
      *rows() {
        for (const values of source()) yield compiled.map((c) => c.run(values));
      },
    };
  }
}
