import { Readable } from 'node:stream';
import { Request, type Connection } from './driver.js';
import { AppError } from '../../errors.js';
import type { ColumnInfo, CsvProgress, SourceSnapshot } from '../connector.js';
import { canonicalCsvStream } from '../csv-rows.js';
import { closeConnection, runBatch, runQuery } from './connection.js';
import { estimateRows as estimateStatement, tableBatches } from './catalog-sql.js';
import { mssqlFormatter, mssqlSelectExpression, quoteIdentifier } from './types.js';
import type { Formatter } from '../../types/canonical.js';

/** Whether the database allows SNAPSHOT isolation (sys.databases.snapshot_isolation_state 1 = ON). */
export const SNAPSHOT_STATE = 'SELECT snapshot_isolation_state AS state FROM sys.databases WHERE database_id = DB_ID()';

export const BEGIN_SNAPSHOT = 'SET TRANSACTION ISOLATION LEVEL SNAPSHOT; BEGIN TRANSACTION';
export const BEGIN_SERIALIZABLE = 'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; BEGIN TRANSACTION';

/** Rows buffered between the server and the CSV encoder before the request is paused. */
const ROW_BUFFER = 1024;

export interface MssqlSnapshotContext {
  where: string;
  database: string;
  translate: (error: unknown) => AppError;
  onQuery?: ((sql: string) => void) | undefined;
}

/** The SELECT reading the columns of a table, each as an expression the formatters expect. */
export function selectStatement(schema: string, table: string, columns: readonly ColumnInfo[]): string {
  const list = columns.map((c) => `${mssqlSelectExpression(quoteIdentifier(c.name), c.datatype)} AS ${quoteIdentifier(c.name)}`);
  return `SELECT ${list.join(', ')} FROM ${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
}

/**
 * One read-only transaction on a connection of its own, for every table of a
 * package:
 * - SNAPSHOT isolation when the database allows it: every table is read as of
 *   one point (SQL Server fixes it at the first read), and writers are never
 *   blocked;
 * - otherwise SERIALIZABLE: the tables read so far cannot change until the
 *   package ends, so what is read is one consistent state, but writers to
 *   those tables wait for the package (its {@link consistency} says so, and
 *   the publish service logs it).
 * Tables stream one after another on the connection: read each to its end.
 */
export class MssqlSnapshot implements SourceSnapshot {
  /** What consistency this snapshot gives, for the package log. */
  readonly consistency: string;
  /** Whether the consistency is weaker or costlier than one snapshot: the package log warns about it. */
  readonly caveat: boolean;
  private readonly connection: Connection;
  private readonly context: MssqlSnapshotContext;
  /** The request streaming now, if any (tedious runs one request at a time). */
  private active: Readable | undefined;
  /** Set once the connection cannot be trusted (a stream was abandoned or failed). */
  private broken: AppError | undefined;
  private closed = false;
  /** Rows of each table whose stream completed, by `schema\0table`. */
  private readonly rowCounts = new Map<string, number>();

  private constructor(connection: Connection, context: MssqlSnapshotContext, snapshot: boolean) {
    this.connection = connection;
    this.context = context;
    this.caveat = !snapshot;
    this.consistency = snapshot
      ? `SQL Server database '${context.database}': all tables read in one SNAPSHOT-isolation transaction (one point in time, fixed at the first read).`
      : `SQL Server database '${context.database}' does not allow SNAPSHOT isolation: all tables read in one SERIALIZABLE transaction, so they are mutually consistent but writers to them waited until the package ended. ALTER DATABASE … SET ALLOW_SNAPSHOT_ISOLATION ON avoids the blocking.`;
    connection.on('end', () => {
      if (this.closed) return;
      this.broken ??= new AppError('SOURCE_UNREACHABLE', `The connection to the ${context.where} was lost.`);
      this.active?.destroy(this.broken);
    });
  }

  /** Starts the transaction on a connected connection that the snapshot then owns. */
  static async begin(connection: Connection, context: MssqlSnapshotContext): Promise<MssqlSnapshot> {
    context.onQuery?.(SNAPSHOT_STATE);
    const [row] = await runQuery<{ state: number }>(connection, SNAPSHOT_STATE);
    const snapshot = Number(row?.state) === 1;
    const begin = snapshot ? BEGIN_SNAPSHOT : BEGIN_SERIALIZABLE;
    context.onQuery?.(begin);
    await runBatch(connection, begin);
    return new MssqlSnapshot(connection, context, snapshot);
  }

  /** The rows sys.partitions counts for each table (its heap or clustered index), in the snapshot's transaction. */
  async estimateRows(schema: string, tables: readonly string[]): Promise<Map<string, number>> {
    const estimates = new Map<string, number>();
    if (this.closed || this.broken) return estimates;
    if (this.active) throw new AppError('INTERNAL', `Row estimates were asked for while a table of the ${this.context.where} was streaming.`);
    for (const { count, params } of tableBatches(schema, tables)) {
      const sql = estimateStatement(count);
      this.context.onQuery?.(sql);
      let rows: Array<{ name: string; estimate: number | string | null }>;
      try {
        rows = await runQuery(this.connection, sql, params);
      } catch (error) {
        throw this.context.translate(error);
      }
      for (const row of rows) {
        const estimate = row.estimate == null ? NaN : Number(row.estimate);
        if (Number.isSafeInteger(estimate) && estimate >= 0) estimates.set(row.name, estimate);
      }
    }
    return estimates;
  }

  csv(schema: string, table: string, columns: readonly ColumnInfo[], progress?: CsvProgress): Readable {
    const fail = (reason: AppError): Readable => {
      const output = new Readable({ read() {} });
      process.nextTick(() => output.destroy(reason));
      return output;
    };
    if (this.closed || this.broken) return fail(this.broken ?? new AppError('INTERNAL', `The snapshot of the ${this.context.where} is closed.`));
    if (this.active) return fail(new AppError('INTERNAL', `Table '${schema}.${table}' was asked for while another table of the ${this.context.where} was still streaming.`));
    // Formatters are built before anything is sent, so a wrong column fails here.
    const formatters = columns.map((c) => mssqlFormatter(c.logical));
    const sql = selectStatement(schema, table, columns);
    const rows = this.rowStream(sql, formatters);
    let count = 0;
    rows.on('data', () => void count++);
    let settled = false;
    const output = canonicalCsvStream(
      columns.map((c) => c.name),
      rows,
      (error) => this.context.translate(error),
      (failure) => {
        settled = true;
        this.active = undefined;
        if (failure) this.broken ??= failure;
        else this.rowCounts.set(`${schema}\u0000${table}`, count);
      },
      progress,
    );
    this.active = output;
    output.on('close', () => {
      if (settled || output.readableEnded) return;
      // The reader gave up mid-table: the rest of the result would still arrive,
      // so the connection is dropped (ending the transaction with it).
      this.active = undefined;
      this.broken ??= new AppError('SOURCE_QUERY_FAILED', `Reading table '${schema}.${table}' from the ${this.context.where} was abandoned.`);
      this.connection.close();
    });
    return output;
  }

  rowsRead(schema: string, table: string): number | null {
    return this.rowCounts.get(`${schema}\u0000${table}`) ?? null;
  }

  /** The rows of one statement as canonical rows, the request paused while the reader is behind. */
  private rowStream(sql: string, formatters: readonly Formatter[]): Readable {
    let paused = false;
    const request = new Request(sql, (error) => {
      if (error) rows.destroy(error);
      else rows.push(null);
    });
    const rows = new Readable({
      objectMode: true,
      highWaterMark: ROW_BUFFER,
      read() {
        if (paused) {
          paused = false;
          request.resume();
        }
      },
    });
    request.on('row', (values: Array<{ value: unknown }>) => {
      if (rows.destroyed) return;
      let row: Array<string | null>;
      try {
        row = values.map((v, i) => formatters[i]!(v.value));
      } catch (error) {
        rows.destroy(new AppError('SOURCE_QUERY_FAILED', `A value read from the ${this.context.where} could not be converted: ${(error as Error).message}`));
        this.connection.close();
        return;
      }
      if (!rows.push(row) && !paused) {
        paused = true;
        request.pause();
      }
    });
    this.context.onQuery?.(sql);
    this.connection.execSql(request);
    return rows;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.broken && !this.active) {
      try {
        await runBatch(this.connection, 'ROLLBACK TRANSACTION');
      } catch {
        // The connection is going away anyway.
      }
    }
    this.active?.destroy();
    await closeConnection(this.connection);
  }
}
