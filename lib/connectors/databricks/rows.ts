/**
 * Result rows out of what a warehouse sends: column-based Thrift pages, Arrow
 * IPC (inline batches or CloudFetch files, LZ4-frame compressed or not).
 * Arrow record batches are cut into slices of at most `maxRows` rows and only
 * a slice at a time becomes JavaScript values, however large the server made
 * the batch or file.
 */
import { createRequire } from 'node:module';
import { decompressFrameSync } from 'lz4-napi';
import { AppError } from '../../errors.js';
import type { TColumn, TColumnValues } from './thrift.js';

/** The part of apache-arrow used here (its typings do not resolve under NodeNext, so it is loaded as @databricks/sql loads it). */
interface ArrowBatch {
  numRows: number;
  schema: { fields: Array<{ name: string }> };
  getChildAt(index: number): { get(row: number): unknown } | null;
}
const { RecordBatchReader } = createRequire(import.meta.url)('apache-arrow') as {
  RecordBatchReader: { from(source: Uint8Array | Uint8Array[]): Iterable<ArrowBatch> & { open(): unknown } };
};

/** One result row: column name → value. */
export type ResultRow = Record<string, unknown>;

/** The bytes of an LZ4 frame, decompressed; a failure names what was being read. */
export function lz4Decompress(bytes: Buffer, what: string): Buffer {
  try {
    return decompressFrameSync(bytes);
  } catch (error) {
    throw new ResultFormatError(`${what} is not a valid LZ4 frame (${(error as Error).message})`);
  }
}

/** A result the connector cannot read (a broken file, frame or stream). */
export class ResultFormatError extends Error {}

/** SOURCE_QUERY_FAILED for a result that could not be read, naming the source and the part. */
export function unreadable(where: string, error: ResultFormatError): AppError {
  return new AppError('SOURCE_QUERY_FAILED', `The ${where} sent a result that cannot be read: ${error.message}.`, { cause: error });
}

/**
 * The rows of an Arrow IPC stream (one buffer, or the schema message and
 * record-batch messages as separate buffers), at most `maxRows` at a time.
 */
export function* arrowRows(ipc: Uint8Array | Uint8Array[], maxRows: number, what: string): Generator<ResultRow[]> {
  let reader;
  try {
    reader = RecordBatchReader.from(ipc);
    reader.open();
  } catch (error) {
    throw new ResultFormatError(`${what} is not an Arrow IPC stream (${(error as Error).message})`);
  }
  const batches = reader[Symbol.iterator]();
  for (;;) {
    let next;
    try {
      next = batches.next();
    } catch (error) {
      throw new ResultFormatError(`${what} holds a broken Arrow record batch (${(error as Error).message})`);
    }
    if (next.done) return;
    const batch = next.value;
    const names = batch.schema.fields.map((f) => f.name);
    const vectors = names.map((_, i) => batch.getChildAt(i)!);
    for (let start = 0; start < batch.numRows; start += maxRows) {
      const end = Math.min(batch.numRows, start + maxRows);
      const rows: ResultRow[] = [];
      for (let r = start; r < end; r++) {
        const row: ResultRow = {};
        for (let c = 0; c < names.length; c++) row[names[c]!] = vectors[c]!.get(r) ?? null;
        rows.push(row);
      }
      yield rows;
    }
  }
}

function memberOf(column: TColumn): TColumnValues {
  const member = column.boolVal ?? column.byteVal ?? column.i16Val ?? column.i32Val ?? column.i64Val ?? column.doubleVal ?? column.stringVal ?? column.binaryVal;
  if (!member) throw new ResultFormatError('a column-based result column has no values');
  return member;
}

/** A Thrift i64 (a node-int64 object: 8 big-endian bytes at an offset) as a bigint, exactly. */
function bigintOf(value: unknown): bigint {
  const v = value as { buffer?: Buffer; offset?: number };
  return Buffer.isBuffer(v?.buffer) ? v.buffer.readBigInt64BE(v.offset ?? 0) : BigInt(value as number);
}

/** Rows of a column-based Thrift page (NULLs from the bitmap, bit i%8 of byte i>>3); i64 values as bigint. */
export function columnRows(columns: TColumn[], names: string[]): ResultRow[] {
  const members = columns.map(memberOf);
  const count = members[0]?.values.length ?? 0;
  const rows: ResultRow[] = [];
  for (let r = 0; r < count; r++) {
    const row: ResultRow = {};
    members.forEach((m, c) => {
      const isNull = ((m.nulls[r >> 3] ?? 0) & (1 << (r % 8))) !== 0;
      const raw = m.values[r];
      row[names[c]!] = isNull ? null : columns[c]!.i64Val ? bigintOf(raw) : raw;
    });
    rows.push(row);
  }
  return rows;
}
