import type { Readable } from 'node:stream';
import { AppError } from '../../../../../../../lib/errors.js';
import { instantiate, reserve, type WasmMemory } from '../../../../../../../lib/wasm.js';
import { ROW_ENDS_WASM } from './row-ends-wasm.js';

const MAX_HEADER_BYTES = 16 * 1024 * 1024;

/** What row-ends.wat exports. */
interface RowEndsExports {
  memory: WasmMemory;
  find(n: number, from: number, rowStart: number, rowsLeft: number, cutAt: number, inQuotes: number): number;
  found: { readonly value: number };
  longest: { readonly value: number };
  quoted: { readonly value: number };
  lastEnd: { readonly value: number };
}

const I32_MAX = 2 ** 31 - 1;
/** A row carried from earlier chunks is counted at most this long: over 1 GiB, longer than any reader takes. */
const LONG_ROW = 2 ** 30 + 1;

/**
 * Finds row ends in one chunk at a time (row-ends.wat: sixteen bytes a step,
 * quote parity by bit masks). {@link load} a chunk, then {@link find} from a
 * position; the figures of the last call are its fields.
 */
class RowEndFinder {
  private readonly module = instantiate<RowEndsExports>(ROW_ENDS_WASM);
  private length = 0;
  /** Row ends seen by the last {@link find}, the one it stopped at included. */
  found = 0;
  /** The longest row they end, its line end included. */
  longest = 0;
  /** Whether the last {@link find} ended inside quotes. */
  quoted = false;
  /** The position after the last row end seen (the row start given, when none). */
  lastEnd = 0;

  load(chunk: Buffer): void {
    const bytes = chunk.length > I32_MAX - 16 ? null : reserve(this.module.memory, chunk.length + 16);
    if (!bytes) throw new AppError('INTERNAL', `A CSV chunk of ${chunk.length} bytes is more than the row finder holds (4 GiB).`);
    bytes.set(chunk, 0);
    this.length = chunk.length;
  }

  /**
   * Scans the loaded chunk from `from` (inside quotes or not) up to the first
   * row end that is the `rowsLeft`th seen or lies at or after `cutAt` (the
   * position after its LF); answers that position, or -1 when the chunk ends
   * first. `rowStart`: where the current row started (negative: in earlier chunks).
   */
  find(from: number, rowStart: number, rowsLeft: number, cutAt: number, inQuotes: boolean): number {
    const m = this.module;
    const stop = m.find(this.length, from, Math.max(rowStart, -LONG_ROW), Math.min(rowsLeft, I32_MAX), Math.min(cutAt, I32_MAX), inQuotes ? 1 : 0);
    this.found = m.found.value;
    this.longest = m.longest.value;
    this.quoted = m.quoted.value === 1;
    this.lastEnd = m.lastEnd.value;
    return stop;
  }
}

/**
 * Finds row ends in a CSV byte stream without parsing fields: a row ends at a
 * `\n` outside quotes ({@link RowEndFinder}). The state carries across chunks.
 */
export class RowScanner {
  /** Whether the last byte scanned left us inside a quoted field. */
  inQuotes = false;
  private readonly finder = new RowEndFinder();

  /** Advances the quote state over `buf`. */
  skip(buf: Buffer): void {
    this.finder.load(buf);
    this.finder.find(0, 0, Infinity, Infinity, this.inQuotes);
    this.inQuotes = this.finder.quoted;
  }

  /**
   * Scans `buf` to its first row end; answers the index just after its `\n`,
   * or -1 when `buf` ends first (the state then covers all of `buf`).
   */
  findRowEnd(buf: Buffer): number {
    this.finder.load(buf);
    const end = this.finder.find(0, 0, 1, Infinity, this.inQuotes);
    this.inQuotes = this.finder.quoted;
    return end;
  }
}

/** A run of CSV bytes from {@link rowParts}; `part` is set on the last run of a part. */
export interface RowPiece {
  bytes: Buffer;
  /** The part is complete after these bytes: how many rows it holds and the longest row's bytes (its line end included). */
  part?: { rows: number; longestRow: number };
}

/**
 * Cuts a CSV body (rows only) into parts, only at row ends: a part ends at the
 * first row end at or after `partBytes` bytes, or at its `partRows`th row
 * (`firstPartRows`th for the first part), whichever comes first, so it holds at
 * least one row, at most that many rows and at most `partBytes` plus one row.
 * Yields the body's bytes in order, without copying; the last piece of each
 * part tells the part's row count and longest row, which a reader of the part
 * can be checked against. Every row end is found ({@link RowEndFinder}).
 * Throws when the body ends inside a quoted field.
 */
export async function* rowParts(body: AsyncIterable<Buffer>, partBytes: number, table: string, partRows = Infinity, firstPartRows = partRows): AsyncGenerator<RowPiece> {
  const finder = new RowEndFinder();
  let rowLimit = firstPartRows;
  let inQuotes = false;
  let partLength = 0; // bytes of the current part before the current chunk's unyielded bytes
  let rowStart = 0; // offset of the current row from the part's start
  let rows = 0;
  let longestRow = 0;
  for await (const chunk of body) {
    finder.load(chunk);
    let from = 0; // start of the chunk's bytes not yielded yet
    for (;;) {
      // In the chunk's positions, the part starts at from - partLength.
      const partAt = from - partLength;
      const stop = finder.find(from, partAt + rowStart, rowLimit - rows, partAt + partBytes, inQuotes);
      rows += finder.found;
      longestRow = Math.max(longestRow, finder.longest);
      inQuotes = finder.quoted;
      if (stop < 0) {
        if (finder.found > 0) rowStart = finder.lastEnd - partAt;
        break;
      }
      yield { bytes: chunk.subarray(from, stop), part: { rows, longestRow } };
      from = stop;
      partLength = rowStart = rows = longestRow = 0;
      rowLimit = partRows;
    }
    if (from < chunk.length) {
      yield { bytes: from === 0 ? chunk : chunk.subarray(from) };
      partLength += chunk.length - from;
    }
  }
  if (inQuotes) throw new AppError('INTERNAL', `The CSV stream of table '${table}' ended inside a quoted field.`);
  if (rowStart !== partLength) {
    // A last row without a line end is still a row.
    rows++;
    longestRow = Math.max(longestRow, partLength - rowStart);
  }
  if (rows > 0) yield { bytes: Buffer.alloc(0), part: { rows, longestRow } };
}

/** Splits one CSV row (without or with its line end) into its fields. */
export function parseCsvRow(row: string): string[] {
  const text = row.replace(/\r?\n$/, '');
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  fields.push(field);
  return fields;
}

/** A table's CSV stream split into its header row and the rest. */
export interface CsvStream {
  /** The header row's bytes, with its line end when it had one. */
  header: Buffer;
  /** The bytes after the header, in the source's chunks. */
  body: AsyncIterable<Buffer>;
}

function asBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new AppError('INTERNAL', 'A CSV stream produced a chunk that is not bytes or text.');
}

/**
 * Reads a table's CSV stream up to the end of its header row and checks that
 * the header names exactly `columns`, in order: a mismatch means extraction and
 * packaging disagree on the columns, and nothing is written. The caller destroys
 * `source` when it stops early.
 */
export async function openCsvStream(source: Readable, table: string, columns: readonly string[]): Promise<CsvStream> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<unknown>;
  const scanner = new RowScanner();
  const parts: Buffer[] = [];
  let size = 0;
  let header: Buffer | undefined;
  let rest: Buffer | undefined;
  while (!header) {
    const next = await iterator.next();
    if (next.done) {
      if (size === 0) throw new AppError('INTERNAL', `The CSV stream of table '${table}' was empty: it had no header row.`);
      header = Buffer.concat(parts, size);
      break;
    }
    const chunk = asBuffer(next.value);
    const end = scanner.findRowEnd(chunk);
    if (end < 0) {
      parts.push(chunk);
      size += chunk.length;
      if (size > MAX_HEADER_BYTES) throw new AppError('INTERNAL', `The CSV stream of table '${table}' has a header row over ${MAX_HEADER_BYTES} bytes.`);
      continue;
    }
    parts.push(chunk.subarray(0, end));
    header = Buffer.concat(parts, size + end);
    rest = chunk.subarray(end);
  }
  checkHeader(header, table, columns);
  const leftover = rest;
  const body = (async function* (): AsyncGenerator<Buffer> {
    if (leftover && leftover.length > 0) yield leftover;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      const chunk = asBuffer(next.value);
      if (chunk.length > 0) yield chunk;
    }
  })();
  return { header, body };
}

function checkHeader(header: Buffer, table: string, columns: readonly string[]): void {
  const names = parseCsvRow(header.toString('utf8'));
  const same = names.length === columns.length && names.every((n, i) => n === columns[i]);
  if (!same) {
    const shown = (list: readonly string[]) => list.slice(0, 20).map((n) => JSON.stringify(n)).join(', ') + (list.length > 20 ? `, … (${list.length})` : '');
    throw new AppError('INTERNAL', `The CSV stream of table '${table}' has the columns [${shown(names)}] where [${shown(columns)}] were expected.`);
  }
}
