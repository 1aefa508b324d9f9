/**
 * Statements checked against a Spark SQL grammar, as a warehouse's parser
 * checks them before anything runs: dt-sql-parser's SparkSQL (the ANTLR
 * grammar of Apache Spark's SqlBaseParser.g4, pinned in package.json). Delta
 * Lake's own statements (DESCRIBE HISTORY) are parsed by Delta's grammar in
 * Databricks, not Spark's; the one the connector sends is matched here by
 * Delta's rule `DESCRIBE HISTORY (path | table) (LIMIT n)?`.
 *
 * A refused statement is answered as Spark answers it:
 * `[PARSE_SYNTAX_ERROR] Syntax error at or near 'X'. SQLSTATE: 42601`
 * (`end of input` when the statement stops early), with the 0-based position.
 */
import { SparkSQL } from 'dt-sql-parser';

const parser = new SparkSQL();

/** A SQL error the warehouse reports for a statement (SQLSTATE and message). */
export class DbxSqlError extends Error {
  constructor(
    readonly sqlState: string,
    message: string,
  ) {
    super(message);
  }
}

/** Delta Lake's DESCRIBE HISTORY rule (DeltaSqlBase.g4), for one qualified, backticked table name. */
export const DESCRIBE_HISTORY = /^DESCRIBE\s+HISTORY\s+((?:`(?:[^`]|``)*`\.){0,2}`(?:[^`]|``)*`)(?:\s+LIMIT\s+(\d+))?$/i;

/** The position (0-based offset) of a 1-based line and column in `sql`. */
function offsetOf(sql: string, line: number, column: number): number {
  const lines = sql.split('\n');
  let offset = 0;
  for (let i = 0; i < line - 1; i++) offset += lines[i]!.length + 1;
  return offset + column - 1;
}

/** Statements checked so far and their verdicts: the grammar is slow on long select lists, and tests repeat them. */
const verdicts = new Map<string, DbxSqlError | undefined>();

/** Throws the DbxSqlError Spark would for a statement its grammar refuses. */
export function checkSyntax(sql: string): void {
  if (!verdicts.has(sql)) {
    try {
      parse(sql);
      verdicts.set(sql, undefined);
    } catch (error) {
      if (!(error instanceof DbxSqlError)) throw error;
      verdicts.set(sql, error);
    }
  }
  const verdict = verdicts.get(sql);
  if (verdict) throw verdict;
}

function parse(sql: string): void {
  if (/^\s*DESCRIBE\s+HISTORY\b/i.test(sql)) {
    if (!DESCRIBE_HISTORY.test(sql.trim())) throw syntaxError(sql, sql.trim().length, sql.trim().length);
    return;
  }
  const [first] = parser.validate(sql);
  if (!first) return;
  const start = offsetOf(sql, first.startLine, first.startColumn);
  throw syntaxError(sql, start, /incomplete/i.test(first.message) ? sql.length : offsetOf(sql, first.endLine, first.endColumn));
}

function syntaxError(sql: string, start: number, end: number): DbxSqlError {
  const token = start >= sql.trimEnd().length ? 'end of input' : `'${sql.slice(start, Math.max(end, start + 1)).trim()}'`;
  const line = sql.slice(0, start).split('\n').length;
  const pos = start - sql.lastIndexOf('\n', start - 1) - 1;
  return new DbxSqlError('42601', `[PARSE_SYNTAX_ERROR] Syntax error at or near ${token}. SQLSTATE: 42601 (line ${line}, pos ${pos})`);
}
