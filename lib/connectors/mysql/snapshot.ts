import { finished as finishedStream, PassThrough, type Readable } from 'node:stream';
import type mysql from 'mysql2';
import { AppError } from '../../errors.js';
import { tableKey, type ColumnInfo, type CsvProgress, type SourceSnapshot } from '../connector.js';
import { mysqlFormatter, mysqlSelectExpression } from './types.js';
import { markRowAligned } from '../csv-rows.js';
import { MysqlCsvReader } from './csv-reader.js';

/**
 * TIMESTAMP columns are instants: a UTC session prints them in UTC. The
 * consistent snapshot is taken at START TRANSACTION, not at the first read.
 */
const BEGIN = [
  "SET SESSION time_zone = '+00:00'",
  'SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ',
  'START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY',
];

export interface MysqlSnapshotContext {
  where: string;
  translate: (error: unknown) => AppError;
  onQuery?: ((sql: string) => void) | undefined;
  statementTimeoutMs?: number | undefined;
  /** A session setting run first: the server's own statement time limit. */
  sessionLimit?: string | undefined;
  /**
   * Stops the statement of server session `threadId` from another connection
   * (KILL QUERY). Closing its side of the connection does not stop the server
   * (it sends the rest of the result to a client that reads on, and a view that
   * sleeps computes on): closed mid-read, the snapshot asks it to stop.
   */
  kill?: ((threadId: number) => Promise<void>) | undefined;
}

/** A MySQL identifier in backticks, backticks doubled. */
export function quoteIdentifier(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

/** The SELECT reading the columns of a table, each as an expression the formatters expect. */
export function selectStatement(schema: string, table: string, columns: readonly ColumnInfo[]): string {
  const list = columns.map((c) => `${mysqlSelectExpression(quoteIdentifier(c.name), c.logical)} AS ${quoteIdentifier(c.name)}`);
  return `SELECT ${list.join(', ')} FROM ${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
}

function run(connection: mysql.Connection, sql: string): Promise<void> {
  return new Promise((resolve, reject) => connection.query(sql, (error) => (error ? reject(error) : resolve())));
}

/**
 * The storage engine's estimate of each table's rows (InnoDB's is sampled;
 * MyISAM's exact; a view's NULL). MySQL 8 may answer it from its cached
 * statistics (information_schema_stats_expiry); MariaDB asks the engine.
 */
export function estimateStatement(tableCount: number): string {
  const names = Array.from({ length: tableCount }, () => '?').join(', ');
  return `SELECT TABLE_NAME AS name, TABLE_ROWS AS estimate FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (${names})`;
}

/**
 * A consistent, read-only snapshot on a connection of its own. Tables stream
 * one after another (mysql2 queues statements): read each to its end first.
 */
export class MysqlSnapshot implements SourceSnapshot {
  private readonly rowCounts = new Map<string, number>();
  private readonly connection: mysql.Connection;
  private readonly context: MysqlSnapshotContext;
  /** Streams started and not yet finished, with the row stream feeding each. */
  private readonly active = new Map<Readable, Readable>();
  private broken: AppError | undefined;
  private closed = false;

  private constructor(connection: mysql.Connection, context: MysqlSnapshotContext) {
    this.connection = connection;
    this.context = context;
    // mysql2 reports a lost connection to the connection, not to a streaming
    // query without a callback: hand it to the streams in flight.
    const lost = (error: unknown) => {
      if (this.closed) return;
      this.broken ??= context.translate(error);
      for (const rows of this.active.values()) rows.destroy(error as Error);
    };
    connection.on('error', lost);
    connection.on('end', () => lost(Object.assign(new Error('The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST' })));
  }

  /** Starts the transaction on a connected connection that the snapshot then owns. */
  static async begin(connection: mysql.Connection, context: MysqlSnapshotContext): Promise<MysqlSnapshot> {
    for (const sql of context.sessionLimit ? [context.sessionLimit, ...BEGIN] : BEGIN) {
      context.onQuery?.(sql);
      await run(connection, sql);
    }
    return new MysqlSnapshot(connection, context);
  }

  async estimateRows(schema: string, tables: readonly string[]): Promise<Map<string, number>> {
    const estimates = new Map<string, number>();
    if (this.closed || this.broken || tables.length === 0) return estimates;
    const sql = estimateStatement(tables.length);
    this.context.onQuery?.(sql);
    const rows = await new Promise<Array<{ name: string; estimate: number | string | null }>>((resolve, reject) =>
      this.connection.query({ sql, values: [schema, ...tables], timeout: this.context.statementTimeoutMs }, (error, result) =>
        error ? reject(this.context.translate(error)) : resolve(result as Array<{ name: string; estimate: number | string | null }>),
      ),
    );
    const wanted = new Set(tables);
    for (const row of rows) {
      const estimate = row.estimate == null ? NaN : Number(row.estimate);
      if (wanted.has(row.name) && Number.isSafeInteger(estimate) && estimate >= 0) estimates.set(row.name, estimate);
    }
    return estimates;
  }

  csv(schema: string, table: string, columns: readonly ColumnInfo[], progress?: CsvProgress): Readable {
    const output = new PassThrough();
    if (this.closed || this.broken) {
      const reason = this.broken ?? new AppError('INTERNAL', `The snapshot of the ${this.context.where} is closed.`);
      process.nextTick(() => output.destroy(reason));
      return output;
    }
    // Formatters are built before anything is sent, so a wrong column fails here.
    const result = columns.map((c) => ({ name: c.name, logical: c.logical, datatype: c.datatype, format: mysqlFormatter(c.logical, c.datatype) }));
    const sql = selectStatement(schema, table, columns);
    this.context.onQuery?.(sql);
    const query = this.connection.query({ sql, rowsAsArray: true, timeout: this.context.statementTimeoutMs });
    const rows = new MysqlCsvReader(this.connection, query, result, progress);
    this.active.set(output, rows);
    let finished = false;
    // Counted before the output ends (this listener comes before pipe's).
    rows.on('end', () => this.rowCounts.set(tableKey(schema, table), rows.rows));
    finishedStream(rows, (error) => {
      if (finished) return;
      finished = true;
      this.active.delete(output);
      if (!error) return;
      const failure = this.context.translate(error);
      this.broken ??= failure;
      output.destroy(failure);
    });
    rows.pipe(output);
    // The reader pushes whole rows only (its rows of one tick as one chunk).
    markRowAligned(output);
    output.on('close', () => {
      if (finished || output.readableEnded) return;
      // The reader gave up mid-table: the rest of the result would still arrive,
      // so the connection is dropped (ending the transaction with it).
      finished = true;
      this.active.delete(output);
      this.broken ??= new AppError('SOURCE_QUERY_FAILED', `Reading table '${schema}.${table}' from the ${this.context.where} was abandoned.`);
      rows.destroy();
      this.connection.destroy();
    });
    return output;
  }

  rowsRead(schema: string, table: string): number | null {
    return this.rowCounts.get(tableKey(schema, table)) ?? null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.broken || this.active.size > 0) {
      const reading = this.active.size > 0;
      for (const stream of this.active.keys()) stream.destroy();
      const { threadId } = this.connection;
      this.connection.destroy();
      // Stopped mid-read (cancelled, a deadline): the statement is stopped on the server too.
      if (reading && threadId !== null && this.context.kill) await this.context.kill(threadId).catch(() => undefined);
      return;
    }
    try {
      await run(this.connection, 'ROLLBACK');
      await new Promise<void>((resolve) => this.connection.end(() => resolve()));
    } catch {
      this.connection.destroy();
    }
  }
}
