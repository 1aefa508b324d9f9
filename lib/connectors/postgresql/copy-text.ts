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
 * Byte-level and allocation-light: one pass over each chunk's complete rows
 * into a reused scratch buffer, one copy out per chunk. Only a row split
 * across chunks is joined (its two pieces), so the memory held is one chunk
 * plus the longest row.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { csvHeader } from '../csv-rows.js';

/** How a column's plain text output becomes its canonical form. */
export type PgTextKind = 'plain' | 'boolean' | 'timestamp' | 'timestamptz' | 'timetz';

const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const PLUS = 43;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const BACKSLASH = 92;
const LETTER_N = 78;
const LETTER_T = 116;

/** Input byte classes: 1 ends a field, 2 a backslash escape, 3 forces CSV quoting. */
const CLASS = new Uint8Array(256);
CLASS[TAB] = 1;
CLASS[LF] = 1;
CLASS[BACKSLASH] = 2;
CLASS[COMMA] = 3;
CLASS[QUOTE] = 3;

/** The byte a `\x` escape of COPY text format stands for. */
const UNESCAPE = new Uint8Array(256);
for (let i = 0; i < 256; i++) UNESCAPE[i] = i;
UNESCAPE['b'.charCodeAt(0)] = 8;
UNESCAPE['f'.charCodeAt(0)] = 12;
UNESCAPE['n'.charCodeAt(0)] = LF;
UNESCAPE['r'.charCodeAt(0)] = CR;
UNESCAPE['t'.charCodeAt(0)] = TAB;
UNESCAPE['v'.charCodeAt(0)] = 11;

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');

const KIND_CODE: Record<PgTextKind, number> = { plain: 0, boolean: 1, timestamp: 2, timestamptz: 3, timetz: 4 };

function isDigit(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 48 && byte <= 57;
}

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
  private readonly kinds: Uint8Array;
  private readonly header: Buffer;
  private headerSent = false;
  /** The start of a row the previous chunks ended inside, in pieces. */
  private tail: Buffer[] = [];
  private scratch = Buffer.allocUnsafe(0);

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
    this.kinds = Uint8Array.from(kinds, (k) => KIND_CODE[k]);
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
    const bound = 3 * input.length + 16;
    if (this.scratch.length < bound) this.scratch = Buffer.allocUnsafe(Math.max(bound, 2 * this.scratch.length));
    const o = this.scratch;
    const kinds = this.kinds;
    const columns = kinds.length;
    const single = columns === 1;
    const n = input.length;
    let p = 0;
    let i = 0;
    let rows = 0;
    while (i < n) {
      // One row.
      for (let col = 0; col < columns; col++) {
        if (col > 0) o[p++] = COMMA;
        const kind = kinds[col]!;
        // NULL: `\N` and nothing else.
        if (input[i] === BACKSLASH && input[i + 1] === LETTER_N) {
          i += 2;
          const end = input[i];
          if (end !== TAB && end !== LF) throw this.fail('unexpected bytes after \\N in the COPY output.');
          i++;
          continue;
        }
        const fieldStart = p;
        let quoted = false;
        let escaped = false;
        let byte = input[i]!;
        for (;;) {
          // Most bytes are copied as they are: a tight loop up to the next byte of a class.
          // (It cannot run past the input, which ends with LF; a malformed row ends at it.)
          let cls = CLASS[byte]!;
          while (cls === 0) {
            o[p++] = byte;
            byte = input[++i]!;
            cls = CLASS[byte]!;
          }
          if (cls === 1) break;
          if (i >= n) throw this.fail('the COPY output ended inside a field.');
          if (cls === 2) {
            escaped = true;
            i++;
            if (i >= n - 1) throw this.fail('the COPY output ended inside a field.');
            byte = UNESCAPE[input[i]!]!;
            if ((byte === LF || byte === CR) && !quoted) {
              o.copyWithin(fieldStart + 1, fieldStart, p);
              o[fieldStart] = QUOTE;
              p++;
              quoted = true;
            }
            o[p++] = byte;
          } else {
            if (!quoted) {
              o.copyWithin(fieldStart + 1, fieldStart, p);
              o[fieldStart] = QUOTE;
              p++;
              quoted = true;
            }
            o[p++] = byte;
            if (byte === QUOTE) o[p++] = QUOTE;
          }
          byte = input[++i]!;
        }
        const ending = byte;
        i++;
        if ((ending === LF) !== (col === columns - 1)) throw this.fail(`a COPY output row does not have ${columns} fields.`);
        if (quoted) {
          o[p++] = QUOTE;
          continue;
        }
        const length = p - fieldStart;
        if (length === 0) {
          o[p++] = QUOTE;
          o[p++] = QUOTE;
          continue;
        }
        if (escaped) {
          // A lone `\.` in a one-column row would end COPY input: COPY quotes it.
          if (single && length === 2 && o[fieldStart] === BACKSLASH && o[fieldStart + 1] === DOT) {
            o.copyWithin(fieldStart + 1, fieldStart, p);
            o[fieldStart] = QUOTE;
            o[fieldStart + 3] = QUOTE;
            p += 2;
          }
          continue;
        }
        if (kind === 0) continue;
        p = canonical(o, fieldStart, p, kind);
      }
      o[p++] = LF;
      rows++;
    }
    this.rows += rows;
    return Buffer.from(o.subarray(0, p));
  }
}

/** Rewrites a plain value at o[start, end) into its canonical form in place; answers the new end. */
function canonical(o: Buffer, start: number, end: number, kind: number): number {
  switch (kind) {
    case 1: {
      // boolean
      const word = o[start] === LETTER_T ? TRUE : FALSE;
      for (let k = 0; k < word.length; k++) o[start + k] = word[k]!;
      return start + word.length;
    }
    case 2:
    case 3: {
      // timestamp, timestamptz: the first space becomes T
      let s = start + 10;
      if (o[s] !== SPACE) for (s = start; s < end && o[s] !== SPACE; s++);
      if (s < end) o[s] = 0x54;
      if (kind === 3) {
        // `…+00` or `…+00 BC` → `…+00:00` / `…+00:00 BC`
        const bc = end - start > 3 && o[end - 3] === SPACE && o[end - 2] === 0x42 && o[end - 1] === 0x43;
        const at = bc ? end - 3 : end;
        if (o[at - 3] === PLUS && isDigit(o[at - 2]) && isDigit(o[at - 1])) {
          if (bc) o.copyWithin(at + 3, at, end);
          o[at] = 0x3a;
          o[at + 1] = 0x30;
          o[at + 2] = 0x30;
          return end + 3;
        }
      }
      return end;
    }
    case 4: {
      // time with time zone: `±HH` at the end → `±HH:00`
      const sign = o[end - 3];
      if (end - start >= 3 && (sign === PLUS || sign === MINUS) && isDigit(o[end - 2]) && isDigit(o[end - 1])) {
        o[end] = 0x3a;
        o[end + 1] = 0x30;
        o[end + 2] = 0x30;
        return end + 3;
      }
      return end;
    }
    default:
      return end;
  }
}
