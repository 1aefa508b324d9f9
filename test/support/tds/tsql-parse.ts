/**
 * T-SQL statements for the SQL Server double, parsed with node-sql-parser's
 * Transact-SQL grammar (pinned in package.json). A statement the grammar
 * refuses is answered as SQL Server answers a syntax error: 102 "Incorrect
 * syntax near '…'." or 156 "… near the keyword '…'." (severity 15), naming
 * the token where parsing stopped.
 *
 * Two things the grammar (5.4.0) does not do are handled here, on purpose:
 * - a bracketed identifier holding `]]` (an escaped `]`, as the connector
 *   quotes names) is not accepted: such identifiers are swapped for
 *   placeholders before parsing and restored in the tree afterwards;
 * - BEGIN/COMMIT/ROLLBACK TRAN[SACTION] come out as a variable assignment of
 *   a function call (`BEGIN = TRANSACTION()`): that shape, with exactly those
 *   words, is read as the transaction statement; any other such shape is a
 *   syntax error.
 */
import sqlParser from 'node-sql-parser/build/transactsql.js';
import { bindError, type SqlError } from './sqlserver-errors.js';

/** A node of node-sql-parser's tree, read defensively. */
export type Node = Record<string, unknown>;

/** A statement the double runs. */
export type Statement =
  | { kind: 'select'; ast: Node }
  | { kind: 'isolation'; level: string }
  | { kind: 'begin' }
  | { kind: 'commit' }
  | { kind: 'rollback' };

interface Token {
  text: string;
  start: number;
  end: number;
  kind: 'word' | 'ident' | 'string' | 'number' | 'symbol' | 'variable';
}

/** T-SQL reserved keywords (Microsoft Learn, "Reserved Keywords (Transact-SQL)"). */
const RESERVED = new Set(`ADD ALL ALTER AND ANY AS ASC AUTHORIZATION BACKUP BEGIN BETWEEN BREAK BROWSE BULK BY CASCADE CASE CHECK CHECKPOINT
CLOSE CLUSTERED COALESCE COLLATE COLUMN COMMIT COMPUTE CONSTRAINT CONTAINS CONTAINSTABLE CONTINUE CONVERT CREATE CROSS CURRENT
CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR DATABASE DBCC DEALLOCATE DECLARE DEFAULT DELETE DENY DESC DISK
DISTINCT DISTRIBUTED DOUBLE DROP DUMP ELSE END ERRLVL ESCAPE EXCEPT EXEC EXECUTE EXISTS EXIT EXTERNAL FETCH FILE FILLFACTOR FOR
FOREIGN FREETEXT FREETEXTTABLE FROM FULL FUNCTION GOTO GRANT GROUP HAVING HOLDLOCK IDENTITY IDENTITY_INSERT IDENTITYCOL IF IN INDEX
INNER INSERT INTERSECT INTO IS JOIN KEY KILL LEFT LIKE LINENO LOAD MERGE NATIONAL NOCHECK NONCLUSTERED NOT NULL NULLIF OF OFF OFFSETS
ON OPEN OPENDATASOURCE OPENQUERY OPENROWSET OPENXML OPTION OR ORDER OUTER OVER PERCENT PIVOT PLAN PRECISION PRIMARY PRINT PROC
PROCEDURE PUBLIC RAISERROR READ READTEXT RECONFIGURE REFERENCES REPLICATION RESTORE RESTRICT RETURN REVERT REVOKE RIGHT ROLLBACK
ROWCOUNT ROWGUIDCOL RULE SAVE SCHEMA SECURITYAUDIT SELECT SEMANTICKEYPHRASETABLE SEMANTICSIMILARITYDETAILSTABLE
SEMANTICSIMILARITYTABLE SESSION_USER SET SETUSER SHUTDOWN SOME STATISTICS SYSTEM_USER TABLE TABLESAMPLE TEXTSIZE THEN TO TOP TRAN
TRANSACTION TRIGGER TRUNCATE TRY_CONVERT TSEQUAL UNION UNIQUE UNPIVOT UPDATE UPDATETEXT USE USER VALUES VARYING VIEW WAITFOR WHEN
WHERE WHILE WITH WITHIN WRITETEXT`.split(/\s+/));

/** Splits T-SQL text into tokens (comments and white space dropped). */
function lex(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const push = (kind: Token['kind'], end: number) => {
    out.push({ kind, start: i, end, text: sql.slice(i, end) });
    i = end;
  };
  const closing = (from: number, quote: string) => {
    for (let j = from; j < sql.length; j++) {
      if (sql[j] === quote) {
        if (sql[j + 1] === quote) j++;
        else return j + 1;
      }
    }
    return sql.length;
  };
  while (i < sql.length) {
    const rest = sql.slice(i);
    if (/^\s/.test(rest)) i++;
    else if (rest.startsWith('--')) i = sql.indexOf('\n', i) < 0 ? sql.length : sql.indexOf('\n', i);
    else if (rest.startsWith('/*')) i = sql.indexOf('*/', i) < 0 ? sql.length : sql.indexOf('*/', i) + 2;
    else if (rest[0] === '[') push('ident', closing(i + 1, ']'));
    else if (rest[0] === '"') push('ident', closing(i + 1, '"'));
    else if (rest[0] === "'") push('string', closing(i + 1, "'"));
    else if (/^[Nn]'/.test(rest)) push('string', closing(i + 2, "'"));
    else if (/^@/.test(rest)) push('variable', i + /^@@?[\w@$#]*/.exec(rest)![0].length);
    else if (/^(0x[0-9a-f]*|\d+(\.\d*)?([eE][+-]?\d+)?|\.\d+)/i.test(rest)) push('number', i + /^(0x[0-9a-f]*|\d+(\.\d*)?([eE][+-]?\d+)?|\.\d+)/i.exec(rest)![0].length);
    else if (/^[\p{L}_#]/u.test(rest)) push('word', i + /^[\p{L}_#][\p{L}\p{N}_@$#]*/u.exec(rest)![0].length);
    else push('symbol', i + (/^(<>|!=|<=|>=|!<|!>|\|\||::)/.exec(rest)?.[0].length ?? 1));
  }
  return out;
}

/** What SQL Server shows of a token in an error: identifiers and strings without their quotes. */
function shown(t: Token): string {
  if (t.kind === 'ident') return t.text.slice(1, -1).replaceAll(t.text[0] === '[' ? ']]' : '""', t.text[0] === '[' ? ']' : '"');
  if (t.kind === 'string') return t.text.replace(/^[Nn]?'/, '').slice(0, -1).replaceAll("''", "'");
  return t.text;
}

/** The syntax error SQL Server reports for a parse that stopped at `offset` of `sql`. */
function syntaxError(sql: string, offset: number): SqlError {
  const tokens = lex(sql);
  const at = tokens.find((t) => t.end > offset) ?? tokens.at(-1);
  if (!at) return bindError.syntaxNear('');
  return at.kind === 'word' && RESERVED.has(at.text.toUpperCase()) ? bindError.syntaxNearKeyword(at.text.toUpperCase()) : bindError.syntaxNear(shown(at));
}

/** `[…]` identifiers holding `]]` swapped for placeholders the grammar accepts, and how to undo it. */
function placeholders(sql: string): { text: string; names: Map<string, string>; original: (offset: number) => number } {
  const names = new Map<string, string>();
  const shifts: Array<{ at: number; delta: number }> = [];
  let text = '';
  let last = 0;
  for (const t of lex(sql)) {
    if (t.kind !== 'ident' || t.text[0] !== '[' || !t.text.includes(']]')) continue;
    let key: string;
    for (let n = names.size; ; n++) {
      key = `tds_quoted_${n}`;
      if (!sql.toLowerCase().includes(key)) break;
    }
    names.set(key, shown(t));
    text += sql.slice(last, t.start);
    const replacement = `[${key}]`;
    shifts.push({ at: text.length + replacement.length, delta: t.text.length - replacement.length });
    text += replacement;
    last = t.end;
  }
  text += sql.slice(last);
  const original = (offset: number) => offset + shifts.filter((s) => s.at <= offset).reduce((sum, s) => sum + s.delta, 0);
  return { text, names, original };
}

/** Puts the swapped identifiers back into the parsed tree. */
function restore(node: unknown, names: Map<string, string>): unknown {
  if (typeof node === 'string') return names.get(node) ?? node;
  if (Array.isArray(node)) return node.map((n) => restore(n, names));
  if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, restore(v, names)]));
  return node;
}

const parser = new sqlParser.Parser();

const ISOLATION_LEVELS = new Set(['READ UNCOMMITTED', 'READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE', 'SNAPSHOT']);

/** One statement of the parsed batch as the double runs it. */
function statement(node: Node): Statement {
  if (node.type === 'select') return { kind: 'select', ast: node };
  if (node.type === 'set') {
    const [assign] = (node.expr as Node[] | undefined) ?? [];
    const left = (assign?.left as Node | undefined)?.value;
    const level = String((assign?.right as Node | undefined)?.value ?? '').toUpperCase();
    if (left === 'transaction isolation level' && ISOLATION_LEVELS.has(level)) return { kind: 'isolation', level };
    throw new Error(`SET statement not emulated: ${JSON.stringify(node)}`);
  }
  const stmt = node.stmt as Node | undefined;
  const verb = String((stmt?.left as Node | undefined)?.name ?? '').toUpperCase();
  const right = stmt?.right as Node | undefined;
  const noun = String(((right?.name as Node | undefined)?.name as Node[] | undefined)?.[0]?.value ?? '').toUpperCase();
  if (stmt?.type === 'assign' && right?.type === 'function' && right.args == null && ['BEGIN', 'COMMIT', 'ROLLBACK'].includes(verb)) {
    if (noun === 'TRAN' || noun === 'TRANSACTION') return { kind: verb.toLowerCase() as 'begin' | 'commit' | 'rollback' };
    throw bindError.syntaxNear(noun);
  }
  throw new Error(`statement not emulated: ${JSON.stringify(node).slice(0, 200)}`);
}

/**
 * Parses a batch (or an sp_executesql statement) into the statements the
 * double runs; throws a {@link SqlError} for what SQL Server would refuse to
 * compile, a plain Error for what the double does not emulate.
 */
export function parseBatch(sql: string): Statement[] {
  const { text, names, original } = placeholders(sql);
  let ast: unknown;
  try {
    ast = parser.astify(text, { database: 'transactsql' });
  } catch (error) {
    const location = (error as { location?: { start?: { offset?: number } } }).location;
    if (location?.start?.offset === undefined) throw error;
    throw syntaxError(sql, original(location.start.offset));
  }
  const flat = (Array.isArray(ast) ? ast : [ast]).flat(2) as Node[];
  return flat.map((node) => statement(restore(node, names) as Node));
}
