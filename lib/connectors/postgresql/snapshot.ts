import net from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import pg from 'pg';
import { copyOut } from './copy-out.js';
import { tableKey } from '../connector.js';
import { AppError } from '../../errors.js';
import type { ColumnInfo, CsvProgress, SourceSnapshot } from '../connector.js';
import { markRowAligned } from '../csv-rows.js';
import { CopyTextToCsv } from './copy-text.js';
import { pgCopyExpression, pgTextKind } from './types.js';

/**
 * Session settings under which PostgreSQL's output functions print the
 * canonical text forms (or, for the types copy-text.ts rewrites, the one
 * spelling it expects), then one read-only repeatable-read transaction whose
 * snapshot is taken at once (by the SELECT), not at the first table read.
 */
const SESSION = [
  "SET TIME ZONE 'UTC'",
  "SET DateStyle = 'ISO, YMD'",
  "SET IntervalStyle = 'iso_8601'",
  // 1 (the default since PostgreSQL 12) prints the shortest exact form.
  'SET extra_float_digits = 1',
  "SET bytea_output = 'hex'",
  "SET lc_monetary = 'C'",
  // A scan starts at the table's first block, not where another scan is, so a
  // table reads in the same row order on one connection as over block ranges.
  'SET synchronize_seqscans = off',
];
const BEGIN = [...SESSION, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', 'SELECT 1'].join('; ');

/** Heap blocks per range of a parallel read (4 MiB of table). */
export const RANGE_BLOCKS = 512;
/** CSV bytes a range read ahead of its turn may hold before its connection waits. */
const READ_AHEAD = 8 * 2 ** 20;

/** Whether the server can scan block ranges (TID range scans, PostgreSQL 14) and export the snapshot. */
const PARALLEL_PROBE = `SELECT current_setting('server_version_num')::int >= 140000 AS ranges`;
/** The table's kind and its size in blocks now (rows the snapshot sees are all within). */
const TABLE_BLOCKS = `
  SELECT c.relkind AS kind, (pg_catalog.pg_relation_size(c.oid) / current_setting('block_size')::int)::int AS blocks
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relname = $2`;

/**
 * The planner's estimate of each table's rows, as it makes it (estimate_rel_size):
 * the density the last ANALYZE or VACUUM saw (reltuples / relpages) times the
 * blocks the table has now. Never analysed (reltuples -1, PostgreSQL 14 on)
 * gives no estimate, unless the table is empty now; a partitioned table gives
 * the figure ANALYZE recorded for it. Views have no statistics.
 */
const ESTIMATE_ROWS = `
  SELECT c.relname AS name, c.relkind AS kind, c.reltuples::float8 AS tuples, c.relpages::float8 AS pages,
         (pg_catalog.pg_relation_size(c.oid) / current_setting('block_size')::int)::float8 AS blocks
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND c.relkind IN ('r', 'm', 'p')`;

/** One table's estimate from its pg_class figures, or null when the statistics cannot tell. */
export function plannerEstimate(kind: string, tuples: number, pages: number, blocks: number): number | null {
  if (kind === 'p') return tuples >= 0 ? Math.round(tuples) : null;
  if (blocks === 0) return 0;
  if (tuples < 0 || pages <= 0) return null;
  return Math.round((tuples / pages) * blocks);
}

/** A range of heap blocks: from `from`, up to `to` (excluded), or to the end when `to` is absent. */
export interface BlockRange {
  from: number;
  to?: number;
}

/** The ranges a table of `blocks` blocks is read in, for `connections` connections: one whole range when it is small. */
export function blockRanges(blocks: number, connections: number, rangeBlocks = RANGE_BLOCKS): BlockRange[] {
  if (connections <= 1 || blocks < 2 * rangeBlocks) return [{ from: 0 }];
  const ranges: BlockRange[] = [];
  for (let from = 0; from + rangeBlocks < blocks; from += rangeBlocks) ranges.push({ from, to: from + rangeBlocks });
  // The last range is open: the table may have grown since it was measured.
  ranges.push({ from: ranges.length * rangeBlocks });
  return ranges;
}

export interface PgSnapshotContext {
  /** The source as named in messages. */
  where: string;
  /** The connector's error translation. */
  translate: (error: unknown) => AppError;
  onQuery?: ((sql: string) => void) | undefined;
  /** Connections reading one table at once over block ranges (SOURCE_POSTGRESQL_PARALLEL_CONNECTIONS); 1 reads on the snapshot's own alone. */
  parallel?: number | undefined;
  /** Opens another connection to the source, for the parallel reads. */
  open?: (() => Promise<pg.Client>) | undefined;
}

/**
 * The COPY statement streaming the columns of a table in PostgreSQL's text
 * format, each in its plain output (arrays as JSON), for copy-text.ts to make
 * canonical; with `range`, only the rows in those heap blocks.
 */
export function copyStatement(schema: string, table: string, columns: readonly ColumnInfo[], range?: BlockRange): string {
  const list = columns.map((c) => {
    const name = pg.escapeIdentifier(c.name);
    return `${pgCopyExpression(name, c.logical)} AS ${name}`;
  });
  const from = `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table)}`;
  let where = '';
  if (range && (range.from > 0 || range.to !== undefined)) {
    where = ` WHERE ctid >= '(${range.from},0)'::tid${range.to === undefined ? '' : ` AND ctid < '(${range.to},0)'::tid`}`;
  }
  return `COPY (SELECT ${list.join(', ')} FROM ${from}${where}) TO STDOUT`;
}

/**
 * A repeatable-read, read-only transaction on a connection of its own. Tables
 * are read with COPY … TO STDOUT one after another (the driver queues
 * statements), so read each stream to its end before the next.
 *
 * With `parallel` above 1, a table of at least two ranges is read over that
 * many connections at once: the snapshot is exported (pg_export_snapshot) and
 * every further connection imports it (SET TRANSACTION SNAPSHOT), so all see
 * the same rows; ranges of RANGE_BLOCKS blocks go round the connections, each
 * read ahead of its turn into at most READ_AHEAD bytes, and are written in
 * block order, which is the order one connection reads the table in
 * (synchronize_seqscans off): the bytes are the same either way.
 */
export class PgSnapshot implements SourceSnapshot {
  private readonly rowCounts = new Map<string, number>();
  private readonly client: pg.Client;
  private readonly context: PgSnapshotContext;
  /** The exported snapshot the other connections import, when reads may go parallel. */
  private readonly exported: string | undefined;
  /** The other connections, opened on the first table read in ranges. */
  private helpers: Promise<pg.Client[]> | undefined;
  /** Every connection opened so far: the snapshot's own first. */
  private readonly clients: pg.Client[];
  /** Streams started and not yet finished. */
  private readonly active = new Set<Readable>();
  /** Set once the connection cannot be trusted (a stream was abandoned or failed). */
  private broken: AppError | undefined;
  private closed = false;

  private constructor(client: pg.Client, context: PgSnapshotContext, exported: string | undefined) {
    this.client = client;
    this.context = context;
    this.exported = exported;
    this.clients = [client];
  }

  /** Starts the transaction on a connected client that the snapshot then owns. */
  static async begin(client: pg.Client, context: PgSnapshotContext): Promise<PgSnapshot> {
    context.onQuery?.(BEGIN);
    await client.query(BEGIN);
    let exported: string | undefined;
    if ((context.parallel ?? 1) > 1 && context.open) {
      const [probe] = (await client.query<{ ranges: boolean }>(PARALLEL_PROBE)).rows;
      if (probe?.ranges) {
        // A server that cannot export (a standby of some versions) reads on one
        // connection, in a transaction begun again (nothing was read in the first).
        try {
          exported = (await client.query<{ id: string }>('SELECT pg_catalog.pg_export_snapshot() AS id')).rows[0]?.id;
        } catch {
          await client.query('ROLLBACK');
          context.onQuery?.(BEGIN);
          await client.query(BEGIN);
        }
      }
    }
    return new PgSnapshot(client, context, exported);
  }

  async estimateRows(schema: string, tables: readonly string[]): Promise<Map<string, number>> {
    const estimates = new Map<string, number>();
    if (this.closed || this.broken || tables.length === 0) return estimates;
    this.context.onQuery?.(ESTIMATE_ROWS);
    try {
      const { rows } = await this.client.query<{ name: string; kind: string; tuples: number; pages: number; blocks: number }>(ESTIMATE_ROWS, [schema, tables]);
      for (const row of rows) {
        const estimate = plannerEstimate(row.kind, row.tuples, row.pages, row.blocks);
        if (estimate !== null) estimates.set(row.name, estimate);
      }
    } catch (error) {
      throw this.context.translate(error);
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
    this.active.add(output);
    let finished = false;
    const fail = (error: AppError) => {
      if (finished) return;
      finished = true;
      this.active.delete(output);
      this.broken ??= error;
      output.destroy(error);
    };
    output.on('close', () => {
      if (finished || output.readableEnded) return;
      // The reader gave up mid-table: the connections are still in COPY mode and
      // cannot be reused, so they are dropped (ending the transaction with them).
      finished = true;
      this.active.delete(output);
      this.broken ??= new AppError('SOURCE_QUERY_FAILED', `Reading table '${schema}.${table}' from the ${this.context.where} was abandoned.`);
      this.destroyConnections();
    });
    const names = columns.map((c) => c.name);
    const kinds = columns.map((c) => pgTextKind(c.logical));
    const malformed = (message: string) => new AppError('SOURCE_QUERY_FAILED', `Reading table '${schema}.${table}' from the ${this.context.where} failed: ${message}`);

    const read = async (): Promise<void> => {
      let ranges = await this.ranges(schema, table);
      const clients = [this.client];
      if (ranges.length > 1) {
        clients.push(...(await this.openHelpers()));
        // No other connection could be opened: the snapshot's own reads the table whole.
        if (clients.length === 1) ranges = [{ from: 0 }];
      }
      if (finished) return;
      const counts: number[] = [];
      const transforms: CopyTextToCsv[] = [];
      // Progress follows the range being written out: the ranges before it whole, plus its own figures so far.
      let emitting = 0;
      const before = { rows: 0, bytes: 0 };
      const report = progress && ((i: number) => {
        if (i !== emitting) return;
        const t = transforms[i]!;
        progress(before.rows + t.rows, before.bytes + t.bytes);
      });
      const start = (i: number): void => {
        const sql = copyStatement(schema, table, columns, ranges[i]);
        this.context.onQuery?.(sql);
        const copy = clients[i % clients.length]!.query(copyOut(sql));
        const transform = new CopyTextToCsv(names, kinds, malformed, {
          header: i === 0,
          readAhead: ranges.length > 1 ? READ_AHEAD : undefined,
          onPush: report && (() => report(i)),
        });
        transforms[i] = transform;
        copy.on('error', (error: unknown) => fail(this.context.translate(error)));
        transform.on('error', (error) => fail(error instanceof AppError ? error : malformed(error.message)));
        copy.on('end', () => {
          counts[i] = copy.rowCount;
          // The connection is free: it reads its next range ahead.
          if (i + clients.length < ranges.length && !finished) start(i + clients.length);
        });
        copy.pipe(transform);
      };
      const emit = (i: number): void => {
        const transform = transforms[i]!;
        emitting = i;
        // What a range read ahead of its turn has pushed so far.
        if (i > 0 && (transform.rows > 0 || transform.bytes > 0)) report?.(i);
        transform.pipe(output, { end: false });
        transform.on('end', () => {
          if (finished) return;
          before.rows += transform.rows;
          before.bytes += transform.bytes;
          if (i + 1 < ranges.length) {
            emit(i + 1);
            return;
          }
          finished = true;
          this.active.delete(output);
          this.rowCounts.set(tableKey(schema, table), counts.reduce((a, b) => a + b, 0));
          output.end();
        });
      };
      for (let i = 0; i < Math.min(clients.length, ranges.length); i++) start(i);
      emit(0);
    };
    read().catch((error: unknown) => fail(this.context.translate(error)));
    // CopyTextToCsv pushes whole rows only (the header alone), each range's after the last.
    return markRowAligned(output);
  }

  /** The block ranges the table is read in: one whole range unless reads go parallel and the table is large. */
  private async ranges(schema: string, table: string): Promise<BlockRange[]> {
    const parallel = this.context.parallel ?? 1;
    if (parallel <= 1 || !this.exported) return [{ from: 0 }];
    this.context.onQuery?.(TABLE_BLOCKS);
    const [row] = (await this.client.query<{ kind: string; blocks: number }>(TABLE_BLOCKS, [schema, table])).rows;
    // Only tables and materialised views have their rows in blocks of their own.
    if (!row || (row.kind !== 'r' && row.kind !== 'm')) return [{ from: 0 }];
    return blockRanges(row.blocks, parallel);
  }

  /**
   * The other connections, each in a transaction importing the exported
   * snapshot: as many as could be opened (a server at its connection limit
   * may give fewer, or none; the read then uses what it has).
   */
  private openHelpers(): Promise<pg.Client[]> {
    this.helpers ??= (async () => {
      const open = this.context.open!;
      const begin = [...SESSION, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', `SET TRANSACTION SNAPSHOT ${pg.escapeLiteral(this.exported!)}`].join('; ');
      const count = (this.context.parallel ?? 1) - 1;
      const opened = await Promise.allSettled(Array.from({ length: count }, async () => {
        const client = await open();
        // Opened after the snapshot was closed or broken: not kept.
        if (this.closed || this.broken) {
          await client.end().catch(() => undefined);
          throw this.broken ?? new AppError('INTERNAL', `The snapshot of the ${this.context.where} is closed.`);
        }
        // Kept for close() from here on, whether or not it can be used.
        this.clients.push(client);
        this.context.onQuery?.(begin);
        await client.query(begin);
        return client;
      }));
      return opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    })();
    return this.helpers;
  }

  rowsRead(schema: string, table: string): number | null {
    return this.rowCounts.get(tableKey(schema, table)) ?? null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.broken || this.active.size > 0) {
      for (const stream of this.active) stream.destroy();
      this.destroyConnections();
      return;
    }
    // Helpers still opening are waited for, so none is left behind.
    await this.helpers?.catch(() => undefined);
    await Promise.all(this.clients.map(async (client) => {
      try {
        await client.query('ROLLBACK');
      } catch {
        // The connection is going away anyway.
      }
      await client.end().catch(() => undefined);
    }));
  }

  private destroyConnections(): void {
    for (const client of this.clients) {
      // The server would go on running the statement until it next writes to the
      // closed connection (or its statement timeout): ask it to stop now.
      requestCancel(client);
      // pg has no public abort: end() would wait for the server to finish the COPY.
      const socket = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
      if (socket) socket.destroy();
      else void client.end().catch(() => undefined);
    }
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
