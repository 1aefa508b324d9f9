/**
 * The CSV encoder for rows from JavaScript drivers (lib/connectors/csv-rows.ts):
 * COPY CSV's spelling of NULL, the empty string, quoting and a lone `\.`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { CanonicalCsvEncoder, canonicalCsvStream, csvField } from '../../lib/connectors/csv-rows.js';
import { readRowAligned } from '../support/csv-text.js';
import type { Formatter } from '../../lib/types/canonical.js';

async function encode(names: string[], rows: unknown[][], formatters?: Formatter[]): Promise<{ csv: string; chunks: number }> {
  const encoder = new CanonicalCsvEncoder(names, formatters);
  const out: Buffer[] = [];
  Readable.from(rows).pipe(encoder);
  for await (const chunk of encoder) out.push(chunk as Buffer);
  return { csv: Buffer.concat(out).toString('utf8'), chunks: out.length };
}

describe('canonical CSV of driver rows', () => {
  test('fields as COPY CSV writes them', () => {
    assert.equal(csvField(null, false), '');
    assert.equal(csvField('', false), '""');
    assert.equal(csvField('plain', false), 'plain');
    assert.equal(csvField('a,b', false), '"a,b"');
    assert.equal(csvField('say "hi"', false), '"say ""hi"""');
    assert.equal(csvField('two\nlines', false), '"two\nlines"');
    assert.equal(csvField('cr\r', false), '"cr\r"');
    assert.equal(csvField('\\.', true), '"\\."');
    assert.equal(csvField('\\.', false), '\\.');
    assert.equal(csvField('tab\there', false), 'tab\there');
  });

  test('rows: header, NULL against the empty string, a lone \\. in a one-column row', async () => {
    assert.equal((await encode(['a', 'b,c'], [['1', null], ['', 'x"y'], [null, null]])).csv, 'a,"b,c"\n1,\n"","x""y"\n,\n');
    assert.equal((await encode(['v'], [['\\.'], [''], [null]])).csv, 'v\n"\\."\n""\n\n');
    assert.equal((await encode(['a'], [])).csv, 'a\n');
  });

  test('formatters see only values that are not NULL; an empty result is the empty string', async () => {
    const seen: unknown[] = [];
    const upper: Formatter = (v) => {
      seen.push(v);
      return String(v).toUpperCase();
    };
    const blank: Formatter = () => '';
    assert.equal((await encode(['x', 'y'], [['a', 1], [null, undefined]], [upper, blank])).csv, 'x,y\nA,""\n,\n');
    assert.deepEqual(seen, ['a']);
  });

  test('rows handed over together leave as few chunks', async () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => [String(i), `note ${i}`]);
    const { csv, chunks } = await encode(['n', 'note'], rows);
    assert.equal(csv.split('\n').length, 10_002);
    assert.ok(chunks < 100, `${chunks} chunks for 10,000 rows`);
  });

  test('the stream of rows pushes whole rows only, and says so', async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => [String(i), `line, "one"\nline two ${i}`]);
    const stream = canonicalCsvStream(['n', 'note'], Readable.from(rows), (error) => error as Error);
    const { text, chunks } = await readRowAligned(stream);
    assert.ok(chunks > 5, `${chunks} chunks`);
    assert.equal(text.split('\n').length, 2 * 20_000 + 2);
  });

  test('progress: running rows and bytes once per chunk, ending at the whole stream', async () => {
    const rows = Array.from({ length: 30_000 }, (_, i) => [String(i), `note, ${i}`]);
    const calls: Array<[number, number]> = [];
    const encoder = new CanonicalCsvEncoder(['n', 'note'], undefined, (r, b) => void calls.push([r, b]));
    const out: Buffer[] = [];
    Readable.from(rows).pipe(encoder);
    for await (const chunk of encoder) out.push(chunk as Buffer);
    assert.equal(calls.length, out.length, 'one call per chunk');
    let bytes = 0;
    for (const [i, chunk] of out.entries()) {
      bytes += chunk.length;
      assert.equal(calls[i]![1], bytes, `chunk ${i}: bytes so far`);
      const complete = Buffer.concat(out.slice(0, i + 1)).toString('utf8').split('\n').length - 2;
      assert.equal(calls[i]![0], complete, `chunk ${i}: rows so far`);
    }
    assert.deepEqual(calls.at(-1), [30_000, Buffer.concat(out).length]);
    assert.deepEqual([encoder.rows, encoder.bytes], [30_000, Buffer.concat(out).length]);
  });

  test('progress of a table without rows: its header', async () => {
    const calls: Array<[number, number]> = [];
    const encoder = new CanonicalCsvEncoder(['a'], undefined, (r, b) => void calls.push([r, b]));
    Readable.from([]).pipe(encoder);
    for await (const _ of encoder);
    assert.deepEqual(calls, [[0, 2]]);
  });

  test('a formatter that throws fails the stream', async () => {
    const bad: Formatter = () => {
      throw new Error('no canonical form');
    };
    await assert.rejects(encode(['x'], [['a']], [bad]), /no canonical form/);
  });
});
