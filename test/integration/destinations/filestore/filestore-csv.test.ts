/**
 * The CSV writer of the filestore destination: files hold exactly the rows
 * extraction streamed, rotate at a row boundary with the header repeated,
 * compress on request, and have safe, distinct names.
 */
import { gunzipSync } from 'node:zlib';
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CsvWriter } from '../../../../subgraphs/publish/src/destinations/filestore/formats/csv/writer.js';
import { RowScanner, rowParts } from '../../../../subgraphs/publish/src/destinations/filestore/formats/csv/scan.js';
import { partFileName, sanitizeFileBase, tableFileBases } from '../../../../subgraphs/publish/src/destinations/filestore/formats/file-names.js';
import { DEFAULT_FILE_MAX_BYTES, readFilestoreSettings } from '../../../../subgraphs/publish/src/destinations/filestore/settings.js';
import { AppError } from '../../../../lib/errors.js';
import { isRowAligned, markRowAligned } from '../../../../lib/connectors/csv-rows.js';
import { caseColumns, caseRows } from '../../../support/filestore-cases.js';
import { chunkedStream, parseCsv, toCsv, type Field } from '../../../support/csv-text.js';
import { columns, sha512Of, tableOf, tempFolder } from '../../../support/filestore-fs.js';

let root: string;
let cleanup: () => Promise<void>;
let n = 0;

before(async () => {
  ({ dir: root, cleanup } = await tempFolder());
});
after(async () => cleanup());

async function outDir(): Promise<string> {
  const dir = path.join(root, `out${n++}`);
  await mkdir(dir);
  return dir;
}

/** Rows with quoted newlines, quotes, commas, NULLs, empty strings and multi-byte text. */
function awkwardRows(count: number): Field[][] {
  const texts = ['plain', 'with, comma', 'with "quotes"', 'two\nlines', 'three\r\nlines\n', '', null, 'ünïcødé 😀', '"', '\n', 'x'.repeat(90)];
  return Array.from({ length: count }, (_, i) => [String(i), texts[i % texts.length]!, texts[(i * 7) % texts.length]!]);
}

const awkwardColumns = columns({ id: { kind: 'int64' }, a: { kind: 'text' }, b: { kind: 'text' } });

describe('CSV writer', () => {
  test('one file per table holding exactly the streamed bytes, with its SHA-512', async () => {
    const dir = await outDir();
    const cols = caseColumns();
    const text = toCsv(cols.map((c) => c.name), caseRows());
    const writer = new CsvWriter({ maxFileBytes: Infinity, gzipLevel: null });
    const { files, warnings } = await writer.write([{ name: 'all_types', columns: cols, csv: () => chunkedStream(text, { max: 5 }) }], dir);
    assert.deepEqual(await readdir(dir), ['all_types.csv']);
    assert.equal(await readFile(path.join(dir, 'all_types.csv'), 'utf8'), text);
    assert.deepEqual(files, [{ name: 'all_types.csv', table: 'all_types', bytes: Buffer.byteLength(text), sha512: await sha512Of(path.join(dir, 'all_types.csv')) }]);
    assert.deepEqual(warnings, []);
    assert.deepEqual(parseCsv(await readFile(path.join(dir, 'all_types.csv'), 'utf8')).slice(1), caseRows(), 'NULL and "" stay apart');
  });

  for (const chunkMax of [1, 40, 100_000]) {
    test(`rotation at 300 bytes never splits a row (chunks of up to ${chunkMax} bytes)`, async () => {
      const dir = await outDir();
      const rows = awkwardRows(200);
      const header = 'id,a,b\n';
      const text = toCsv(['id', 'a', 'b'], rows);
      const writer = new CsvWriter({ maxFileBytes: 300, gzipLevel: null });
      const { files } = await writer.write([{ name: 'person', columns: awkwardColumns, csv: () => chunkedStream(text, { max: chunkMax, seed: chunkMax }) }], dir);
      const names = (await readdir(dir)).sort();
      assert.ok(names.length > 5, `expected many files, got ${names.length}`);
      assert.deepEqual(names, names.map((_, i) => partFileName('person', i + 1, '.csv')));
      assert.deepEqual(files.map((f) => f.name), names);
      const longestRow = Math.max(...rows.map((r) => Buffer.byteLength(toCsv([], [r]))));
      let bodies = '';
      const parsed: Field[][] = [];
      for (const [i, name] of names.entries()) {
        const content = await readFile(path.join(dir, name), 'utf8');
        assert.ok(content.startsWith(header), `${name} starts with the header`);
        const size = (await stat(path.join(dir, name))).size;
        assert.ok(size <= 300 + longestRow, `${name} is ${size} bytes`);
        if (i < names.length - 1) assert.ok(size >= 300, `${name} was closed early (${size} bytes)`);
        assert.equal(files[i]!.bytes, size);
        assert.equal(files[i]!.sha512, await sha512Of(path.join(dir, name)));
        const fileRows = parseCsv(content);
        assert.ok(fileRows.length >= 2, `${name} holds at least one row`);
        for (const row of fileRows) assert.equal(row.length, 3, `${name}: every row is whole`);
        parsed.push(...fileRows.slice(1));
        bodies += content.slice(header.length);
      }
      assert.equal(header + bodies, text, 'the files concatenated give back the stream');
      assert.deepEqual(parsed, rows);
    });
  }

  test('a source whose chunks end at row ends is cut exactly where an unmarked one is, one chunk that does not included', async () => {
    const rows = awkwardRows(120);
    const header = toCsv(['id', 'a', 'b'], []);
    const lines = rows.map((r) => toCsv([], [r]));
    // Whole rows, 1 to 4 to a chunk; `split` cuts one chunk inside a quoted row, not at a line end (the source then broke its word).
    const chunks = (split: boolean): Buffer[] => {
      const out = [Buffer.from(header)];
      for (let i = 0; i < lines.length; ) {
        const take = 1 + ((i * 7) % 4);
        out.push(Buffer.from(lines.slice(i, i + take).join('')));
        i += take;
      }
      if (split) {
        const at = out.findIndex((c, i) => i > 10 && c.includes('"two\nlines"'));
        const chunk = out[at]!;
        const cut = chunk.indexOf('"two') + 3;
        out.splice(at, 1, chunk.subarray(0, cut), chunk.subarray(cut));
      }
      return out;
    };
    const filesOf = async (dir: string) => Promise.all((await readdir(dir)).sort().map(async (name) => [name, await readFile(path.join(dir, name), 'utf8')]));
    for (const limit of [3, 12, 300, 1000]) {
      const expected = await outDir();
      await new CsvWriter({ maxFileBytes: limit, gzipLevel: null }).write([{ name: 't', columns: awkwardColumns, csv: () => Readable.from(chunks(false)) }], expected);
      for (const split of [false, true]) {
        const dir = await outDir();
        const source = () => markRowAligned(Readable.from(chunks(split)));
        assert.ok(isRowAligned(source()));
        await new CsvWriter({ maxFileBytes: limit, gzipLevel: null }).write([{ name: 't', columns: awkwardColumns, csv: source }], dir);
        assert.deepEqual(await filesOf(dir), await filesOf(expected), `limit ${limit}${split ? ', one chunk split inside a quoted row' : ''}`);
      }
      if (limit === 300) assert.ok((await readdir(expected)).length > 5);
    }
  });

  test('a file that reaches the limit exactly at a row end rotates there, and no empty part is made', async () => {
    const dir = await outDir();
    const cols = columns({ v: { kind: 'text' } });
    const rows = [['aaaa'], ['bbbb'], ['cccc'], ['dddd']];
    // header "v\n" (2) + "aaaa\n" (5) + "bbbb\n" (5) = 12
    const writer = new CsvWriter({ maxFileBytes: 12, gzipLevel: null });
    await writer.write([tableOf('t', cols, rows)], dir);
    const names = (await readdir(dir)).sort();
    assert.deepEqual(names, ['t.part0001.csv', 't.part0002.csv']);
    assert.equal(await readFile(path.join(dir, names[0]!), 'utf8'), 'v\naaaa\nbbbb\n');
    assert.equal(await readFile(path.join(dir, names[1]!), 'utf8'), 'v\ncccc\ndddd\n');
  });

  test('a limit smaller than the header gives one row per file', async () => {
    const dir = await outDir();
    const cols = columns({ value: { kind: 'text' } });
    await new CsvWriter({ maxFileBytes: 3, gzipLevel: null }).write([tableOf('t', cols, [['1'], ['2'], ['3']])], dir);
    const names = (await readdir(dir)).sort();
    assert.equal(names.length, 3);
    for (const [i, name] of names.entries()) assert.equal(await readFile(path.join(dir, name), 'utf8'), `value\n${i + 1}\n`);
  });

  test('an empty table is one file holding the header', async () => {
    const dir = await outDir();
    await new CsvWriter({ maxFileBytes: 300, gzipLevel: null }).write([tableOf('empty', awkwardColumns, [])], dir);
    assert.deepEqual(await readdir(dir), ['empty.csv']);
    assert.equal(await readFile(path.join(dir, 'empty.csv'), 'utf8'), 'id,a,b\n');
  });

  test('gzip: .csv.gz files that gunzip to the stream, rotated ones each a whole gzip file', async () => {
    const dir = await outDir();
    const rows = awkwardRows(300);
    const text = toCsv(['id', 'a', 'b'], rows);
    const writer = new CsvWriter({ maxFileBytes: 4096, gzipLevel: 1 });
    const { files } = await writer.write([{ name: 'p', columns: awkwardColumns, csv: () => chunkedStream(text, { max: 999 }) }], dir);
    const names = (await readdir(dir)).sort();
    assert.ok(names.length > 1);
    assert.ok(names.every((name) => /^p\.part\d{4}\.csv\.gz$/.test(name)));
    let joined = '';
    for (const [i, name] of names.entries()) {
      const plain = gunzipSync(await readFile(path.join(dir, name))).toString('utf8');
      assert.ok(plain.startsWith('id,a,b\n'));
      joined += i === 0 ? plain : plain.slice('id,a,b\n'.length);
      assert.equal(files[i]!.sha512, await sha512Of(path.join(dir, name)), 'the hash is of the compressed bytes on disk');
      assert.equal(files[i]!.bytes, (await stat(path.join(dir, name))).size);
    }
    assert.equal(joined, text);
  });

  test('compression off by default (the original ran without it), 100 MiB rotation', () => {
    const settings = readFilestoreSettings({});
    assert.deepEqual(settings.csv, { maxFileBytes: DEFAULT_FILE_MAX_BYTES, gzipLevel: null });
    assert.equal(DEFAULT_FILE_MAX_BYTES, 100 * 1024 * 1024);
    const on = readFilestoreSettings({ DATA_WRITER__DISABLE_COMPRESSION: 'False', DATA_WRITER__FILE_MAX_BYTES: '0', DATA_WRITER__COMPRESSION_LEVEL: '6' });
    assert.deepEqual(on.csv, { maxFileBytes: Infinity, gzipLevel: 6 });
    assert.throws(() => readFilestoreSettings({ DATA_WRITER__FILE_MAX_BYTES: '-1' }), /DATA_WRITER__FILE_MAX_BYTES/);
    assert.throws(() => readFilestoreSettings({ DATA_WRITER__DISABLE_COMPRESSION: 'maybe' }), /DATA_WRITER__DISABLE_COMPRESSION/);
  });

  test('a header that does not name the requested columns is refused', async () => {
    const dir = await outDir();
    const cols = columns({ a: { kind: 'text' }, b: { kind: 'text' } });
    const writer = new CsvWriter({ maxFileBytes: Infinity, gzipLevel: null });
    await assert.rejects(
      writer.write([{ name: 't', columns: cols, csv: () => chunkedStream('b,a\n1,2\n') }], dir),
      (e: unknown) => e instanceof AppError && /columns \["b", "a"\] where \["a", "b"\]/.test(e.message),
    );
    await assert.rejects(writer.write([{ name: 't2', columns: cols, csv: () => chunkedStream('') }], dir), /no header row/);
  });

  test('a quoted header with a newline in a column name is read whole', async () => {
    const dir = await outDir();
    const cols = columns({ 'odd\nname': { kind: 'text' }, 'x,"y"': { kind: 'text' } });
    const text = toCsv(cols.map((c) => c.name), [['1', '2']]);
    await new CsvWriter({ maxFileBytes: Infinity, gzipLevel: null }).write([{ name: 't', columns: cols, csv: () => chunkedStream(text, { max: 2 }) }], dir);
    assert.equal(await readFile(path.join(dir, 't.csv'), 'utf8'), text);
  });

  test('a stream ending inside a quoted field fails when rotating', async () => {
    const dir = await outDir();
    const cols = columns({ a: { kind: 'text' } });
    await assert.rejects(
      new CsvWriter({ maxFileBytes: 1000, gzipLevel: null }).write([{ name: 't', columns: cols, csv: () => chunkedStream('a\n"open\n') }], dir),
      /ended inside a quoted field/,
    );
  });
});

describe('row scanner', () => {
  test('finds row ends outside quotes across chunks', () => {
    const s = new RowScanner();
    assert.equal(s.findRowEnd(Buffer.from('a,"b\n')), -1);
    assert.equal(s.inQuotes, true);
    assert.equal(s.findRowEnd(Buffer.from('c""d",e\nf')), 8);
    assert.equal(s.inQuotes, false);
    s.skip(Buffer.from('"x'));
    assert.equal(s.inQuotes, true);
  });
});

describe('row parts', () => {
  /** Runs rowParts over `text` cut into random chunks (of at most `max` bytes); answers each part's text and figures. */
  async function partsOf(text: string, partBytes: number, seed: number, partRows?: number, firstPartRows?: number, max = 9) {
    const parts: { text: string; rows: number; longestRow: number }[] = [];
    let current: Buffer[] = [];
    for await (const piece of rowParts(chunkedStream(text, { max, seed }), partBytes, 't', partRows, firstPartRows)) {
      current.push(piece.bytes);
      if (piece.part) {
        parts.push({ text: Buffer.concat(current).toString('utf8'), ...piece.part });
        current = [];
      }
    }
    assert.equal(Buffer.concat(current).length, 0, 'no bytes after the last part');
    return parts;
  }

  /** The parts `rows` make: whole rows until a part reaches `size` bytes or `limit` rows (`firstLimit` for the first). */
  function expectedParts(rows: readonly string[], size: number, limit = Infinity, firstLimit = limit) {
    const expected: { text: string; rows: number; longestRow: number }[] = [];
    let cur = { text: '', rows: 0, longestRow: 0 };
    for (const row of rows) {
      cur = { text: cur.text + row, rows: cur.rows + 1, longestRow: Math.max(cur.longestRow, Buffer.byteLength(row)) };
      if (Buffer.byteLength(cur.text) >= size || cur.rows === (expected.length === 0 ? firstLimit : limit)) {
        expected.push(cur);
        cur = { text: '', rows: 0, longestRow: 0 };
      }
    }
    if (cur.rows > 0) expected.push(cur);
    return expected;
  }

  test('parts end at row ends at or after the size, count their rows and measure the longest, quoted line ends included', async () => {
    const rows = ['1,a\n', '2,"x\ny, ""z"""\n', '3,\n', '4,"multi\n\nline"\n', '5,é\n', '6,""\n'];
    const text = rows.join('');
    for (const seed of [1, 2, 3, 4, 5]) {
      for (const size of [1, 5, 12, 30, 1000]) {
        const parts = await partsOf(text, size, seed);
        assert.equal(parts.map((p) => p.text).join(''), text, `seed ${seed} size ${size}: every byte, in order`);
        assert.deepEqual(parts, expectedParts(rows, size), `seed ${seed} size ${size}`);
      }
    }
  });

  test('with a row limit, a part ends at that many rows or at the size, whichever comes first', async () => {
    const rows = ['1,a\n', '2,"x\ny, ""z"""\n', '3,\n', '4,"multi\n\nline"\n', '5,é\n', '6,""\n', '7,\n'];
    const text = rows.join('');
    for (const seed of [1, 2, 3]) {
      for (const [size, limit] of [[1000, 2], [1000, 3], [1000, 1], [20, 3], [1000, 7], [1000, 100]] as const) {
        const parts = await partsOf(text, size, seed, limit);
        assert.equal(parts.map((p) => p.text).join(''), text, `seed ${seed} size ${size} rows ${limit}: every byte, in order`);
        assert.deepEqual(parts, expectedParts(rows, size, limit), `seed ${seed} size ${size} rows ${limit}`);
      }
    }
    // Parts of exactly the limit: 7 rows by 2 are 2, 2, 2, 1.
    assert.deepEqual((await partsOf(text, Infinity, 4, 2)).map((p) => p.rows), [2, 2, 2, 1]);
    // A first part of its own size: 1, then 3s.
    assert.deepEqual((await partsOf(text, Infinity, 5, 3, 1)).map((p) => p.rows), [1, 3, 3]);
    assert.deepEqual((await partsOf(text, 1000, 6, 3, 5)).map((p) => p.rows), [5, 2]);
  });

  test('random rows of every length, quoted line ends and doubled quotes at every offset, in chunks up to 300 bytes', async () => {
    // The finder looks at sixteen bytes at a time: rows, quotes and line ends fall at every position of a block.
    const pieces = ['a', 'xyz', '""', '\n', 'é', ',', '0123456789abcdef', ' ', '"",""'];
    for (let seed = 1; seed <= 12; seed++) {
      let state = seed * 7919;
      const random = (n: number) => {
        state = (state * 1103515245 + 12345) & 0x7fffffff;
        return state % n;
      };
      const rows: string[] = [];
      for (let r = 0, count = 50 + random(150); r < count; r++) {
        const fields: string[] = [];
        for (let f = 0, n = 1 + random(4); f < n; f++) {
          const value = Array.from({ length: random(9) }, () => pieces[random(pieces.length)]!).join('');
          fields.push(random(3) === 0 && !/["\n,]/.test(value) ? value.replace(/"/g, '') : `"${value}"`);
        }
        rows.push(fields.join(',') + '\n');
      }
      const text = rows.join('');
      for (const [size, limit, first] of [[Infinity, Infinity, Infinity], [1, Infinity, Infinity], [200, Infinity, Infinity], [Infinity, 7, 1], [500, 13, 3]] as const) {
        const parts = await partsOf(text, size, seed, limit, first, 300);
        assert.deepEqual(parts, expectedParts(rows, size, limit, first), `seed ${seed} size ${size} rows ${limit} first ${first}`);
      }
    }
  });

  test('a last row without a line end is a row; a body ending inside quotes is refused; no rows, no part', async () => {
    assert.deepEqual(await partsOf('1,a\n2,b', 1000, 1), [{ text: '1,a\n2,b', rows: 2, longestRow: 4 }]);
    assert.deepEqual(await partsOf('', 10, 1), []);
    await assert.rejects(partsOf('1,"open\n', 1000, 1), /ended inside a quoted field/);
  });
});

describe('file names', () => {
  test('unsafe characters, hidden names, device names and the part suffix are made safe', () => {
    assert.equal(sanitizeFileBase('a/b\\c%d:e*f?g"h<i>j|k'), 'a_b_c_d_e_f_g_h_i_j_k');
    assert.equal(sanitizeFileBase('line\nbreak\r\0'), 'line_break__');
    assert.equal(sanitizeFileBase('.hidden'), '_hidden');
    assert.equal(sanitizeFileBase('trailing. '), 'trailing__');
    assert.equal(sanitizeFileBase('CON'), '_CON');
    assert.equal(sanitizeFileBase('nul.backup'), '_nul.backup');
    assert.equal(sanitizeFileBase('x.part0001'), 'x_part0001');
    assert.equal(sanitizeFileBase('café'.normalize('NFD')), 'café'.normalize('NFC'));
    assert.equal(sanitizeFileBase('person'), 'person');
    const long = sanitizeFileBase('é'.repeat(128));
    assert.ok(Buffer.byteLength(long) <= 200 && /~[0-9a-f]{8}$/.test(long));
  });

  test('collisions, including case-only ones, get ~2, ~3 whatever the order', () => {
    const names = ['person', 'Person', 'a_b', 'a/b', 'PERSON'];
    const bases = tableFileBases(names);
    assert.deepEqual(Object.fromEntries(bases), { PERSON: 'PERSON', Person: 'Person~2', person: 'person~3', 'a/b': 'a_b', a_b: 'a_b~2' });
    assert.deepEqual(tableFileBases([...names].reverse()), bases);
  });

  test('tables whose names collide are written to distinct files', async () => {
    const dir = await outDir();
    const cols = columns({ v: { kind: 'text' } });
    const { files, warnings } = await new CsvWriter({ maxFileBytes: Infinity, gzipLevel: null }).write(
      [tableOf('Person', cols, [['upper']]), tableOf('person', cols, [['lower']]), tableOf('../etc/passwd', cols, [['x']])],
      dir,
    );
    assert.deepEqual((await readdir(dir)).sort(), ['Person.csv', '_._etc_passwd.csv', 'person~2.csv']);
    assert.equal(await readFile(path.join(dir, 'person~2.csv'), 'utf8'), 'v\nlower\n');
    assert.deepEqual(files.map((f) => [f.table, f.name]), [['Person', 'Person.csv'], ['person', 'person~2.csv'], ['../etc/passwd', '_._etc_passwd.csv']]);
    assert.equal(warnings.length, 2);
  });
});
