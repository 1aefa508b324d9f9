/**
 * The COPY text → canonical CSV transform (lib/connectors/postgresql/copy-text.ts)
 * on hand-written COPY text output: every kind it rewrites, NULL against the
 * empty string, escapes, CSV quoting, and input cut into chunks at every byte.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { CopyTextToCsv, type PgTextKind } from '../../lib/connectors/postgresql/copy-text.js';
import { csvHeader } from '../../lib/connectors/csv-rows.js';

/** Runs `input` through a transform, fed as the given chunks. */
async function convert(names: string[], kinds: PgTextKind[], chunks: Buffer[]): Promise<{ csv: string; rows: number }> {
  const transform = new CopyTextToCsv(names, kinds);
  const out: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    transform.on('data', (b: Buffer) => out.push(b));
    transform.on('end', resolve);
    transform.on('error', reject);
  });
  Readable.from(chunks, { objectMode: false }).pipe(transform);
  await done;
  return { csv: Buffer.concat(out).toString('utf8'), rows: transform.rows };
}

/** Every way of cutting `input` in two, plus one byte at a time, plus whole. */
function cuttings(input: Buffer): Buffer[][] {
  const ways: Buffer[][] = [[input]];
  for (let i = 1; i < input.length; i++) ways.push([input.subarray(0, i), input.subarray(i)]);
  ways.push([...input].map((b) => Buffer.from([b])));
  return ways;
}

async function expectEverywhere(names: string[], kinds: PgTextKind[], input: string, expected: string): Promise<void> {
  const bytes = Buffer.from(input, 'utf8');
  const rows = input.split('\n').length - 1;
  for (const chunks of cuttings(bytes)) {
    const result = await convert(names, kinds, chunks);
    assert.equal(result.csv, expected, `cut into ${chunks.map((c) => c.length).join('+')} bytes`);
    assert.equal(result.rows, rows);
  }
}

describe('COPY text → canonical CSV', () => {
  test('NULL is an empty unquoted field, the empty string "", a literal \\N stays', async () => {
    await expectEverywhere(['a', 'b', 'c'], ['plain', 'plain', 'plain'], '\\N\t\t\\\\N\n\t\\N\tx\n', 'a,b,c\n,"",\\N\n"",,x\n');
  });

  test('escapes are decoded; commas, quotes, CR and LF are quoted with "" doubling', async () => {
    await expectEverywhere(
      ['t', 'u'],
      ['plain', 'plain'],
      'a,b\tsay "hi"\nline1\\nline2\\r\\nend\ttab\\there\nback\\\\slash\t\\b\\f\\v\n',
      't,u\n"a,b","say ""hi"""\n"line1\nline2\r\nend",tab\there\nback\\slash,\b\f\v\n',
    );
  });

  test('a lone \\. is quoted in a one-column row only', async () => {
    await expectEverywhere(['v'], ['plain'], '\\\\.\n\\\\.x\n\n\\N\n', 'v\n"\\."\n\\.x\n""\n\n');
    await expectEverywhere(['v', 'w'], ['plain', 'plain'], '\\\\.\t\\\\.\n', 'v,w\n\\.,\\.\n');
  });

  test('booleans become true / false', async () => {
    await expectEverywhere(['b', 'c'], ['boolean', 'boolean'], 't\tf\n\\N\tt\n', 'b,c\ntrue,false\n,true\n');
  });

  test('timestamps get their T; BC and infinite values keep PostgreSQL\'s own spelling', async () => {
    await expectEverywhere(
      ['ts'],
      ['timestamp'],
      '2020-01-01 12:00:00\n2020-01-01 12:00:00.5\n0044-03-15 12:00:01.5 BC\ninfinity\n-infinity\n10000-01-01 00:00:00\n\\N\n',
      'ts\n2020-01-01T12:00:00\n2020-01-01T12:00:00.5\n0044-03-15T12:00:01.5 BC\ninfinity\n-infinity\n10000-01-01T00:00:00\n\n',
    );
  });

  test('timestamptz: T, and +00 widened to +00:00 (before " BC" too)', async () => {
    await expectEverywhere(
      ['tz', 'n'],
      ['timestamptz', 'plain'],
      '2020-01-01 12:00:00.123456+00\t1\n0044-03-15 12:00:01.5+00 BC\t2\ninfinity\t3\n-infinity\t4\n10000-01-01 00:00:00+00\t5\n\\N\t6\n',
      'tz,n\n2020-01-01T12:00:00.123456+00:00,1\n0044-03-15T12:00:01.5+00:00 BC,2\ninfinity,3\n-infinity,4\n10000-01-01T00:00:00+00:00,5\n,6\n',
    );
  });

  test('time with time zone: whole-hour offsets widened, others as they are', async () => {
    await expectEverywhere(
      ['t'],
      ['timetz'],
      '12:00:00+05:30\n12:00:00-05\n12:00:00.5+05:30:15\n24:00:00+00\n',
      't\n12:00:00+05:30\n12:00:00-05:00\n12:00:00.5+05:30:15\n24:00:00+00:00\n',
    );
  });

  test('every kind side by side, multibyte text and JSON included', async () => {
    await expectEverywhere(
      ['id', 'ok', 'ts', 'tz', 'tt', 'j', 'txt'],
      ['plain', 'boolean', 'timestamp', 'timestamptz', 'timetz', 'plain', 'plain'],
      '1\tt\t2020-02-29 23:59:59.999999\t1999-12-31 23:59:59+00\t01:02:03+01\t{"a": [1, "x\\\\ty"]}\tÅngström, “quoted”\n',
      'id,ok,ts,tz,tt,j,txt\n1,true,2020-02-29T23:59:59.999999,1999-12-31T23:59:59+00:00,01:02:03+01:00,"{""a"": [1, ""x\\ty""]}","Ångström, “quoted”"\n',
    );
  });

  test('a table without rows is its header; odd column names are quoted as COPY quotes them', async () => {
    assert.deepEqual(await convert(['a', 'b'], ['plain', 'plain'], []), { csv: 'a,b\n', rows: 0 });
    assert.equal(csvHeader(['x,y', 'a "b"', 'plain', '']).toString(), '"x,y","a ""b""",plain,""\n');
    assert.equal(csvHeader(['\\.']).toString(), '"\\."\n');
  });

  test('a very long value split over many chunks comes out whole', async () => {
    const long = 'x'.repeat(200_000) + ',' + 'y'.repeat(100_000);
    const input = Buffer.from(`1\t${long}\n2\tshort\n`);
    const chunks: Buffer[] = [];
    for (let i = 0; i < input.length; i += 4096) chunks.push(input.subarray(i, i + 4096));
    assert.deepEqual(await convert(['n', 'v'], ['plain', 'plain'], chunks), { csv: `n,v\n1,"${long}"\n2,short\n`, rows: 2 });
  });

  test('counts the rows and CSV bytes it pushed, and says so after each push', async () => {
    const seen: Array<[number, number]> = [];
    const transform: CopyTextToCsv = new CopyTextToCsv(['n', 'v'], ['plain', 'plain'], undefined, { onPush: () => void seen.push([transform.rows, transform.bytes]) });
    const out: Buffer[] = [];
    const done = new Promise<void>((resolve, reject) => {
      transform.on('data', (b: Buffer) => out.push(b));
      transform.on('end', resolve);
      transform.on('error', reject);
    });
    Readable.from([Buffer.from('1\ta,b\n2\t'), Buffer.from('x\n3\t\\N\n')], { objectMode: false }).pipe(transform);
    await done;
    const csv = Buffer.concat(out);
    assert.equal(csv.toString('utf8'), 'n,v\n1,"a,b"\n2,x\n3,\n');
    assert.deepEqual([transform.rows, transform.bytes], [3, csv.length]);
    assert.equal(seen.length, out.length, 'one call per chunk pushed');
    assert.deepEqual(seen.map(([, b]) => b), out.map((_, i) => Buffer.concat(out.slice(0, i + 1)).length));
    assert.deepEqual(seen.map(([r]) => r), [0, 1, 3, 3], 'the header, the first row, then the row split across chunks and the last (both converted before either is pushed)');
  });

  test('malformed input fails the stream instead of writing a wrong row', async () => {
    await assert.rejects(convert(['a', 'b'], ['plain', 'plain'], [Buffer.from('1\n')]), /does not have 2 fields/);
    await assert.rejects(convert(['a'], ['plain'], [Buffer.from('1\t2\n')]), /does not have 1 fields/);
    await assert.rejects(convert(['a'], ['plain'], [Buffer.from('1\n2')]), /ended inside a row/);
    await assert.rejects(convert(['a'], ['plain'], [Buffer.from('\\Nx\n')]), /unexpected bytes after/);
    // A backslash escaping the row's own line end: the row never ends (and nothing is read past the input).
    await assert.rejects(convert(['a'], ['plain'], [Buffer.from('ab\\\n')]), /ended inside a field/);
    await assert.rejects(convert(['a', 'b'], ['plain', 'plain'], [Buffer.from('x\t"q\\\n')]), /ended inside a field/);
  });
});
