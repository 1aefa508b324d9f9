/**
 * Runs a parsed SELECT against the double's catalog, as SQL Server would:
 * names are bound before anything runs (208 unknown object, 207 unknown
 * column, 209 ambiguous column, 4104 unbound qualifier, 137 undeclared
 * variable, 195 unknown function), the result's column names and types come
 * from the select list and its aliases, and rows come from evaluating FROM
 * (tables, views, derived tables; INNER/LEFT/CROSS JOIN, CROSS/OUTER APPLY),
 * WHERE (three-valued logic: AND/OR/NOT, comparisons, IN, LIKE, BETWEEN,
 * IS [NOT] NULL, [NOT] EXISTS), correlated and scalar subqueries (512 when a
 * scalar subquery returns more than one row), CASE, CAST/CONVERT,
 * ORDER BY (with COLLATE), TOP and DISTINCT, and SUM of integers over the whole
 * of a query without GROUP BY (one row; NULL when no row has a value; 8120 for
 * a bare column beside it). Rows stream lazily unless the statement sorts them.
 *
 * What it does not do: GROUP BY, other aggregates, RIGHT/FULL joins, UNION,
 * window functions, writes; such a statement fails as "not emulated" (and is
 * recorded by the double as unexpected).
 */
import type { Catalog } from './catalog-views.js';
import { collation as collationOf } from './collations.js';
import { asText, convert, isCharacter, isNumeric, isUnicode, rescale, switchOffset, systemType, type ConvertContext, type SqlType, type Typed } from './sql-types.js';
import { bindError, runError, SqlError } from './sqlserver-errors.js';
import type { Node } from './tsql-parse.js';

/** What a statement runs against: the session's database catalog and its parameters. */
export interface EvalContext {
  catalog: Catalog;
  /** sp_executesql parameters by name, without the `@`. */
  params: Record<string, unknown>;
}

/** A column of a result: its name (from the select list) and SQL type. */
export interface ResultColumn {
  name: string;
  type: SqlType;
}

/** A compiled SELECT: its columns, and its rows for an outer row (for correlated subqueries). */
export interface CompiledSelect {
  columns: ResultColumn[];
  rows(outer?: Env): Iterable<unknown[]>;
}

interface Source {
  /** The name the source is referred to by: its alias, or the table's name. */
  name: string;
  columns: ResultColumn[];
}

interface Scope {
  sources: Source[];
  parent: Scope | undefined;
}

/** The current row of each source in a scope (null: the NULL side of an outer join), and the outer rows. */
export interface Env {
  rows: Array<unknown[] | null>;
  parent: Env | undefined;
}

interface Expr {
  type: SqlType;
  eval(env: Env): unknown;
}

const INT: SqlType = { base: 'int', args: [] };
const BIT: SqlType = { base: 'bit', args: [] };
const NVARCHAR = (n: number | 'max'): SqlType => ({ base: 'nvarchar', args: [n] });

const notEmulated = (what: string) => new Error(`${what} is not emulated`);
const fold = (s: string) => s.toLowerCase();

/** The text of a node that names something: a string, or `{ expr: { value } }` in some grammar rules. */
function nameOf(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as { expr?: { value?: unknown }; value?: unknown } | null;
  return String(v?.expr?.value ?? v?.value ?? '');
}

function isSubquery(node: unknown): node is { ast: Node } {
  return !!node && typeof node === 'object' && (node as { ast?: Node }).ast?.type === 'select';
}

// ---- comparing ------------------------------------------------------------------------------

const collators = new Map<string, Intl.Collator>();

/** Compares two strings under a collation: binary ones by code point, others by their case rule; trailing spaces ignored, as SQL Server pads. */
function compareText(a: string, b: string, collationName: string): number {
  const x = a.replace(/ +$/, '');
  const y = b.replace(/ +$/, '');
  const c = collationOf(collationName);
  if (c.binary) {
    const p = [...x].map((ch) => ch.codePointAt(0)!);
    const q = [...y].map((ch) => ch.codePointAt(0)!);
    for (let i = 0; i < Math.min(p.length, q.length); i++) if (p[i] !== q[i]) return p[i]! - q[i]!;
    return p.length - q.length;
  }
  const key = c.caseSensitive ? 'variant' : 'accent';
  let collator = collators.get(key);
  if (!collator) collators.set(key, (collator = new Intl.Collator('en', { sensitivity: key })));
  return collator.compare(x, y);
}

function compareNumbers(a: Typed, b: Typed): number {
  const text = (v: Typed) => (v.type.base === 'bit' ? (v.value ? '1' : '0') : String(v.value));
  if ([a, b].some((v) => v.type.base === 'float' || v.type.base === 'real')) return Number(text(a)) - Number(text(b));
  const x = BigInt(rescale(text(a), 38).replace('.', ''));
  const y = BigInt(rescale(text(b), 38).replace('.', ''));
  return x === y ? 0 : x < y ? -1 : 1;
}

/** Compares two non-NULL values with SQL Server's implicit conversions for the cases the double meets. */
function compare(a: Typed, b: Typed, ctx: ConvertContext, collationName?: string): number {
  if (isNumeric(a.type) && isNumeric(b.type)) return compareNumbers(a, b);
  if (isNumeric(a.type) && isCharacter(b.type)) return compareNumbers(a, convert(b, a.type.base === 'bit' ? INT : a.type, undefined, ctx));
  if (isCharacter(a.type) && isNumeric(b.type)) return -compare(b, a, ctx);
  const coll = collationName ?? a.type.collation ?? b.type.collation ?? ctx.collation;
  if (a.type.base === 'uniqueidentifier' || b.type.base === 'uniqueidentifier') return compareText(String(a.value).toUpperCase(), String(b.value).toUpperCase(), coll);
  return compareText(asText(a, undefined), asText(b, undefined), coll);
}

/** LIKE with %, _ and [...] under the collation's case rule. */
function like(text: string, pattern: string, collationName: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '%') re += '[\\s\\S]*';
    else if (ch === '_') re += '[\\s\\S]';
    else if (ch === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      const body = pattern.slice(i + 1, end);
      re += `[${body.startsWith('^') ? `^${body.slice(1).replace(/[\\\]]/g, '\\$&')}` : body.replace(/[\\\]]/g, '\\$&')}]`;
      i = end;
    } else re += ch.replace(/[.*+?^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, collationOf(collationName).caseSensitive ? 'u' : 'iu').test(text.replace(/ +$/, ''));
}

// ---- compiling -------------------------------------------------------------------------------

/** A representative value of a type, to find conversions the double does not emulate before any row is read. */
function sample(t: SqlType): unknown {
  switch (t.base) {
    case 'bit': return false;
    case 'tinyint': case 'smallint': case 'int': case 'float': case 'real': return 0;
    case 'bigint': return 0n;
    case 'decimal': case 'numeric': case 'money': case 'smallmoney': return '0';
    case 'date': return '2000-01-01';
    case 'time': return '00:00:00';
    case 'datetime': case 'datetime2': case 'smalldatetime': return '2000-01-01 00:00:00';
    case 'datetimeoffset': return '2000-01-01 00:00:00 +00:00';
    case 'uniqueidentifier': return '00000000-0000-0000-0000-000000000000';
    case 'binary': case 'varbinary': case 'image': case 'timestamp': case 'rowversion': return Buffer.alloc(0);
    default: return '';
  }
}

/** A type named in CAST (`{ dataType, length, scale }`) or as CONVERT's first argument (a call or a bare name). */
function targetType(node: Node): SqlType {
  if (typeof node.dataType === 'string') {
    const args: Array<number | 'max'> = [];
    if (node.length !== undefined && node.length !== null) args.push(String(node.length).toLowerCase() === 'max' ? 'max' : Number(node.length));
    if (node.scale !== undefined && node.scale !== null) args.push(Number(node.scale));
    return systemType(node.dataType, args);
  }
  if (node.type === 'column_ref' && !node.table) return systemType(nameOf(node.column), []);
  if (node.type === 'function') {
    const name = ((node.name as Node).name as Node[])[0]!.value as string;
    const args = (((node.args as Node | undefined)?.value as Node[] | undefined) ?? []).map((a) => (a.type === 'column_ref' && fold(nameOf(a.column)) === 'max' ? ('max' as const) : Number(a.value)));
    return systemType(name, args);
  }
  throw bindError.syntaxNear(String(node.value ?? node.type));
}

class Compiler {
  readonly convertContext: ConvertContext;

  constructor(private readonly ctx: EvalContext) {
    this.convertContext = { collation: ctx.catalog.collation };
  }

  private convert(v: Typed, target: SqlType, style?: number): unknown {
    return convert(v, target, style, this.convertContext).value;
  }

  /** Finds a column: in the innermost scope that has it, checking qualifiers and ambiguity as SQL Server binds names. */
  private column(scope: Scope, qualifier: string | null, name: string): Expr {
    const shown = qualifier ? `${qualifier}.${name}` : name;
    let depth = 0;
    let qualifierSeen = false;
    for (let s: Scope | undefined = scope; s; s = s.parent, depth++) {
      const hits: Array<{ source: number; column: number }> = [];
      s.sources.forEach((source, i) => {
        if (qualifier !== null && fold(source.name) !== fold(qualifier)) return;
        if (qualifier !== null) qualifierSeen = true;
        source.columns.forEach((c, j) => {
          if (fold(c.name) === fold(name)) hits.push({ source: i, column: j });
        });
      });
      if (hits.length > 1) throw bindError.ambiguousColumn(name);
      if (hits.length === 1) {
        const { source, column } = hits[0]!;
        const type = s.sources[source]!.columns[column]!.type;
        const up = depth;
        return {
          type,
          eval: (env) => {
            let e: Env | undefined = env;
            for (let k = 0; k < up; k++) e = e?.parent;
            return e?.rows[source]?.[column] ?? null;
          },
        };
      }
      if (qualifierSeen) throw bindError.invalidColumn(name);
    }
    throw qualifier !== null ? bindError.notBound(shown) : bindError.invalidColumn(name);
  }

  private parameter(name: string): Expr {
    const key = name.slice(1);
    if (!(key in this.ctx.params)) throw bindError.undeclared(name);
    const value = this.ctx.params[key];
    const type: SqlType = typeof value === 'number' ? INT : typeof value === 'bigint' ? { base: 'bigint', args: [] } : typeof value === 'boolean' ? BIT : NVARCHAR(4000);
    return { type, eval: () => value ?? null };
  }

  private args(node: Node): Node[] {
    return ((node.args as Node | undefined)?.value as Node[] | undefined) ?? [];
  }

  /** A scalar subquery: one column; more than one row is error 512. */
  private scalar(node: { ast: Node }, scope: Scope): Expr {
    const sub = this.select(node.ast, scope);
    if (sub.columns.length !== 1) throw bindError.subqueryColumns();
    return {
      type: sub.columns[0]!.type,
      eval: (env) => {
        let found: unknown[] | undefined;
        for (const row of sub.rows(env)) {
          if (found) throw runError.subqueryRows();
          found = row;
        }
        return found?.[0] ?? null;
      },
    };
  }

  private exists(node: { ast: Node }, scope: Scope, negate: boolean): Expr {
    const sub = this.select(node.ast, scope);
    return { type: BIT, eval: (env) => negate === sub.rows(env)[Symbol.iterator]().next().done };
  }

  /** Truth of a predicate: true, false or null (unknown). */
  private predicate(node: Node, scope: Scope): Expr {
    const e = this.expr(node, scope);
    if (e.type.base !== 'bit' || !isPredicate(node)) throw new SqlError(4145, 'An expression of non-boolean type specified in a context where a condition is expected.', 15);
    return e;
  }

  private typed(e: Expr, env: Env): Typed {
    return { type: e.type, value: e.eval(env) };
  }

  expr(node: Node, scope: Scope): Expr {
    if (isSubquery(node)) return this.scalar(node, scope);
    switch (node.type) {
      case 'number': {
        const text = String(node.value);
        if (/^-?\d+$/.test(text)) {
          const big = BigInt(text);
          return big >= -2147483648n && big <= 2147483647n ? { type: INT, eval: () => Number(big) } : { type: { base: 'bigint', args: [] }, eval: () => big };
        }
        const [whole = '', frac = ''] = text.replace('-', '').split('.');
        return { type: { base: 'numeric', args: [Math.max(whole.length + frac.length, 1), frac.length] }, eval: () => text };
      }
      case 'single_quote_string': case 'var_string': {
        const text = String(node.value).replaceAll("''", "'");
        const unicode = node.type === 'var_string';
        return { type: { base: unicode ? 'nvarchar' : 'varchar', args: [Math.max(text.length, 1)] }, eval: () => text };
      }
      case 'null':
        return { type: INT, eval: () => null };
      case 'bool':
        throw bindError.syntaxNear(String(node.value));
      case 'column_ref': {
        const name = nameOf(node.column);
        if (name.startsWith('@')) return this.parameter(name);
        const e = this.column(scope, (node.table as string | null) ?? null, name);
        const collate = ((node.collate as Node | undefined)?.collate as Node | undefined)?.name as string | undefined;
        if (!collate) return e;
        if (!isCharacter(e.type)) throw new SqlError(447, `Expression type ${e.type.base} is invalid for COLLATE clause.`);
        collationOf(collate);
        return { type: { ...e.type, collation: collate }, eval: e.eval };
      }
      case 'cast': {
        const inner = this.expr(node.expr as Node, scope);
        const target = targetType((node.target as Node[])[0]!);
        return this.conversion(inner, target, undefined);
      }
      case 'function':
        return this.call(node, scope);
      case 'case':
        return this.caseExpr(node, scope);
      case 'unary_expr':
        return this.unary(node, scope);
      case 'binary_expr':
        return this.binary(node, scope);
      case 'aggr_func':
        throw notEmulated(`aggregate ${String(node.name)}`);
      default:
        throw notEmulated(`expression ${String(node.type)}`);
    }
  }

  private conversion(inner: Expr, target: SqlType, style: number | undefined): Expr {
    // A conversion the double does not know fails here, before any row; data-dependent errors (8115, 245) come per row.
    try {
      convert({ type: inner.type, value: sample(inner.type) }, target, style, this.convertContext);
    } catch (error) {
      if (!(error instanceof SqlError)) throw error;
    }
    const type = convert({ type: inner.type, value: null }, target, style, this.convertContext).type;
    return { type, eval: (env) => this.convert(this.typed(inner, env), target, style) };
  }

  private call(node: Node, scope: Scope): Expr {
    const nameNode = node.name as Node;
    const name = String(((nameNode.name as Node[])[0]!).value);
    const upper = name.toUpperCase();
    const args = this.args(node);
    const method = nameNode.schema as Node | undefined;
    if (method) {
      // column.Method(): hierarchyid ToString(), geography/geometry STAsText().
      const column = this.column(scope, null, nameOf(method.value));
      const ok = (upper === 'TOSTRING' && column.type.base === 'hierarchyid') || (upper === 'STASTEXT' && (column.type.base === 'geography' || column.type.base === 'geometry'));
      if (!ok) throw notEmulated(`method ${name} on a ${column.type.base} column`);
      return { type: NVARCHAR(upper === 'TOSTRING' ? 4000 : 'max'), eval: column.eval };
    }
    const arity = (min: number, max = min) => {
      if (args.length < min || args.length > max) throw new SqlError(174, `The ${name} function requires ${min === max ? min : `${min} to ${max}`} argument(s).`, 15);
    };
    const compiled = () => args.map((a) => this.expr(a, scope));
    const catalog = this.ctx.catalog;
    switch (upper) {
      case 'CONVERT': {
        arity(2, 3);
        const target = targetType(args[0]!);
        const inner = this.expr(args[1]!, scope);
        const style = args[2] === undefined ? undefined : Number(args[2].value);
        if (style !== undefined && !Number.isInteger(style)) throw notEmulated('a CONVERT style that is not a literal');
        return this.conversion(inner, target, style);
      }
      case 'EXISTS':
        arity(1);
        if (!isSubquery(args[0])) throw bindError.syntaxNear('EXISTS');
        return this.exists(args[0], scope, false);
      case 'QUOTENAME': {
        arity(1, 2);
        const [value, quote] = compiled();
        return {
          type: NVARCHAR(258),
          eval: (env) => {
            const v = value!.eval(env);
            const q = quote ? String(quote.eval(env) ?? '') : '[';
            if (v == null || String(v).length > 128) return null;
            const close = { '[': ']', ']': ']', '"': '"', "'": "'", '(': ')', ')': ')', '<': '>', '>': '>', '{': '}', '}': '}', '`': '`' }[q];
            if (!close) return null;
            const open = { ']': '[', ')': '(', '>': '<', '}': '{' }[q] ?? q;
            return `${open}${String(v).replaceAll(close, close + close)}${close}`;
          },
        };
      }
      case 'OBJECT_ID': {
        arity(1, 2);
        const [value] = compiled();
        return {
          type: INT,
          eval: (env) => {
            const v = value!.eval(env);
            if (v == null) return null;
            const parts = multipartName(String(v));
            if (!parts || parts.length > 3) return null;
            const [table, schema = null, database] = [...parts].reverse();
            if (database !== undefined && fold(database) !== fold(catalog.database.name)) return null;
            return catalog.objectId(schema, table!);
          },
        };
      }
      case 'COLUMNPROPERTY': {
        arity(3);
        const [id, column, property] = compiled();
        return {
          type: INT,
          eval: (env) => {
            const [i, c, p] = [id!.eval(env), column!.eval(env), property!.eval(env)];
            if (i == null || c == null || p == null || fold(String(p)) !== 'columnid') return null;
            return catalog.columnId(Number(i), String(c));
          },
        };
      }
      case 'DB_ID': {
        arity(0, 1);
        const [value] = compiled();
        return { type: INT, eval: (env) => (value ? (value.eval(env) == null ? null : catalog.dbId(String(value.eval(env)))) : catalog.dbId()) };
      }
      case 'DB_NAME': {
        arity(0, 1);
        const [value] = compiled();
        return { type: NVARCHAR(128), eval: (env) => (value === undefined || Number(value.eval(env)) === catalog.databaseId ? catalog.database.name : null) };
      }
      case 'ISNULL': {
        arity(2);
        const [a, b] = compiled();
        return { type: a!.type, eval: (env) => a!.eval(env) ?? this.convert(this.typed(b!, env), a!.type) };
      }
      case 'COALESCE': {
        if (args.length < 2) throw new SqlError(174, 'The coalesce function requires 2 argument(s).', 15);
        const all = compiled();
        return { type: all[0]!.type, eval: (env) => all.map((e) => e.eval(env)).find((v) => v != null) ?? null };
      }
      case 'SWITCHOFFSET': {
        arity(2);
        const [value, offset] = compiled();
        if (value!.type.base !== 'datetimeoffset') throw notEmulated(`SWITCHOFFSET of a ${value!.type.base}`);
        return {
          type: value!.type,
          eval: (env) => {
            const [v, o] = [value!.eval(env), offset!.eval(env)];
            return v == null || o == null ? null : switchOffset(String(v), String(o));
          },
        };
      }
      default:
        throw bindError.unknownFunction(name);
    }
  }

  private caseExpr(node: Node, scope: Scope): Expr {
    const subject = node.expr ? this.expr(node.expr as Node, scope) : undefined;
    const branches = (node.args as Node[]).map((b) => ({
      when: b.type === 'when' ? (subject ? this.expr(b.cond as Node, scope) : this.predicate(b.cond as Node, scope)) : undefined,
      then: this.expr(b.result as Node, scope),
    }));
    const type = branches[0]!.then.type;
    return {
      type,
      eval: (env) => {
        for (const b of branches) {
          if (!b.when) return b.then.eval(env);
          if (subject) {
            const s = this.typed(subject, env);
            const w = this.typed(b.when, env);
            if (s.value != null && w.value != null && compare(s, w, this.convertContext) === 0) return b.then.eval(env);
          } else if (b.when.eval(env) === true) return b.then.eval(env);
        }
        return null;
      },
    };
  }

  private unary(node: Node, scope: Scope): Expr {
    const op = String(node.operator).toUpperCase();
    if (op === 'NOT EXISTS') {
      if (!isSubquery(node.expr)) throw bindError.syntaxNear('EXISTS');
      return this.exists(node.expr, scope, true);
    }
    if (op === 'NOT') {
      const inner = this.predicate(node.expr as Node, scope);
      return { type: BIT, eval: (env) => (inner.eval(env) == null ? null : !inner.eval(env)) };
    }
    if (op === '-') {
      const inner = this.expr(node.expr as Node, scope);
      return { type: inner.type, eval: (env) => negate(inner.eval(env)) };
    }
    throw notEmulated(`operator ${op}`);
  }

  private binary(node: Node, scope: Scope): Expr {
    const op = String(node.operator).toUpperCase();
    const ctx = this.convertContext;
    if (op === 'AND' || op === 'OR') {
      const a = this.predicate(node.left as Node, scope);
      const b = this.predicate(node.right as Node, scope);
      return {
        type: BIT,
        eval: (env) => {
          const x = a.eval(env) as boolean | null;
          if (op === 'AND' && x === false) return false;
          if (op === 'OR' && x === true) return true;
          const y = b.eval(env) as boolean | null;
          if (op === 'AND') return y === false ? false : x === null || y === null ? null : true;
          return y === true ? true : x === null || y === null ? null : false;
        },
      };
    }
    const left = this.expr(node.left as Node, scope);
    if (op === 'IS' || op === 'IS NOT') {
      if ((node.right as Node).type !== 'null') throw bindError.syntaxNear(String((node.right as Node).value ?? ''));
      return { type: BIT, eval: (env) => (left.eval(env) == null) === (op === 'IS') };
    }
    if (op === 'IN' || op === 'NOT IN') {
      const list = ((node.right as Node).value as Node[]).map((item) => (isSubquery(item) ? this.select(item.ast, scope) : this.expr(item, scope)));
      const values = (env: Env): Typed[] =>
        list.flatMap((item) => {
          if ('columns' in item) {
            if (item.columns.length !== 1) throw bindError.subqueryColumns();
            return [...item.rows(env)].map((r) => ({ type: item.columns[0]!.type, value: r[0] }));
          }
          return [this.typed(item, env)];
        });
      return {
        type: BIT,
        eval: (env) => {
          const x = this.typed(left, env);
          if (x.value == null) return null;
          let unknown = false;
          for (const v of values(env)) {
            if (v.value == null) unknown = true;
            else if (compare(x, v, ctx) === 0) return op === 'IN';
          }
          return unknown ? null : op !== 'IN';
        },
      };
    }
    if (op === 'BETWEEN' || op === 'NOT BETWEEN') {
      const [low, high] = ((node.right as Node).value as Node[]).map((n) => this.expr(n, scope));
      return {
        type: BIT,
        eval: (env) => {
          const [x, l, h] = [this.typed(left, env), this.typed(low!, env), this.typed(high!, env)];
          if (x.value == null || l.value == null || h.value == null) return null;
          return (compare(x, l, ctx) >= 0 && compare(x, h, ctx) <= 0) === (op === 'BETWEEN');
        },
      };
    }
    const right = this.expr(node.right as Node, scope);
    if (op === 'LIKE' || op === 'NOT LIKE') {
      return {
        type: BIT,
        eval: (env) => {
          const [x, p] = [this.typed(left, env), this.typed(right, env)];
          if (x.value == null || p.value == null) return null;
          const coll = x.type.collation ?? p.type.collation ?? ctx.collation;
          return like(asText(x, undefined), String(p.value), coll) === (op === 'LIKE');
        },
      };
    }
    const comparison = { '=': (c: number) => c === 0, '<>': (c: number) => c !== 0, '!=': (c: number) => c !== 0, '<': (c: number) => c < 0, '>': (c: number) => c > 0, '<=': (c: number) => c <= 0, '>=': (c: number) => c >= 0 }[op];
    if (comparison) {
      return {
        type: BIT,
        eval: (env) => {
          const [x, y] = [this.typed(left, env), this.typed(right, env)];
          return x.value == null || y.value == null ? null : comparison(compare(x, y, ctx));
        },
      };
    }
    if (op === '+' && (isCharacter(left.type) || isCharacter(right.type))) {
      if (!(isCharacter(left.type) && isCharacter(right.type))) throw notEmulated('adding a number to a string');
      const unicode = isUnicode(left.type) || isUnicode(right.type);
      const length = (t: SqlType) => (typeof t.args[0] === 'number' ? t.args[0] : Infinity);
      const total = length(left.type) + length(right.type);
      const type: SqlType = { base: unicode ? 'nvarchar' : 'varchar', args: [total > (unicode ? 4000 : 8000) ? 'max' : total] };
      return {
        type,
        eval: (env) => {
          const [x, y] = [left.eval(env), right.eval(env)];
          return x == null || y == null ? null : `${String(x)}${String(y)}`;
        },
      };
    }
    if (['+', '-', '*', '/', '%'].includes(op) && left.type.base === 'int' && right.type.base === 'int') {
      return {
        type: INT,
        eval: (env) => {
          const [x, y] = [left.eval(env) as number | null, right.eval(env) as number | null];
          if (x == null || y == null) return null;
          if ((op === '/' || op === '%') && y === 0) throw new SqlError(8134, 'Divide by zero error encountered.');
          const r = op === '+' ? x + y : op === '-' ? x - y : op === '*' ? x * y : op === '/' ? Math.trunc(x / y) : x % y;
          if (r > 2147483647 || r < -2147483648) throw runError.overflow('expression', 'int');
          return r;
        },
      };
    }
    throw notEmulated(`operator ${op} on ${left.type.base} and ${right.type.base}`);
  }

  /** Compiles a SELECT in an outer scope (undefined at the top). */
  select(ast: Node, outer: Scope | undefined): CompiledSelect {
    if (ast.groupby || ast.having) throw notEmulated('GROUP BY / HAVING');
    if (ast._next || ast.set_op) throw notEmulated('UNION');
    if (ast.with) throw notEmulated('WITH');
    const scope: Scope = { sources: [], parent: outer };
    type Step = (env: Env) => Iterable<Array<unknown[] | null>>;
    const steps: Array<{ kind: string; source: number; rows: Step; on?: Expr }> = [];
    for (const item of (ast.from as Node[] | null) ?? []) {
      const join = String(item.join ?? '').toUpperCase();
      const alias = item.as as string | null;
      let source: Source;
      let rows: Step;
      if (isSubquery(item.expr)) {
        if (!alias) throw bindError.syntaxNear(')');
        // APPLY sees the sources before it (lateral); a derived table only the outer query.
        const lateral = join.endsWith('APPLY');
        const sub = this.select(item.expr.ast, lateral ? { sources: [...scope.sources], parent: outer } : outer);
        sub.columns.forEach((c, i) => {
          if (!c.name) throw bindError.unnamedColumn(i + 1, alias);
        });
        source = { name: alias, columns: sub.columns };
        rows = function* (env) {
          for (const r of sub.rows(lateral ? env : env.parent)) yield [r];
        };
      } else if (typeof item.table === 'string') {
        const schema = (item.schema ?? item.db) as string | null;
        const database = item.schema ? (item.db as string | null) : null;
        const written = [database, schema, item.table].filter((p) => p != null).join('.');
        const relation = database !== null && fold(database) !== fold(this.ctx.catalog.database.name) ? undefined : this.ctx.catalog.relation(schema, item.table);
        if (!relation) throw bindError.invalidObject(written);
        source = { name: alias ?? item.table, columns: relation.columns };
        rows = function* () {
          for (const r of relation.rows()) yield [r];
        };
      } else {
        throw notEmulated(`FROM item ${JSON.stringify(item).slice(0, 80)}`);
      }
      if (scope.sources.some((s) => fold(s.name) === fold(source.name))) throw new SqlError(1011, `The correlation name '${source.name}' is specified multiple times in a FROM clause.`);
      scope.sources.push(source);
      const index = scope.sources.length - 1;
      if (!['', 'JOIN', 'INNER JOIN', 'LEFT JOIN', 'LEFT OUTER JOIN', 'CROSS JOIN', 'CROSS APPLY', 'OUTER APPLY'].includes(join)) throw notEmulated(join);
      if ((item.on !== undefined && item.on !== null) !== ['JOIN', 'INNER JOIN', 'LEFT JOIN', 'LEFT OUTER JOIN'].includes(join)) throw bindError.syntaxNear(item.on ? 'ON' : String(item.table ?? alias));
      const on = item.on ? this.predicate(item.on as Node, { sources: scope.sources.slice(0, index + 1), parent: outer }) : undefined;
      steps.push({ kind: join, source: index, rows, ...(on ? { on } : {}) });
    }
    const where = ast.where ? this.predicate(ast.where as Node, scope) : undefined;

    // The select list, with * and t.* expanded; with an aggregate in it, every item must be one (no GROUP BY here).
    const items: Array<{ name: string; expr: Expr }> = [];
    const aggregated = (ast.columns as Node[]).some((c) => (c.expr as Node).type === 'aggr_func');
    const sums: Array<{ arg: Expr; type: SqlType }> = [];
    for (const column of ast.columns as Node[]) {
      const expr = column.expr as Node;
      if (aggregated) {
        const name = typeof column.as === 'string' ? column.as : '';
        if (expr.type !== 'aggr_func') {
          if (expr.type === 'column_ref') {
            const qualified = [expr.table as string | null, nameOf(expr.column)].filter((p) => p != null).join('.');
            throw new SqlError(8120, `Column '${qualified}' is invalid in the select list because it is not contained in either an aggregate function or the GROUP BY clause.`, 16);
          }
          throw notEmulated('an expression beside an aggregate');
        }
        if (String(expr.name).toUpperCase() !== 'SUM') throw notEmulated(`aggregate ${String(expr.name)}`);
        const args = expr.args as Node;
        if (args.distinct || (args.expr as Node).type === 'star') throw notEmulated('SUM(DISTINCT …) or SUM(*)');
        const arg = this.expr(args.expr as Node, scope);
        if (!['tinyint', 'smallint', 'int', 'bigint'].includes(arg.type.base)) throw notEmulated(`SUM of ${arg.type.base}`);
        const type: SqlType = arg.type.base === 'bigint' ? { base: 'bigint', args: [] } : INT;
        sums.push({ arg, type });
        items.push({ name, expr: { type, eval: () => null } });
        continue;
      }
      if (expr.type === 'column_ref' && nameOf(expr.column) === '*') {
        const qualifier = (expr.table as string | null) ?? null;
        const sources = scope.sources.filter((s) => qualifier === null || fold(s.name) === fold(qualifier));
        if (qualifier !== null && sources.length === 0) throw bindError.notBound(`${qualifier}.*`);
        if (sources.length === 0) throw new SqlError(263, 'Must specify table to select from.');
        for (const s of sources) for (const c of s.columns) items.push({ name: c.name, expr: this.column(scope, s.name, c.name) });
        continue;
      }
      const compiled = this.expr(expr, scope);
      const name = typeof column.as === 'string' ? column.as : expr.type === 'column_ref' ? nameOf(expr.column) : '';
      items.push({ name, expr: compiled });
    }
    const columns = items.map((i) => ({ name: i.name, type: i.expr.type }));

    // ORDER BY: an output column by position or alias, or any expression of the FROM sources.
    const order = ((ast.orderby as Node[] | null) ?? []).map((o) => {
      const e = o.expr as Node;
      const descending = String(o.type ?? '').toUpperCase() === 'DESC';
      const collate = ((e.collate as Node | undefined)?.collate as Node | undefined)?.name as string | undefined;
      if (e.type === 'number') {
        const position = Number(e.value);
        if (!items[position - 1]) throw new SqlError(108, `The ORDER BY position number ${position} is out of range of the number of items in the select list.`, 15);
        return { output: position - 1, descending, collate };
      }
      if (e.type === 'column_ref' && !e.table) {
        const matches = items.map((it, i) => (fold(it.name) === fold(nameOf(e.column)) ? i : -1)).filter((i) => i >= 0);
        if (matches.length === 1) {
          if (collate && !isCharacter(items[matches[0]!]!.expr.type)) throw new SqlError(447, `Expression type ${items[matches[0]!]!.expr.type.base} is invalid for COLLATE clause.`);
          return { output: matches[0]!, descending, collate };
        }
      }
      return { expr: this.expr(e, scope), descending, collate };
    });
    const top = ast.top ? Number((ast.top as Node).value) : undefined;
    if (top !== undefined && (!Number.isInteger(top) || (ast.top as Node).percent)) throw notEmulated('TOP other than a row count');
    const distinct = String(ast.distinct ?? '').toUpperCase() === 'DISTINCT';
    const ctx = this.convertContext;

    function* tuples(outerEnv: Env | undefined): Generator<Env> {
      const env: Env = { rows: scope.sources.map(() => null), parent: outerEnv };
      function* from(step: number): Generator<Env> {
        if (step === steps.length) {
          yield env;
          return;
        }
        const { kind, source, rows, on } = steps[step]!;
        let matched = false;
        for (const [row] of rows(env)) {
          env.rows[source] = row ?? null;
          if (on && on.eval(env) !== true) continue;
          matched = true;
          yield* from(step + 1);
        }
        if (!matched && (kind === 'LEFT JOIN' || kind === 'LEFT OUTER JOIN' || kind === 'OUTER APPLY')) {
          env.rows[source] = null;
          yield* from(step + 1);
        }
        env.rows[source] = null;
      }
      yield* from(0);
    }

    const project = (env: Env) => items.map((i) => i.expr.eval(env));
    if (aggregated) {
      if (order.length > 0) throw notEmulated('ORDER BY with an aggregate');
      return {
        columns,
        rows: function* (outerEnv?: Env) {
          const totals: Array<bigint | null> = sums.map(() => null);
          for (const env of tuples(outerEnv)) {
            if (where && where.eval(env) !== true) continue;
            for (const [i, sum] of sums.entries()) {
              const v = sum.arg.eval(env);
              if (v != null) totals[i] = (totals[i] ?? 0n) + BigInt(v as number | bigint);
            }
          }
          if (top === 0) return;
          yield totals.map((total, i) => {
            if (total === null) return null;
            const big = sums[i]!.type.base === 'bigint';
            const [min, max] = big ? [-(2n ** 63n), 2n ** 63n - 1n] : [-2147483648n, 2147483647n];
            if (total < min || total > max) throw runError.overflow('expression', big ? 'bigint' : 'int');
            return big ? total : Number(total);
          });
        },
      };
    }
    return {
      columns,
      rows: function* (outerEnv?: Env) {
        const seen = new Set<string>();
        let emitted = 0;
        const keep = (row: unknown[]) => {
          if (!distinct) return true;
          const key = JSON.stringify(row, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : Buffer.isBuffer(v) ? v.toString('hex') : v));
          if (seen.has(key)) return false;
          seen.add(key);
          return true;
        };
        if (order.length === 0) {
          for (const env of tuples(outerEnv)) {
            if (top !== undefined && emitted >= top) return;
            if (where && where.eval(env) !== true) continue;
            const row = project(env);
            if (!keep(row)) continue;
            emitted++;
            yield row;
          }
          return;
        }
        const sorted: Array<{ row: unknown[]; keys: Typed[] }> = [];
        for (const env of tuples(outerEnv)) {
          if (where && where.eval(env) !== true) continue;
          const row = project(env);
          const keys = order.map((o) => ('output' in o ? { type: columns[o.output!]!.type, value: row[o.output!] } : { type: o.expr!.type, value: o.expr!.eval(env) }));
          sorted.push({ row, keys });
        }
        sorted.sort((a, b) => {
          for (const [i, o] of order.entries()) {
            const [x, y] = [a.keys[i]!, b.keys[i]!];
            const c = x.value == null ? (y.value == null ? 0 : -1) : y.value == null ? 1 : compare(x, y, ctx, o.collate);
            if (c !== 0) return o.descending ? -c : c;
          }
          return 0;
        });
        for (const { row } of sorted) {
          if (top !== undefined && emitted >= top) return;
          if (!keep(row)) continue;
          emitted++;
          yield row;
        }
      },
    };
  }
}

/** Whether a node yields a truth value (a comparison, a logical operator, EXISTS, IS NULL …). */
function isPredicate(node: Node): boolean {
  if (node.type === 'binary_expr') return ['AND', 'OR', '=', '<>', '!=', '<', '>', '<=', '>=', 'IN', 'NOT IN', 'LIKE', 'NOT LIKE', 'IS', 'IS NOT', 'BETWEEN', 'NOT BETWEEN'].includes(String(node.operator).toUpperCase());
  if (node.type === 'unary_expr') return ['NOT', 'NOT EXISTS'].includes(String(node.operator).toUpperCase());
  if (node.type === 'function') return String(((node.name as Node).name as Node[])[0]?.value).toUpperCase() === 'EXISTS';
  return false;
}

function negate(v: unknown): unknown {
  if (v == null) return null;
  if (typeof v === 'number') return -v;
  if (typeof v === 'bigint') return -v;
  const s = String(v);
  return s.startsWith('-') ? s.slice(1) : `-${s}`;
}

/** Splits `[a].[b]`, `a.b`, `"a"."b"` into its parts (as OBJECT_ID reads its argument), or undefined when malformed. */
export function multipartName(text: string): string[] | undefined {
  const parts: string[] = [];
  let i = 0;
  for (;;) {
    let part = '';
    if (text[i] === '[' || text[i] === '"') {
      const close = text[i] === '[' ? ']' : '"';
      for (i++; ; i++) {
        if (i >= text.length) return undefined;
        if (text[i] === close && text[i + 1] === close) {
          part += close;
          i++;
        } else if (text[i] === close) break;
        else part += text[i];
      }
      i++;
    } else {
      while (i < text.length && text[i] !== '.') part += text[i++];
      part = part.trim();
    }
    parts.push(part);
    if (i >= text.length) return parts;
    if (text[i] !== '.') return undefined;
    i++;
  }
}

/** Compiles a SELECT: every name is bound now, so binding errors come before any row. */
export function compileSelect(ast: Node, ctx: EvalContext): CompiledSelect {
  return new Compiler(ctx).select(ast, undefined);
}
