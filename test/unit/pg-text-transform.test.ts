/**
 * The COPY text → canonical CSV transform (lib/connectors/postgresql/copy-text.ts)
 * on hand-written COPY text output: every kind it rewrites, NULL against the
 * empty string, escapes, CSV quoting, and input cut into chunks at every byte;
 * then a byte that needs work at every position in and around the loop's
 * 16-byte blocks, and random rows, against a plain string reference.
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

/** The byte a COPY text escape stands for. */
const UNESCAPED: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };

/** A reference for plain columns, written for clarity: COPY text rows → CSV rows (no header). */
function reference(input: string): string {
  let out = '';
  for (const row of input.split('\n').slice(0, -1)) {
    const raw = row.split('\t');
    const fields = raw.map((field) => {
      if (field === '\\N') return '';
      const value = field.replace(/\\(.)/gs, (_, c: string) => UNESCAPED[c] ?? c);
      if (value === '' || /[,"\r\n]/.test(value) || (raw.length === 1 && value === '\\.')) return `"${value.replace(/"/g, '""')}"`;
      return value;
    });
    out += fields.join(',') + '\n';
  }
  return out;
}

/** A seeded pseudo-random integer below `n` (xorshift), so that a failure can be replayed. */
function seeded(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
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

  test('a byte that needs work, at every position in and around 16-byte blocks, after every offset', async () => {
    // Field lengths 1–40 with the byte at each position, after a first field of 0–16 bytes:
    // the loop copies sixteen bytes at a time up to the first one that is not plain.
    const specials = [',', '"', '\\n', '\\t', '\\\\', '\\r', 'é'];
    let input = '';
    for (let lead = 0; lead <= 16; lead++) {
      for (let length = 1; length <= 40; length++) {
        for (let at = 0; at < length; at++) {
          const special = specials[(lead + length + at) % specials.length]!;
          input += `${'p'.repeat(lead)}\t${'a'.repeat(at)}${special}${'b'.repeat(length - at - 1)}\t${'c'.repeat(length)}\n`;
        }
      }
    }
    const result = await convert(['x', 'y', 'z'], ['plain', 'plain', 'plain'], [Buffer.from(input)]);
    assert.equal(result.csv, 'x,y,z\n' + reference(input));
    assert.equal(result.rows, input.split('\n').length - 1);
  });

  test('random rows of plain columns, cut into random chunks, match the reference', async () => {
    const pieces = ['a', 'xyz', ',', '"', '""', '\\n', '\\r', '\\t', '\\\\', '\\b', '\\v', '\\f', '\\.', 'N', 'é', '€', ' ', '0123456789abcdef', 'Z'.repeat(35)];
    for (let seed = 1; seed <= 40; seed++) {
      const random = seeded(seed * 7919);
      const columns = 1 + random(6);
      let input = '';
      for (let row = 0, rows = 1 + random(60); row < rows; row++) {
        const fields: string[] = [];
        for (let c = 0; c < columns; c++) {
          const pick = random(12);
          if (pick === 0) fields.push('\\N');
          else if (pick === 1) fields.push('');
          else fields.push(Array.from({ length: random(8) }, () => pieces[random(pieces.length)]!).join(''));
        }
        input += fields.join('\t') + '\n';
      }
      const bytes = Buffer.from(input);
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + random(200);
        chunks.push(bytes.subarray(at, at + size));
        at += size;
      }
      const names = Array.from({ length: columns }, (_, i) => `c${i}`);
      const result = await convert(names, names.map((): PgTextKind => 'plain'), chunks);
      assert.equal(result.csv, `${names.join(',')}\n${reference(input)}`, `seed ${seed}`);
    }
  });

  test('an escaped comma or quote is quoted as the raw byte is', async () => {
    await expectEverywhere(['a', 'b'], ['plain', 'plain'], '\\,x\t\\"\n', 'a,b\n",x",""""\n');
  });

  test('malformed input fails the stream instead of writing a wrong row', async () => {
    await assert.rejects(convert(['a', 'b'], ['plain', 'plain'], [Buffer.from('\\N\n')]), /does not have 2 fields/);
    await assert.rejects(convert(['a'], ['plain'], [Buffer.from('\\N\t\\N\n')]), /does not have 1 fields/);
    await assert.rejects(convert(['a', 'b'], ['plain', 'plain'], [Buffer.from('1\n')]), /does not have 2 fields/);
    await assert.rejects(convert(['a'], ['plain'], [Buffer.from('1\t2\n')]), /does not have 1 fields/);
    await assert.rejects(convert(['a'], ['plain'], [Buffer.from('1\n2')]), /ended inside a row/);
    await assert.rejects(convert(['a'], ['plain'], [Buffer.from('\\Nx\n')]), /unexpected bytes after/);
    // A backslash escaping the row's own line end: the row never ends (and nothing is read past the input).
    await assert.rejects(convert(['a'], ['plain'], [Buffer.from('ab\\\n')]), /ended inside a field/);
    await assert.rejects(convert(['a', 'b'], ['plain', 'plain'], [Buffer.from('x\t"q\\\n')]), /ended inside a field/);
  });
});
