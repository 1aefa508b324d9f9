import { PassThrough, pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import type { Formatter } from '../types/canonical.js';
import type { CsvProgress } from './connector.js';

/** One row of a table, each value already in its canonical text form (lib/types/logical.ts); null is NULL. */
export type CanonicalRow = Array<string | null>;

/** A field that must be quoted: it holds `,` `"` CR or LF. */
const NEEDS_QUOTES = /[,"\r\n]/;

/**
 * One CSV field as PostgreSQL's COPY CSV writes it (CopyAttributeOutCSV):
 * NULL (null) an empty unquoted field, the empty string `""`, a field holding
 * `,` `"` CR or LF quoted with `""` escaping, and a lone `\.` quoted when it is
 * a row's only field (a bare `\.` line ends COPY input).
 */
export function csvField(text: string | null, onlyField: boolean): string {
  if (text === null) return '';
  if (text === '') return '""';
  if (NEEDS_QUOTES.test(text)) return `"${text.replaceAll('"', '""')}"`;
  return onlyField && text === '\\.' ? '"\\."' : text;
}

/** The header line of these column names, as COPY CSV writes it. */
export function csvHeader(columnNames: readonly string[]): Buffer {
  return Buffer.from(`${columnNames.map((name) => csvField(name, columnNames.length === 1)).join(',')}\n`, 'utf8');
}

const ROW_ALIGNED = Symbol('cr8tor.csv.rowAligned');

/**
 * Marks a CSV stream whose every chunk ends at a row end (after the LF that
 * ends a row, never inside a quoted field): the sources that push whole rows
 * only (PostgreSQL's COPY transform, the MySQL reader, the CSV encoder) say
 * so, and a reader may then cut the stream at a chunk's end without tracking
 * quotes through every byte before it. Chunks read through a pipe or an
 * async iterator stay whole pushes or joins of them, so the property holds.
 */
export function markRowAligned<S extends Readable>(stream: S): S {
  Object.defineProperty(stream, ROW_ALIGNED, { value: true });
  return stream;
}

/** Whether {@link markRowAligned} marked the stream. */
export function isRowAligned(stream: Readable): boolean {
  return (stream as Readable & { [ROW_ALIGNED]?: boolean })[ROW_ALIGNED] === true;
}

/** Characters of CSV gathered before they are pushed as one chunk. */
const BATCH_CHARS = 64 * 1024;

/**
 * The CSV encoder for rows from drivers that hand values to JavaScript: a
 * header row of the column names, then one line per row (LF line ends), each
 * field as {@link csvField} writes it, so every source spells a row as
 * PostgreSQL's COPY CSV does. Takes arrays (object mode): with `formatters`,
 * driver values each put in its canonical form by its column's formatter
 * (null and undefined stay NULL); without, {@link CanonicalRow}s. The rows
 * a driver hands over together (in one tick) leave as one chunk, of at most
 * about 64 KiB: few chunks for a fast source, no row held back from a slow one.
 * `progress`, when given, is told the rows and bytes pushed so far, once per chunk.
 */
export class CanonicalCsvEncoder extends Transform {
  /** Rows encoded so far. */
  rows = 0;
  /** CSV bytes pushed so far (header included). */
  bytes = 0;
  private pending: string;
  private readonly single: boolean;
  private readonly formatters: readonly Formatter[] | undefined;
  private scheduled: NodeJS.Immediate | undefined;
  private readonly progress: CsvProgress | undefined;

  constructor(columnNames: readonly string[], formatters?: readonly Formatter[], progress?: CsvProgress) {
    super({ writableObjectMode: true });
    this.single = columnNames.length === 1;
    this.formatters = formatters;
    this.progress = progress;
    this.pending = csvHeader(columnNames).toString('utf8');
  }

  override _transform(row: readonly unknown[], _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      const formatters = this.formatters;
      let line = '';
      for (let i = 0; i < row.length; i++) {
        const value = row[i];
        const text = value == null ? null : formatters ? formatters[i]!(value) : (value as string);
        line += i === 0 ? csvField(text, this.single) : `,${csvField(text, false)}`;
      }
      this.pending += `${line}\n`;
      this.rows++;
      if (this.pending.length >= BATCH_CHARS) this.send();
      else this.scheduled ??= setImmediate(() => this.send());
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    this.send();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    callback(error);
  }

  /** Pushes what is gathered. */
  private send(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (this.pending.length === 0 || this.destroyed) return;
    const chunk = Buffer.from(this.pending, 'utf8');
    this.pending = '';
    this.bytes += chunk.length;
    this.push(chunk);
    this.progress?.(this.rows, this.bytes);
  }
}

/**
 * Streams rows as canonical CSV bytes. `rows` is an object-mode stream of
 * {@link CanonicalRow}s; its back-pressure reaches the source through the
 * pipe. Errors of either side destroy the returned stream with the error
 * `translate` makes of them; the caller's `onSettled` runs once, when the
 * rows end or fail; `progress` is told the running totals per chunk.
 */
export function canonicalCsvStream<E extends Error>(
  columnNames: readonly string[],
  rows: Readable,
  translate: (error: unknown) => E,
  onSettled?: (error: E | undefined) => void,
  progress?: CsvProgress,
): Readable {
  const output = markRowAligned(new PassThrough());
  const encoder = new CanonicalCsvEncoder(columnNames, undefined, progress);
  let settled = false;
  // The output stays out of the pipeline, so it fails with the translated error, not the driver's.
  pipeline(rows, encoder, (error) => {
    settled = true;
    const failure = error ? translate(error) : undefined;
    onSettled?.(failure);
    if (failure) output.destroy(failure);
  });
  encoder.pipe(output);
  // A reader that gives up stops the rows (and, through them, the source).
  output.on('close', () => {
    if (!settled) rows.destroy();
  });
  return output;
}
