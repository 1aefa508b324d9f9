/**
 * CSV in the canonical form (lib/types/logical.ts) for filestore tests: NULL is
 * an empty unquoted field, the empty string `""`. A small parser that keeps the
 * difference, a writer, and a Readable that cuts text into awkward chunks.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { isRowAligned } from '../../lib/connectors/csv-rows.js';
import { RowScanner } from '../../subgraphs/publish/src/destinations/filestore/formats/csv/scan.js';

export type Field = string | null;

/** Encodes one field: quoted when it holds `,`, `"`, CR, LF or is empty; NULL as nothing. */
export function encodeField(value: Field): string {
  if (value === null) return '';
  return value === '' || /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** A header row plus rows, each ending in `\n`. */
export function toCsv(header: readonly string[], rows: readonly (readonly Field[])[]): string {
  return [header, ...rows].map((r) => `${r.map(encodeField).join(',')}\n`).join('');
}

/** Parses CSV text into rows of fields (unquoted empty → null). Throws on a quote left open. */
export function parseCsv(text: string): Field[][] {
  const rows: Field[][] = [];
  let row: Field[] = [];
  let field = '';
  let quoted = false;
  let wasQuoted = false;
  let inQuotes = false;
  const endField = () => {
    row.push(field === '' && !wasQuoted ? null : field);
    field = '';
    wasQuoted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else field += ch;
      continue;
    }
    if (ch === '"') {
      inQuotes = true;
      quoted = true;
      wasQuoted = true;
    } else if (ch === ',') endField();
    else if (ch === '\n') {
      endField();
      rows.push(row);
      row = [];
      quoted = false;
    } else field += ch;
  }
  if (inQuotes) throw new Error('CSV ends inside a quoted field');
  if (field !== '' || quoted || row.length > 0) {
    endField();
    rows.push(row);
  }
  return rows;
}

/** A Readable of `text`'s UTF-8 bytes in chunks of random sizes (1 to `max` bytes), seeded. */
export function chunkedStream(text: string | Buffer, options: { max?: number; seed?: number } = {}): Readable {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const max = options.max ?? 64;
  let state = options.seed ?? 42;
  const random = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
  const chunks: Buffer[] = [];
  for (let pos = 0; pos < bytes.length; ) {
    const size = 1 + Math.floor(random() * max);
    chunks.push(bytes.subarray(pos, pos + size));
    pos += size;
  }
  return Readable.from(chunks, { objectMode: false });
}

/** A Readable that yields `text` and then fails with `error`. */
export function failingStream(text: string, error: Error): Readable {
  return Readable.from(
    (async function* () {
      yield Buffer.from(text, 'utf8');
      await new Promise((resolve) => setTimeout(resolve, 5));
      throw error;
    })(),
    { objectMode: false },
  );
}

/** Everything a byte stream yields, as UTF-8 text. */
export async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Reads a CSV stream a source marked row-aligned (lib/connectors/csv-rows.ts
 * markRowAligned) and checks the mark is kept: every chunk ends at a row end,
 * a LF outside quotes. Answers the whole text and the number of chunks.
 */
export async function readRowAligned(stream: Readable): Promise<{ text: string; chunks: number }> {
  assert.ok(isRowAligned(stream), 'the stream is marked row-aligned');
  const parts: Buffer[] = [];
  const scanner = new RowScanner();
  for await (const chunk of stream) {
    const bytes = Buffer.from(chunk as Buffer);
    scanner.skip(bytes);
    assert.ok(!scanner.inQuotes && bytes[bytes.length - 1] === 0x0a, `chunk ${parts.length + 1} (${bytes.length} bytes) ends at a row end`);
    parts.push(bytes);
  }
  return { text: Buffer.concat(parts).toString('utf8'), chunks: parts.length };
}
