import net from 'node:net';
import type { Readable } from 'node:stream';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { tableKey } from '../connector.js';
import { AppError } from '../../errors.js';
import type { ColumnInfo, SourceSnapshot } from '../connector.js';
import { CopyTextToCsv } from './copy-text.js';
import { pgCopyExpression, pgTextKind } from './types.js';

/**
 * Session settings under which PostgreSQL's output functions print the
 * canonical text forms (or, for the types copy-text.ts rewrites, the one
 * spelling it expects), then one read-only repeatable-read transaction whose
 * snapshot is taken at once (by the SELECT), not at the first table read.
 */
const BEGIN = [
  "SET TIME ZONE 'UTC'",
  "SET DateStyle = 'ISO, YMD'",
  "SET IntervalStyle = 'iso_8601'",
  // 1 (the default since PostgreSQL 12) prints the shortest exact form.
  'SET extra_float_digits = 1',
  "SET bytea_output = 'hex'",
  "SET lc_monetary = 'C'",
  'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
  'SELECT 1',
].join('; ');

export interface PgSnapshotContext {
  /** The source as named in messages. */
  where: string;
  /** The connector's error translation. */
  translate: (error: unknown) => AppError;
  onQuery?: ((sql: string) => void) | undefined;
}

/**
 * The COPY statement streaming the columns of a table in PostgreSQL's text
 * format, each in its plain output (arrays as JSON), for copy-text.ts to make
 * canonical.
 */
export function copyStatement(schema: string, table: string, columns: readonly ColumnInfo[]): string {
  const list = columns.map((c) => {
    const name = pg.escapeIdentifier(c.name);
    return `${pgCopyExpression(name, c.logical)} AS ${name}`;
  });
  const from = `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table)}`;
  return `COPY (SELECT ${list.join(', ')} FROM ${from}) TO STDOUT`;
}

/**
 * A repeatable-read, read-only transaction on a connection of its own. Tables
 * are read with COPY … TO STDOUT one after another on that connection (the
 * driver queues statements), so read each stream to its end before the next.
 */
export class PgSnapshot implements SourceSnapshot {
  private readonly rowCounts = new Map<string, number>();
  private readonly client: pg.Client;
  private readonly context: PgSnapshotContext;
  /** Streams started and not yet finished. */
  private readonly active = new Set<Readable>();
  /** Set once the connection cannot be trusted (a stream was abandoned or failed). */
  private broken: AppError | undefined;
  private closed = false;

  private constructor(client: pg.Client, context: PgSnapshotContext) {
    this.client = client;
    this.context = context;
  }

  /** Starts the transaction on a connected client that the snapshot then owns. */
  static async begin(client: pg.Client, context: PgSnapshotContext): Promise<PgSnapshot> {
    context.onQuery?.(BEGIN);
    await client.query(BEGIN);
    return new PgSnapshot(client, context);
  }

  csv(schema: string, table: string, columns: readonly ColumnInfo[]): Readable {
    const output = new CopyTextToCsv(
      columns.map((c) => c.name),
      columns.map((c) => pgTextKind(c.logical)),
      (message) => new AppError('SOURCE_QUERY_FAILED', `Reading table '${schema}.${table}' from the ${this.context.where} failed: ${message}`),
    );
    if (this.closed || this.broken) {
      const reason = this.broken ?? new AppError('INTERNAL', `The snapshot of the ${this.context.where} is closed.`);
      process.nextTick(() => output.destroy(reason));
      return output;
    }
    const sql = copyStatement(schema, table, columns);
    this.context.onQuery?.(sql);
    const copy = this.client.query(copyTo(sql));
    this.active.add(output);
    let finished = false;
    copy.on('error', (error: unknown) => {
      finished = true;
      this.active.delete(output);
      const failure = this.context.translate(error);
      this.broken ??= failure;
      output.destroy(failure);
    });
    copy.on('end', () => {
      finished = true;
      this.active.delete(output);
      this.rowCounts.set(tableKey(schema, table), copy.rowCount);
    });
    // A malformed COPY output (the transform's error) leaves the connection mid-COPY too.
    output.on('error', (error) => {
      if (error instanceof AppError) this.broken ??= error;
    });
    output.on('close', () => {
      if (finished || output.readableEnded) return;
      // The reader gave up mid-table: the connection is still in COPY mode and
      // cannot be reused, so it is dropped (ending the transaction with it).
      this.active.delete(output);
      this.broken ??= new AppError('SOURCE_QUERY_FAILED', `Reading table '${schema}.${table}' from the ${this.context.where} was abandoned.`);
      this.destroyConnection();
    });
    copy.pipe(output);
    return output;
  }

  rowsRead(schema: string, table: string): number | null {
    return this.rowCounts.get(tableKey(schema, table)) ?? null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.broken || this.active.size > 0) {
      for (const stream of this.active) stream.destroy();
      this.destroyConnection();
      return;
    }
    try {
      await this.client.query('ROLLBACK');
    } catch {
      // The connection is going away anyway.
    }
    await this.client.end().catch(() => undefined);
  }

  private destroyConnection(): void {
    // The server would go on running the statement until it next writes to the
    // closed connection (or its statement timeout): ask it to stop now.
    requestCancel(this.client);
    // pg has no public abort: end() would wait for the server to finish the COPY.
    const socket = (this.client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
    if (socket) socket.destroy();
    else void this.client.end().catch(() => undefined);
  }
}

/**
 * Sends the protocol's CancelRequest for what `client` is running, on a
 * connection of its own (no login needed: the backend's key is the proof).
 * Best effort: the connection is being dropped anyway.
 */
function requestCancel(client: pg.Client): void {
  const { processID, secretKey, host, port } = client as unknown as { processID?: number; secretKey?: number; host: string; port: number };
  if (processID == null || secretKey == null) return;
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(80877102, 4); // the CancelRequest code
  packet.writeInt32BE(processID, 8);
  packet.writeInt32BE(secretKey, 12);
  const socket = net.connect(port, host);
  socket.setTimeout(5000, () => socket.destroy());
  socket.on('error', () => undefined);
  socket.on('connect', () => socket.end(packet));
}
