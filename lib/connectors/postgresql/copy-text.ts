/**
 * PostgreSQL's plain `COPY … TO STDOUT` text output → the canonical CSV the
 * filestore receives, in the service, so the backend only runs its output
 * functions (what `psql \copy` costs it) and the formatting runs on another core.
 *
 * Input: COPY text format: one line per row, fields separated by a tab, NULL
 * as `\N`, and `\\` `\t` `\n` `\r` `\b` `\f` `\v` for the bytes they name
 * (PostgreSQL's CopyAttributeOutText; no other escape is produced, an unknown
 * one stands for the byte after the backslash, as COPY FROM reads it). The
 * session settings of snapshot.ts fix the spelling of every value.
 *
 * Output: what `COPY (SELECT <canonical expressions>) TO STDOUT (FORMAT csv,
 * HEADER)` wrote, byte for byte: a header of the column names, then one line
 * per row; NULL an empty unquoted field, the empty string `""`; a field holding
 * `,` `"` CR or LF quoted with `""` doubling; a lone `\.` in a one-column row
 * quoted (CopyAttributeOutCSV). Per column, the canonical form where it differs
 * from the plain output (types.ts, {@link PgTextKind}):
 * - boolean: `t` / `f` → `true` / `false`;
 * - timestamp: the first space becomes `T` (`2020-01-01T12:00:00.5`, and
 *   `0044-03-15T12:00:00 BC` as to_json spells a BC value; infinities as they are);
 * - timestamptz: the same, and the UTC session's `+00` widened to `+00:00`
 *   (before ` BC` when there is one);
 * - time with time zone: an offset of whole hours `±HH` widened to `±HH:00`.
 *
 * The converting loop is WebAssembly with SIMD (copy-text.wat, compiled into
 * copy-text-wasm.ts by `npm run build:wasm`): bytes that need no change are
 * found and copied sixteen at a time. Allocation-light: each chunk's complete
 * rows are copied into the module's memory, converted there, and the CSV
 * copied out once. Only a row split across chunks is joined (its two pieces),
 * so the memory held is one chunk plus the longest row, four times over.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { csvHeader } from '../csv-rows.js';
import { instantiate, reserve, type WasmMemory } from '../../wasm.js';
import { COPY_TEXT_WASM } from './copy-text-wasm.js';

/** How a column's plain text output becomes its canonical form. */
export type PgTextKind = 'plain' | 'boolean' | 'timestamp' | 'timestamptz' | 'timetz';

const LF = 10;

/** The kind codes copy-text.wat reads, one byte per column. */
const KIND_CODE: Record<PgTextKind, number> = { plain: 0, boolean: 1, timestamp: 2, timestamptz: 3, timetz: 4 };

/**
 * A Transform from COPY text rows (no header) to canonical CSV (with the
 * header unless `header` is false: a later range of a table read in ranges).
 * Counts the rows and bytes it wrote. `readAhead`: CSV bytes it may hold unread before
 * its input waits (the stream default otherwise); `onPush`: called after each
 * chunk it pushes (once per input chunk at most twice), with `rows` and `bytes` updated.
 */
export class CopyTextToCsv extends Transform {
  /** Rows written so far. */
  rows = 0;
  /** CSV bytes written so far (the header included). */
  bytes = 0;
  private readonly onPush: (() => void) | undefined;
  private readonly header: Buffer;
  private headerSent = false;
  /** The start of a row the previous chunks ended inside, in pieces. */
  private tail: Buffer[] = [];
  private readonly engine: CopyTextEngine;

  /** Makes the error a malformed input fails with (it never is, from PostgreSQL). */
  private readonly fail: (message: string) => Error;

  constructor(
    names: readonly string[],
    kinds: readonly PgTextKind[],
    fail: (message: string) => Error = (message) => new Error(message),
    options: { header?: boolean; readAhead?: number | undefined; onPush?: (() => void) | undefined } = {},
  ) {
    super(options.readAhead ? { readableHighWaterMark: options.readAhead } : {});
    this.fail = fail;
    this.onPush = options.onPush;
    this.headerSent = options.header === false;
    if (names.length !== kinds.length || names.length === 0) throw new Error('CopyTextToCsv needs one kind per column, and at least one column.');
    this.engine = new CopyTextEngine(Uint8Array.from(kinds, (k) => KIND_CODE[k]), fail);
    this.header = csvHeader(names);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      if (!this.headerSent) {
        this.headerSent = true;
        this.send(this.header);
      }
      let start = 0;
      const parts: Buffer[] = [];
      if (this.tail.length > 0) {
        const end = chunk.indexOf(LF);
        if (end < 0) {
          this.tail.push(Buffer.from(chunk));
          callback();
          return;
        }
        this.tail.push(chunk.subarray(0, end + 1));
        parts.push(this.convert(Buffer.concat(this.tail)));
        this.tail = [];
        start = end + 1;
      }
      const last = chunk.lastIndexOf(LF);
      if (last >= start) parts.push(this.convert(start === 0 && last === chunk.length - 1 ? chunk : chunk.subarray(start, last + 1)));
      // The row the chunk ends inside (a copy: the chunk is not ours to keep).
      if (last + 1 < chunk.length) this.tail.push(Buffer.from(chunk.subarray(Math.max(last + 1, start))));
      for (const part of parts) if (part.length > 0) this.send(part);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (!this.headerSent) {
      this.headerSent = true;
      this.send(this.header);
    }
    if (this.tail.length > 0) {
      callback(this.fail('the COPY output ended inside a row.'));
      return;
    }
    callback();
  }

  private send(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.push(chunk);
    this.onPush?.();
  }

  /** Converts complete rows (`input` ends with LF) into a new buffer of CSV. */
  private convert(input: Buffer): Buffer {
    const { csv, rows } = this.engine.convert(input);
    this.rows += rows;
    return csv;
  }
}

/** What copy-text.wat exports. */
interface CopyTextExports {
  memory: WasmMemory;
  convert(input: number, length: number, output: number, columns: number): number;
  rows: { readonly value: number };
}

/** One instance of copy-text.wat: its memory holds the kinds, the input and the output of one call. */
class CopyTextEngine {
  private readonly module: CopyTextExports;
  private bytes: Uint8Array;
  private readonly inputAt: number;

  constructor(
    private readonly kinds: Uint8Array,
    private readonly fail: (message: string) => Error,
  ) {
    this.module = instantiate<CopyTextExports>(COPY_TEXT_WASM);
    this.inputAt = align16(kinds.length);
    this.bytes = this.reserve(this.inputAt);
    this.bytes.set(kinds, 0);
  }

  convert(input: Buffer): { csv: Buffer; rows: number } {
    const n = input.length;
    // 16 readable bytes after the input; the output's bound, and 16 bytes for its last store.
    const outputAt = align16(this.inputAt + n + 16);
    this.bytes = this.reserve(outputAt + 3 * n + 32);
    this.bytes.set(input, this.inputAt);
    const result = this.module.convert(this.inputAt, n, outputAt, this.kinds.length);
    if (result >= -3 && result < 0) {
      if (result === -1) throw this.fail('unexpected bytes after \\N in the COPY output.');
      if (result === -2) throw this.fail('the COPY output ended inside a field.');
      throw this.fail(`a COPY output row does not have ${this.kinds.length} fields.`);
    }
    // An output over 2 GiB comes back as a negative i32.
    const length = result >>> 0;
    return { csv: Buffer.from(this.bytes.subarray(outputAt, outputAt + length)), rows: this.module.rows.value };
  }

  /** Grows the memory to at least `size` bytes; a view of it. */
  private reserve(size: number): Uint8Array {
    const bytes = reserve(this.module.memory, size);
    if (!bytes) throw this.fail(`COPY output rows of ${size} bytes with their CSV are more than the converter can hold (4 GiB).`);
    return bytes;
  }
}

function align16(n: number): number {
  return Math.ceil(n / 16) * 16;
}
