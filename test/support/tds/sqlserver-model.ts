/**
 * The in-memory SQL Server behind the TDS double: databases (with their
 * default collation and ALLOW_SNAPSHOT_ISOLATION), schemas, tables with typed
 * columns (and per-column collations), comments, primary and unique keys, and
 * rows; and the engine that runs what the connector sends:
 *
 * - every statement is parsed with a T-SQL grammar (tsql-parse.ts), so a
 *   syntax error is answered with SQL Server's 102/156;
 * - SELECTs are bound and evaluated (tsql-eval.ts) against the catalog views
 *   derived from the tables (catalog-views.ts) and the tables themselves,
 *   with SQL Server's conversions and styles (sql-types.ts);
 * - SET TRANSACTION ISOLATION LEVEL and BEGIN/COMMIT/ROLLBACK TRANSACTION
 *   drive the session's transaction; reading in a SNAPSHOT transaction of a
 *   database that does not allow it is error 3952.
 *
 * A result column of a type tedious would parse itself (decimal, date and
 * time types, uniqueidentifier, sql_variant) is refused with an error, on
 * purpose: the connector is meant to convert those in SQL.
 */
import { Catalog, DEFAULT_COLLATION } from './catalog-views.js';
import { collation } from './collations.js';
import type { SqlServerDatabase } from './database.js';
import type { SqlRequest } from './requests.js';
import type { Outcome, SqlEngine, TdsSession } from './server.js';
import { checkStored, parseType, type SqlType } from './sql-types.js';
import { SqlError, concurrencyError } from './sqlserver-errors.js';
import type { WireColumn, WireType } from './tokens.js';
import { compileSelect } from './tsql-eval.js';
import { parseBatch } from './tsql-parse.js';

export { parseType } from './sql-types.js';
export type { SqlServerColumn, SqlServerDatabase, SqlServerTable } from './database.js';

/** How a value of this type travels in a result set, or an error for types tedious would parse itself. */
function wireType(t: SqlType, defaultCollation: string): WireType {
  const n = t.args[0] ?? 1;
  switch (t.base) {
    case 'tinyint': return { type: 'int', size: 1 };
    case 'smallint': return { type: 'int', size: 2 };
    case 'int': return { type: 'int', size: 4 };
    case 'bigint': return { type: 'int', size: 8 };
    case 'bit': return { type: 'bit' };
    case 'float': return { type: 'float', size: 8 };
    case 'real': return { type: 'float', size: 4 };
    case 'char': case 'varchar': case 'nchar': case 'nvarchar':
      return { type: t.base, length: n, collation: collation(t.collation ?? defaultCollation) };
    case 'binary': case 'varbinary':
      return { type: t.base, length: n };
    case 'timestamp': case 'rowversion':
      return { type: 'binary', length: 8 };
    default:
      throw new Error(`a ${t.base} result column would be parsed by the driver; the connector must convert it in SQL`);
  }
}

export class SqlServerModel implements SqlEngine {
  private readonly databases: Map<string, SqlServerDatabase>;

  constructor(databases: SqlServerDatabase[]) {
    this.databases = new Map(databases.map((d) => [d.name.toLowerCase(), d]));
    for (const d of databases) {
      const fallback = d.collation ?? DEFAULT_COLLATION;
      for (const [schema, tables] of Object.entries(d.schemas)) {
        for (const t of tables) {
          if (typeof t.rows === 'function') continue;
          t.columns.forEach((c, i) => {
            const type = parseType(c.type);
            for (const row of t.rows as unknown[][]) checkStored(row[i], type, c.collation ?? fallback, `${d.name}.${schema}.${t.name}.${c.name}`);
          });
        }
      }
    }
  }

  databaseExists(name: string): boolean {
    return this.databases.has(name.toLowerCase()) || name.toLowerCase() === 'master';
  }

  /** The database default collation a login to `database` is told (ENVCHANGE 7). */
  collationOf(database: string): string {
    return this.databases.get(database.toLowerCase())?.collation ?? DEFAULT_COLLATION;
  }

  private database(session: TdsSession): SqlServerDatabase {
    return this.databases.get(session.database.toLowerCase()) ?? { name: 'master', snapshotIsolation: true, schemas: {} };
  }

  execute(request: SqlRequest, session: TdsSession): Outcome[] {
    const out: Outcome[] = [];
    try {
      for (const statement of parseBatch(request.sql)) {
        switch (statement.kind) {
          case 'isolation':
            session.isolation = statement.level;
            out.push({ kind: 'done' });
            break;
          case 'begin':
            if (session.transaction) throw new Error('nested transactions are not emulated');
            out.push({ kind: 'begin', isolation: session.isolation });
            break;
          case 'commit':
          case 'rollback':
            if (!session.transaction) {
              throw new SqlError(statement.kind === 'commit' ? 3902 : 3903, `The ${statement.kind.toUpperCase()} TRANSACTION request has no corresponding BEGIN TRANSACTION.`);
            }
            out.push({ kind: 'end', commit: statement.kind === 'commit' });
            break;
          case 'select':
            out.push(this.select(statement.ast, request, session));
            break;
        }
      }
    } catch (error) {
      if (!(error instanceof SqlError)) throw error;
      out.push({ kind: 'error', number: error.number, message: error.message, severity: error.severity, state: error.state, rollsBack: error.rollsBack });
    }
    return out;
  }

  private select(ast: Record<string, unknown>, request: SqlRequest, session: TdsSession): Outcome {
    const db = this.database(session);
    const catalog = new Catalog(db, [...this.databases.values()]);
    const compiled = compileSelect(ast, { catalog, params: request.params });
    // Reading anything in a SNAPSHOT transaction of a database that does not allow it fails at that read.
    if (ast.from && session.transaction?.isolation === 'SNAPSHOT' && !db.snapshotIsolation) throw concurrencyError(3952, { database: db.name });
    const columns: WireColumn[] = compiled.columns.map((c) => ({ name: c.name, type: wireType(c.type, catalog.collation) }));
    return { kind: 'rows', columns, rows: compiled.rows() };
  }
}
