/**
 * The in-memory Unity Catalog and Delta tables behind the Databricks double,
 * and the SQL the publisher's Databricks connector sends the warehouse,
 * recognised by pattern and evaluated with Databricks' output formats:
 *
 * - `SELECT 1 AS one`;
 * - `DESCRIBE HISTORY `c`.`s`.`t` LIMIT 1` (Delta tables only);
 * - `SELECT <expr> AS cN, … FROM `c`.`s`.`t` [VERSION AS OF n]` where each
 *   expression is a column, `CAST(e AS STRING)`, `unix_micros(e)`,
 *   `lower(hex(e))` or `to_json(e)`.
 *
 * Values are held as: numbers for BYTE/SHORT/INT/FLOAT/DOUBLE, bigint for
 * LONG, digit strings for DECIMAL, booleans, strings, `YYYY-MM-DD` for DATE,
 * an ISO instant with offset for TIMESTAMP (`2024-03-01T10:15:30.5+05:30`),
 * `YYYY-MM-DD HH:MM:SS[.ffffff]` for TIMESTAMP_NTZ, Buffers for BINARY,
 * JavaScript arrays/objects for ARRAY/MAP/STRUCT, and the ANSI literal for
 * INTERVAL (`INTERVAL '1-2' YEAR TO MONTH`, as CAST(… AS STRING) prints it).
 *
 * What it does not do: run SQL. It checks that the connector reads through
 * the expressions above and emulates them; Spark's real formatting of every
 * edge value is not verified here.
 */

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
export type ResultType = 'BOOLEAN' | 'TINYINT' | 'SMALLINT' | 'INT' | 'BIGINT' | 'FLOAT' | 'DOUBLE' | 'STRING' | 'BINARY' | 'TIMESTAMP';

export interface ResultColumn {
  name: string;
  type: ResultType;
}

export interface StatementResult {
  columns: ResultColumn[];
  rows: () => Iterable<unknown[]>;
}

/** A SQL error the warehouse reports for a statement (SQLSTATE and message). */
export class DbxSqlError extends Error {
  constructor(
    readonly sqlState: string,
    message: string,
  ) {
    super(message);
  }
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

/** Spark's STRING form of a TIMESTAMP_NTZ: fraction without trailing zeros. */
function ntzText(value: string): string {
  const [main = '', frac = ''] = value.split('.');
  const trimmed = frac.replace(/0+$/, '');
  return trimmed ? `${main}.${trimmed}` : main;
}

/** Digits at the declared scale. */
function decimalText(value: string, typeText: string): string {
  const scale = Number(/\(\s*\d+\s*,\s*(\d+)\s*\)/.exec(typeText)?.[1] ?? 0);
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(value);
  if (!m) throw new Error(`'${value}' is not a decimal`);
  const frac = (m[3] ?? '').padEnd(scale, '0');
  if (frac.length > scale) throw new Error(`'${value}' has more digits than ${typeText} holds`);
  return `${m[1]}${m[2] || '0'}${scale > 0 ? `.${frac}` : ''}`;
}

interface Typed {
  column?: DbxColumn;
  type: string;
  value: unknown;
}

/** One select-list item: `expr AS cN`. */
function splitItems(list: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const ch = list[i];
    if (ch === '`') quoted = !quoted;
    else if (!quoted && ch === '(') depth++;
    else if (!quoted && ch === ')') depth--;
    else if (!quoted && depth === 0 && ch === ',') {
      items.push(list.slice(start, i).trim());
      start = i + 1;
    }
  }
  items.push(list.slice(start).trim());
  return items;
}

const ITEM = /^([\s\S]+) AS (c\d+)$/;

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

  /** The result of a statement, or a thrown Error (not understood) / DbxSqlError (failed as the warehouse would fail it). */
  execute(sql: string): StatementResult {
    const text = sql.trim();
    if (text === 'SELECT 1 AS one') return { columns: [{ name: 'one', type: 'INT' }], rows: () => [[1]] };
    const history = /^DESCRIBE HISTORY ((?:`(?:[^`]|``)*`\.){2}`(?:[^`]|``)*`) LIMIT 1$/.exec(text);
    if (history) {
      const table = this.tableOrFail(unquoteParts(history[1]!));
      if ((table.tableType ?? 'MANAGED') === 'VIEW' || (table.dataSourceFormat ?? 'DELTA') !== 'DELTA') {
        throw new DbxSqlError('42809', `[EXPECT_TABLE_NOT_VIEW.NO_ALTERNATIVE] 'DESCRIBE HISTORY' expects a Delta table.`);
      }
      return {
        columns: [{ name: 'version', type: 'BIGINT' }, { name: 'timestamp', type: 'TIMESTAMP' }, { name: 'operation', type: 'STRING' }],
        rows: () => [[BigInt(table.version ?? 0), '2025-01-01 00:00:00', 'WRITE']],
      };
    }
    const select = /^SELECT ([\s\S]+) FROM ((?:`(?:[^`]|``)*`\.){2}`(?:[^`]|``)*`)(?: VERSION AS OF (\d+))?$/.exec(text);
    if (select) return this.select(select[1]!, unquoteParts(select[2]!), select[3] === undefined ? undefined : Number(select[3]));
    throw new Error(`statement not understood: ${text}`);
  }

  private select(list: string, parts: string[], version: number | undefined): StatementResult {
    const table = this.tableOrFail(parts);
    if (version !== undefined && version !== (table.version ?? 0)) {
      throw new DbxSqlError('22003', `[DELTA_VERSION_NOT_CONTIGUOUS] The double keeps only version ${table.version ?? 0} of this table, not ${version}.`);
    }
    const items = splitItems(list).map((item) => {
      const m = ITEM.exec(item);
      if (!m) throw new Error(`select item not understood: ${item}`);
      return { expr: m[1]!.trim(), alias: m[2]! };
    });
    const column = (ref: string): [number, DbxColumn] => {
      const name = unquoteParts(ref)[0];
      const i = table.columns.findIndex((c) => c.name === name);
      if (i < 0 || `\`${name!.replaceAll('`', '``')}\`` !== ref) throw new DbxSqlError('42703', `[UNRESOLVED_COLUMN] A column ${ref} cannot be resolved.`);
      return [i, table.columns[i]!];
    };
    const evaluate = (expr: string, values: readonly unknown[]): Typed => {
      let m: RegExpExecArray | null;
      if (/^`(?:[^`]|``)*`$/.test(expr)) {
        const [i, c] = column(expr);
        return { column: c, type: c.typeName, value: values[i] ?? null };
      }
      if ((m = /^CAST\(([\s\S]+) AS STRING\)$/.exec(expr))) {
        const inner = evaluate(m[1]!, values);
        if (inner.value == null) return { type: 'STRING', value: null };
        switch (inner.type) {
          case 'LONG': case 'BIGINT': case 'INT': case 'SHORT': case 'BYTE':
            return { type: 'STRING', value: String(inner.value) };
          case 'DECIMAL':
            return { type: 'STRING', value: decimalText(String(inner.value), inner.column!.typeText) };
          case 'DATE': case 'STRING': case 'INTERVAL':
            return { type: 'STRING', value: String(inner.value) };
          case 'TIMESTAMP_NTZ':
            return { type: 'STRING', value: ntzText(String(inner.value)) };
          default:
            throw new Error(`CAST of ${inner.type} to STRING is not emulated`);
        }
      }
      if ((m = /^unix_micros\(([\s\S]+)\)$/.exec(expr))) {
        const inner = evaluate(m[1]!, values);
        if (inner.type !== 'TIMESTAMP') throw new DbxSqlError('42K09', `[DATATYPE_MISMATCH] unix_micros needs a TIMESTAMP, not ${inner.type}.`);
        return { type: 'BIGINT', value: inner.value == null ? null : microsOf(String(inner.value)) };
      }
      if ((m = /^lower\(hex\(([\s\S]+)\)\)$/.exec(expr))) {
        const inner = evaluate(m[1]!, values);
        if (inner.type !== 'BINARY') throw new Error(`hex of ${inner.type} is not emulated`);
        return { type: 'STRING', value: inner.value == null ? null : (inner.value as Buffer).toString('hex') };
      }
      if ((m = /^to_json\(([\s\S]+)\)$/.exec(expr))) {
        const inner = evaluate(m[1]!, values);
        if (!['ARRAY', 'MAP', 'STRUCT', 'VARIANT'].includes(inner.type)) throw new DbxSqlError('42K09', `[DATATYPE_MISMATCH] to_json needs a complex type, not ${inner.type}.`);
        return { type: 'STRING', value: inner.value == null ? null : JSON.stringify(inner.value) };
      }
      throw new Error(`expression not understood: ${expr}`);
    };
    const resultType = (t: Typed): ResultType => {
      const type = t.type === 'BIGINT' ? 'BIGINT' : BARE_TYPES[t.type];
      if (!type) throw new Error(`a ${t.type} result column would be converted by the driver; the connector must convert it in SQL`);
      return type;
    };
    const empty = table.columns.map(() => null);
    const columns = items.map((item) => ({ name: item.alias, type: resultType(evaluate(item.expr, empty)) }));
    const source = typeof table.rows === 'function' ? table.rows : () => table.rows as unknown[][];
    return {
      columns,
      *rows() {
        for (const values of source()) yield items.map((item) => evaluate(item.expr, values).value);
      },
    };
  }
}
