/**
 * The in-memory SQL Server behind the TDS double: databases, schemas, tables
 * with typed columns, comments, primary keys and rows, and the statements the
 * publisher's SQL Server connector sends, recognised by pattern:
 *
 * - `SELECT 1 AS one`;
 * - the catalog queries on INFORMATION_SCHEMA.SCHEMATA / TABLES / COLUMNS
 *   (with sys.extended_properties comments and KEY_COLUMN_USAGE key positions),
 *   answered from the model with the column types SQL Server gives them;
 * - `sys.databases.snapshot_isolation_state`;
 * - `SET TRANSACTION ISOLATION LEVEL …`, `BEGIN/ROLLBACK/COMMIT TRANSACTION`;
 * - `SELECT <expr> AS [alias], … FROM [schema].[table]` where each expression
 *   is a column, `CAST(e AS t)`, `CONVERT(t, e[, style])`,
 *   `SWITCHOFFSET(e, '+hh:mm')` or `[c].ToString()` / `[c].STAsText()`,
 *   evaluated with SQL Server's output formats for the styles used.
 *
 * Names compare case-insensitively, as under SQL Server's default collation.
 * Values are held as: numbers for tinyint/smallint/int/float/real, bigint or
 * digit strings for bigint, digit strings for decimal/numeric/money, booleans
 * for bit, strings for text types, `YYYY-MM-DD`, `hh:mm:ss[.fffffff]`,
 * `YYYY-MM-DD hh:mm:ss[.fffffff]` and `… +hh:mm` for dates and times, the
 * uniqueidentifier's text, Buffers for binary types, and the text form for
 * xml, json, hierarchyid (`/1/2/`) and geography/geometry (WKT).
 *
 * What it does not do: run SQL. A result column whose value tedious would
 * parse itself (decimal, date and time types, uniqueidentifier) is refused
 * with an error, because the connector is meant to convert those in SQL.
 */
import type { SqlRequest } from './requests.js';
import type { Outcome, SqlEngine, TdsSession } from './server.js';
import type { WireColumn, WireType } from './tokens.js';

export interface SqlServerColumn {
  name: string;
  /** The type as in DDL: `int`, `nvarchar(50)`, `nvarchar(max)`, `decimal(12,2)`, `datetime2(7)`. */
  type: string;
  nullable?: boolean;
  /** Its MS_Description. */
  description?: string;
}

export interface SqlServerTable {
  name: string;
  description?: string;
  view?: boolean;
  columns: SqlServerColumn[];
  primaryKey?: string[];
  /** Rows in column order; a function for big tables made on the fly. */
  rows: unknown[][] | (() => Iterable<unknown[]>);
}

export interface SqlServerDatabase {
  name: string;
  /** ALLOW_SNAPSHOT_ISOLATION. */
  snapshotIsolation: boolean;
  schemas: Record<string, SqlServerTable[]>;
}

interface ParsedType {
  base: string;
  /** Length (or 'max'), or precision and scale, as declared. */
  args: Array<number | 'max'>;
}

export function parseType(text: string): ParsedType {
  const m = /^\s*([a-z0-9_]+)\s*(?:\(([^)]*)\))?\s*$/i.exec(text);
  if (!m) throw new Error(`type '${text}' is not understood`);
  const args = m[2] === undefined ? [] : m[2].split(',').map((a) => (a.trim().toLowerCase() === 'max' ? 'max' : Number(a.trim())));
  return { base: m[1]!.toLowerCase(), args };
}

const eq = (a: string, b: string) => a.localeCompare(b, 'en', { sensitivity: 'accent' }) === 0;
/** Ordinal order of code points, as COLLATE Latin1_General_BIN2 sorts nvarchar. */
const byCodePoint = (a: string, b: string) => {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
};

/** The INFORMATION_SCHEMA.COLUMNS type details SQL Server reports for a declared type. */
function informationSchema(t: ParsedType) {
  const n = (i: number, fallback: number) => (t.args[i] === undefined ? fallback : t.args[i] === 'max' ? -1 : (t.args[i] as number));
  const out = { char_length: null as number | null, numeric_precision: null as number | null, numeric_scale: null as number | null, datetime_precision: null as number | null };
  switch (t.base) {
    case 'char': case 'varchar': case 'nchar': case 'nvarchar': case 'binary': case 'varbinary':
      out.char_length = n(0, 1);
      break;
    case 'text': case 'image':
      out.char_length = 2147483647;
      break;
    case 'ntext':
      out.char_length = 1073741823;
      break;
    case 'xml': case 'json':
      out.char_length = -1;
      break;
    case 'tinyint': Object.assign(out, { numeric_precision: 3, numeric_scale: 0 }); break;
    case 'smallint': Object.assign(out, { numeric_precision: 5, numeric_scale: 0 }); break;
    case 'int': Object.assign(out, { numeric_precision: 10, numeric_scale: 0 }); break;
    case 'bigint': Object.assign(out, { numeric_precision: 19, numeric_scale: 0 }); break;
    case 'decimal': case 'numeric': Object.assign(out, { numeric_precision: n(0, 18), numeric_scale: n(1, 0) }); break;
    case 'money': Object.assign(out, { numeric_precision: 19, numeric_scale: 4 }); break;
    case 'smallmoney': Object.assign(out, { numeric_precision: 10, numeric_scale: 4 }); break;
    case 'float': out.numeric_precision = 53; break;
    case 'real': out.numeric_precision = 24; break;
    case 'date': case 'smalldatetime': out.datetime_precision = 0; break;
    case 'datetime': out.datetime_precision = 3; break;
    case 'time': case 'datetime2': case 'datetimeoffset': out.datetime_precision = n(0, 7); break;
  }
  return out;
}

const SYSNAME: WireType = { type: 'nvarchar', length: 128 };

/** A SQL error the model raises; the double answers it with an ERROR token. */
class SqlError extends Error {
  constructor(
    readonly number: number,
    message: string,
  ) {
    super(message);
  }
}

// ---- expressions -------------------------------------------------------------------------

type Expr =
  | { kind: 'column'; name: string }
  | { kind: 'method'; column: string; method: string }
  | { kind: 'cast'; expr: Expr; type: ParsedType; style?: number }
  | { kind: 'switchoffset'; expr: Expr; offset: string };

type Token = { t: 'ident'; v: string } | { t: 'word'; v: string } | { t: 'num'; v: number } | { t: 'str'; v: string } | { t: 'sym'; v: string };

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) i++;
    else if (ch === '[') {
      let v = '';
      for (i++; ; i++) {
        if (i >= text.length) throw new Error('unterminated [identifier]');
        if (text[i] === ']' && text[i + 1] === ']') {
          v += ']';
          i++;
        } else if (text[i] === ']') break;
        else v += text[i];
      }
      i++;
      out.push({ t: 'ident', v });
    } else if (ch === "'" || ((ch === 'N' || ch === 'n') && text[i + 1] === "'")) {
      if (ch !== "'") i++;
      let v = '';
      for (i++; ; i++) {
        if (i >= text.length) throw new Error('unterminated string');
        if (text[i] === "'" && text[i + 1] === "'") {
          v += "'";
          i++;
        } else if (text[i] === "'") break;
        else v += text[i];
      }
      i++;
      out.push({ t: 'str', v });
    } else if (/[0-9]/.test(ch)) {
      const m = /^[0-9]+/.exec(text.slice(i))![0];
      out.push({ t: 'num', v: Number(m) });
      i += m.length;
    } else if (/[A-Za-z_]/.test(ch)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))![0];
      out.push({ t: 'word', v: m.toUpperCase() });
      i += m.length;
    } else if ('(),.+-'.includes(ch)) {
      out.push({ t: 'sym', v: ch });
      i++;
    } else throw new Error(`unexpected '${ch}'`);
  }
  return out;
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}
  private peek(): Token | undefined {
    return this.tokens[this.i];
  }
  private next(): Token {
    const t = this.tokens[this.i++];
    if (!t) throw new Error('unexpected end of expression');
    return t;
  }
  private expect(t: Token['t'], v?: string | number): Token {
    const got = this.next();
    if (got.t !== t || (v !== undefined && got.v !== v)) throw new Error(`expected ${v ?? t}, got '${got.v}'`);
    return got;
  }
  get done(): boolean {
    return this.i >= this.tokens.length;
  }
  type(): ParsedType {
    const base = String(this.expect('word').v).toLowerCase();
    const args: Array<number | 'max'> = [];
    if (this.peek()?.v === '(') {
      this.next();
      for (;;) {
        const a = this.next();
        if (a.t === 'num') args.push(a.v);
        else if (a.t === 'word' && a.v === 'MAX') args.push('max');
        else throw new Error(`bad type argument '${a.v}'`);
        if (this.next().v === ')') break;
      }
    }
    return { base, args };
  }
  expr(): Expr {
    const t = this.next();
    if (t.t === 'ident') {
      if (this.peek()?.v === '.') {
        this.next();
        const method = String(this.expect('word').v);
        this.expect('sym', '(');
        this.expect('sym', ')');
        return { kind: 'method', column: t.v, method };
      }
      return { kind: 'column', name: t.v };
    }
    if (t.t === 'word' && t.v === 'CAST') {
      this.expect('sym', '(');
      const expr = this.expr();
      this.expect('word', 'AS');
      const type = this.type();
      this.expect('sym', ')');
      return { kind: 'cast', expr, type };
    }
    if (t.t === 'word' && t.v === 'CONVERT') {
      this.expect('sym', '(');
      const type = this.type();
      this.expect('sym', ',');
      const expr = this.expr();
      let style: number | undefined;
      if (this.peek()?.v === ',') {
        this.next();
        style = Number(this.expect('num').v);
      }
      this.expect('sym', ')');
      return { kind: 'cast', expr, type, style };
    }
    if (t.t === 'word' && t.v === 'SWITCHOFFSET') {
      this.expect('sym', '(');
      const expr = this.expr();
      this.expect('sym', ',');
      const offset = String(this.expect('str').v);
      this.expect('sym', ')');
      return { kind: 'switchoffset', expr, offset };
    }
    throw new Error(`expression starting '${t.v}' is not understood`);
  }
  /** `expr AS [alias]` items separated by commas. */
  selectList(): Array<{ expr: Expr; alias: string }> {
    const items: Array<{ expr: Expr; alias: string }> = [];
    for (;;) {
      const expr = this.expr();
      this.expect('word', 'AS');
      const alias = String(this.expect('ident').v);
      items.push({ expr, alias });
      if (this.done) return items;
      this.expect('sym', ',');
    }
  }
}

// ---- values and conversions ----------------------------------------------------------------

interface Typed {
  type: ParsedType;
  value: unknown;
}

/** Digits of a decimal string at exactly `scale` places, rounding half away from zero. */
export function rescale(text: string, scale: number): string {
  const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (!m) throw new Error(`'${text}' is not a decimal`);
  const [, sign, whole = '', frac = ''] = m;
  let digits = BigInt((whole || '0') + frac.padEnd(scale, '0').slice(0, scale));
  if (frac.length > scale && Number(frac[scale]) >= 5) digits += 1n;
  const s = digits.toString().padStart(scale + 1, '0');
  const out = scale > 0 ? `${s.slice(0, -scale)}.${s.slice(-scale)}` : s;
  return digits === 0n ? out : `${sign}${out}`;
}

/** `YYYY-MM-DD hh:mm:ss[.f…]` fraction padded or cut to `digits`. */
function withFraction(text: string, digits: number): string {
  const [main = '', frac = ''] = text.split('.');
  return digits > 0 ? `${main}.${frac.padEnd(digits, '0').slice(0, digits)}` : main;
}

/** Shifts `YYYY-MM-DD hh:mm:ss[.f] +hh:mm` to another offset, keeping the fraction digits. */
function switchOffset(text: string, target: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d+)? ([+-])(\d{2}):(\d{2})$/.exec(text);
  const t = /^([+-])(\d{2}):(\d{2})$/.exec(target);
  if (!m || !t) throw new Error(`SWITCHOFFSET of '${text}' to '${target}' is not understood`);
  const offset = (sign: string, h: string, mi: string) => (sign === '-' ? -1 : 1) * (Number(h) * 60 + Number(mi));
  const d = new Date(0);
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  d.setUTCHours(Number(m[4]), Number(m[5]) - offset(m[8]!, m[9]!, m[10]!) + offset(t[1]!, t[2]!, t[3]!), Number(m[6]));
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}${m[7] ?? ''} ${target}`;
}

const TEXT_TYPES = new Set(['char', 'varchar', 'nchar', 'nvarchar', 'text', 'ntext', 'xml', 'json']);

/** A value as SQL Server converts it to character data, for the conversions and styles the double knows. */
function asText(v: Typed, style: number | undefined): string {
  const { base, args } = v.type;
  const value = v.value;
  const unsupported = () => new Error(`converting ${base} to text with style ${style ?? 'default'} is not emulated`);
  switch (base) {
    case 'tinyint': case 'smallint': case 'int': case 'bigint':
      return String(value);
    case 'bit':
      return value ? '1' : '0';
    case 'decimal': case 'numeric':
      return rescale(String(value), (args[1] as number | undefined) ?? 0);
    case 'money': case 'smallmoney':
      // Style 0 (the default) keeps two decimals: the trap CAST(… AS DECIMAL(19,4)) avoids.
      if (style === undefined || style === 0) return rescale(String(value), 2);
      if (style === 2) return rescale(String(value), 4);
      throw unsupported();
    case 'date':
      if (style === undefined || style === 23 || style === 121 || style === 126) return String(value);
      throw unsupported();
    case 'time':
      if (style === undefined || style === 121) return withFraction(String(value), (args[0] as number | undefined) ?? 7);
      throw unsupported();
    case 'datetime2':
      if (style === undefined || style === 121) return withFraction(String(value), (args[0] as number | undefined) ?? 7);
      throw unsupported();
    case 'datetime': case 'smalldatetime':
      if (style === 121) return withFraction(String(value), 3);
      throw unsupported();
    case 'datetimeoffset': {
      if (style !== undefined && style !== 121) throw unsupported();
      const [date = '', time = '', offset = ''] = String(value).split(' ');
      return `${date} ${withFraction(time, (args[0] as number | undefined) ?? 7)} ${offset}`;
    }
    case 'uniqueidentifier':
      return String(value).toUpperCase();
    default:
      if (TEXT_TYPES.has(base)) return String(value);
      throw unsupported();
  }
}

function convert(v: Typed, target: ParsedType, style: number | undefined): Typed {
  if (v.value == null) return { type: target, value: null };
  const { base } = target;
  const length = target.args[0];
  if (['varchar', 'char', 'nvarchar', 'nchar'].includes(base)) {
    let text = asText(v, style);
    const limit = length === undefined ? 30 : length;
    if (limit !== 'max' && text.length > limit) {
      if (!TEXT_TYPES.has(v.type.base)) throw new SqlError(8115, `Arithmetic overflow error converting ${v.type.base} to data type ${base}.`);
      text = text.slice(0, limit);
    }
    if ((base === 'char' || base === 'nchar') && limit !== 'max') text = text.padEnd(limit, ' ');
    return { type: target, value: text };
  }
  if (base === 'decimal' || base === 'numeric') {
    if (!['decimal', 'numeric', 'money', 'smallmoney', 'tinyint', 'smallint', 'int', 'bigint'].includes(v.type.base)) throw new Error(`CAST of ${v.type.base} to ${base} is not emulated`);
    return { type: target, value: rescale(String(v.value), (target.args[1] as number | undefined) ?? 0) };
  }
  if (base === 'datetime2') {
    const digits = (length as number | undefined) ?? 7;
    if (v.type.base === 'datetimeoffset') return { type: target, value: withFraction(String(v.value).split(' ').slice(0, 2).join(' '), digits) };
    if (v.type.base === 'datetime2') return { type: target, value: withFraction(String(v.value), digits) };
  }
  if (base === 'varbinary' && ['image', 'varbinary', 'binary'].includes(v.type.base)) return { type: target, value: v.value };
  throw new Error(`CAST of ${v.type.base} to ${base} is not emulated`);
}

/** How a value of this type travels in a result set, or an error for types tedious would parse itself. */
function wireType(t: ParsedType): WireType {
  const n = t.args[0] ?? 1;
  switch (t.base) {
    case 'tinyint': return { type: 'int', size: 1 };
    case 'smallint': return { type: 'int', size: 2 };
    case 'int': return { type: 'int', size: 4 };
    case 'bigint': return { type: 'int', size: 8 };
    case 'bit': return { type: 'bit' };
    case 'float': return { type: 'float', size: 8 };
    case 'real': return { type: 'float', size: 4 };
    case 'char': case 'varchar': case 'nchar': case 'nvarchar': case 'binary': case 'varbinary':
      return { type: t.base, length: n } as WireType;
    case 'timestamp': case 'rowversion':
      return { type: 'binary', length: 8 };
    default:
      throw new Error(`a ${t.base} result column would be parsed by the driver; the connector must convert it in SQL`);
  }
}

// ---- the engine -----------------------------------------------------------------------------

const SELECT_FROM = /^SELECT ([\s\S]+) FROM \[((?:[^\]]|\]\])+)\]\.\[((?:[^\]]|\]\])+)\]$/;

export class SqlServerModel implements SqlEngine {
  private readonly databases: Map<string, SqlServerDatabase>;

  constructor(databases: SqlServerDatabase[]) {
    this.databases = new Map(databases.map((d) => [d.name.toLowerCase(), d]));
  }

  databaseExists(name: string): boolean {
    return this.databases.has(name.toLowerCase()) || name.toLowerCase() === 'master';
  }

  private database(session: TdsSession): SqlServerDatabase {
    return this.databases.get(session.database.toLowerCase()) ?? { name: 'master', snapshotIsolation: false, schemas: {} };
  }

  private schema(session: TdsSession, name: unknown): SqlServerTable[] | undefined {
    const db = this.database(session);
    const key = Object.keys(db.schemas).find((s) => eq(s, String(name)));
    return key === undefined ? undefined : db.schemas[key];
  }

  execute(request: SqlRequest, session: TdsSession): Outcome[] {
    try {
      return request.kind === 'batch' ? this.batch(request.sql, session) : [this.query(request, session)];
    } catch (error) {
      if (error instanceof SqlError) return [{ kind: 'error', number: error.number, message: error.message }];
      throw error;
    }
  }

  /** A batch of the transaction statements, separated by `;`. */
  private batch(sql: string, session: TdsSession): Outcome[] {
    const out: Outcome[] = [];
    for (const statement of sql.split(';').map((s) => s.trim()).filter(Boolean)) {
      const isolation = /^SET TRANSACTION ISOLATION LEVEL (READ UNCOMMITTED|READ COMMITTED|REPEATABLE READ|SERIALIZABLE|SNAPSHOT)$/i.exec(statement);
      if (isolation) {
        session.isolation = isolation[1]!.toUpperCase();
        out.push({ kind: 'done' });
      } else if (/^BEGIN TRAN(SACTION)?$/i.test(statement)) {
        if (session.transaction) throw new Error('nested transactions are not emulated');
        out.push({ kind: 'begin', isolation: session.isolation });
      } else if (/^(ROLLBACK|COMMIT) TRAN(SACTION)?$/i.test(statement)) {
        if (!session.transaction) throw new SqlError(3903, 'The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION.');
        out.push({ kind: 'end', commit: /^COMMIT/i.test(statement) });
      } else {
        throw new Error(`statement not understood: ${statement}`);
      }
    }
    return out;
  }

  private query(request: SqlRequest, session: TdsSession): Outcome {
    const { sql, params } = request;
    const text = sql.trim();
    if (text === 'SELECT 1 AS one') return { kind: 'rows', columns: [{ name: 'one', type: { type: 'int', size: 4 } }], rows: [[1]] };
    if (/^SELECT snapshot_isolation_state AS state FROM sys\.databases WHERE database_id = DB_ID\(\)$/.test(text)) {
      return { kind: 'rows', columns: [{ name: 'state', type: { type: 'int', size: 1 } }], rows: [[this.database(session).snapshotIsolation ? 1 : 0]] };
    }
    if (/^SELECT 1 AS present FROM INFORMATION_SCHEMA\.SCHEMATA WHERE SCHEMA_NAME = @schema$/.test(text)) {
      return { kind: 'rows', columns: [{ name: 'present', type: { type: 'int', size: 4 } }], rows: this.schema(session, params.schema) ? [[1]] : [] };
    }
    const comments = /ep\.class = 1 AND ep\.major_id = o\.id AND ep\.minor_id = [\s\S]+ AND ep\.name = N'MS_Description'/.test(text);
    if (comments && /FROM INFORMATION_SCHEMA\.TABLES t\s[\s\S]*WHERE t\.TABLE_SCHEMA = @schema\s+ORDER BY t\.TABLE_NAME COLLATE Latin1_General_BIN2$/.test(text)) {
      const tables = [...(this.schema(session, params.schema) ?? [])].sort((a, b) => byCodePoint(a.name, b.name));
      return {
        kind: 'rows',
        columns: [{ name: 'name', type: SYSNAME }, { name: 'description', type: { type: 'nvarchar', length: 'max' } }],
        rows: tables.map((t) => [t.name, t.description ?? null]),
      };
    }
    const columns = /FROM INFORMATION_SCHEMA\.COLUMNS c\s[\s\S]*WHERE c\.TABLE_SCHEMA = @schema AND c\.TABLE_NAME IN \((@t\d+(?:, @t\d+)*)\)\s+ORDER BY c\.TABLE_NAME COLLATE Latin1_General_BIN2, c\.ORDINAL_POSITION$/.exec(text);
    if (columns && comments && /TABLE_CONSTRAINTS[\s\S]*'PRIMARY KEY'/.test(text)) return this.columns(session, params, columns[1]!);
    const select = SELECT_FROM.exec(text);
    if (select) return this.select(session, select[1]!, select[2]!.replaceAll(']]', ']'), select[3]!.replaceAll(']]', ']'));
    throw new Error(`statement not understood: ${text}`);
  }

  private columns(session: TdsSession, params: Record<string, unknown>, names: string): Outcome {
    const wanted = names.split(', ').map((n) => String(params[n.slice(1)]));
    const tables = (this.schema(session, params.schema) ?? []).filter((t) => wanted.some((w) => eq(w, t.name))).sort((a, b) => byCodePoint(a.name, b.name));
    const rows: unknown[][] = [];
    for (const t of tables) {
      t.columns.forEach((c, i) => {
        const type = parseType(c.type);
        const info = informationSchema(type);
        const key = t.primaryKey?.findIndex((k) => eq(k, c.name)) ?? -1;
        rows.push([t.name, c.name, c.description ?? null, type.base, info.char_length, info.numeric_precision, info.numeric_scale, info.datetime_precision, c.nullable === false ? 'NO' : 'YES', i + 1, key >= 0 ? key + 1 : null]);
      });
    }
    const int = (size: 1 | 2 | 4): WireType => ({ type: 'int', size });
    return {
      kind: 'rows',
      columns: [
        { name: 'table_name', type: SYSNAME }, { name: 'name', type: SYSNAME }, { name: 'description', type: { type: 'nvarchar', length: 'max' } },
        { name: 'data_type', type: SYSNAME }, { name: 'char_length', type: int(4) }, { name: 'numeric_precision', type: int(1) },
        { name: 'numeric_scale', type: int(4) }, { name: 'datetime_precision', type: int(2) }, { name: 'is_nullable', type: { type: 'varchar', length: 3 } },
        { name: 'position', type: int(4) }, { name: 'primary_key', type: int(4) },
      ],
      rows,
    };
  }

  private select(session: TdsSession, list: string, schemaName: string, tableName: string): Outcome {
    const db = this.database(session);
    const table = this.schema(session, schemaName)?.find((t) => eq(t.name, tableName));
    if (!table) throw new SqlError(208, `Invalid object name '${schemaName}.${tableName}'.`);
    if (session.transaction?.isolation === 'SNAPSHOT' && !db.snapshotIsolation) {
      throw new SqlError(3952, `Snapshot isolation transaction failed accessing database '${db.name}' because snapshot isolation is not allowed in this database. Use ALTER DATABASE to allow snapshot isolation.`);
    }
    const items = new Parser(tokenize(list)).selectList();
    const index = (name: string) => {
      const i = table.columns.findIndex((c) => eq(c.name, name));
      if (i < 0) throw new SqlError(207, `Invalid column name '${name}'.`);
      return i;
    };
    const types = table.columns.map((c) => parseType(c.type));
    const evaluate = (expr: Expr, values: readonly unknown[]): Typed => {
      switch (expr.kind) {
        case 'column': {
          const i = index(expr.name);
          return { type: types[i]!, value: values[i] ?? null };
        }
        case 'method': {
          const i = index(expr.column);
          const base = types[i]!.base;
          const ok = (expr.method === 'TOSTRING' && base === 'hierarchyid') || (expr.method === 'STASTEXT' && (base === 'geography' || base === 'geometry'));
          if (!ok) throw new Error(`method ${expr.method} on a ${base} column is not emulated`);
          return { type: { base: 'nvarchar', args: ['max'] }, value: values[i] ?? null };
        }
        case 'cast':
          return convert(evaluate(expr.expr, values), expr.type, expr.style);
        case 'switchoffset': {
          const inner = evaluate(expr.expr, values);
          if (inner.type.base !== 'datetimeoffset') throw new Error(`SWITCHOFFSET of a ${inner.type.base} is not emulated`);
          return { type: inner.type, value: inner.value == null ? null : switchOffset(String(inner.value), expr.offset) };
        }
      }
    };
    // Evaluate once on an all-NULL row for the result types, so an expression error fails before any row.
    const probe = items.map((item) => evaluate(item.expr, table.columns.map(() => null)));
    const wire: WireColumn[] = items.map((item, i) => ({ name: item.alias, type: wireType(probe[i]!.type) }));
    const source = typeof table.rows === 'function' ? table.rows : () => table.rows as unknown[][];
    function* rows() {
      for (const values of source()) yield items.map((item) => evaluate(item.expr, values).value);
    }
    return { kind: 'rows', columns: wire, rows: rows() };
  }
}
