/**
 * The DuckDB writer of the filestore destination, against real DuckDB: every
 * logical type gets its faithful DuckDB type and every value survives exactly;
 * identifiers and paths are quoted; keys are kept when the data honours them.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { createHash } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DuckDbWriter, PART_ROWS, ROW_GROUP_ROWS, keyedFromRows } from '../../../../subgraphs/publish/src/destinations/filestore/formats/duckdb/writer.js';
import { decimalType, duckdbType, quoteIdent, quoteLiteral } from '../../../../subgraphs/publish/src/destinations/filestore/formats/duckdb/types.js';
import { AppError } from '../../../../lib/errors.js';
import { LOGICAL_KINDS } from '../../../../lib/types/logical.js';
import { WRITER_COLUMNS, caseColumns, caseRows } from '../../../support/filestore-cases.js';
import { chunkedStream, toCsv } from '../../../support/csv-text.js';
import { columns, sha512Of, tableOf, tempFolder } from '../../../support/filestore-fs.js';

let root: string;
let cleanup: () => Promise<void>;
let n = 0;

before(async () => {
  ({ dir: root, cleanup } = await tempFolder());
});
after(async () => cleanup());

/** A fresh outputs folder and a working folder whose path holds a single quote. */
async function folders(): Promise<{ out: string; work: string }> {
  const out = path.join(root, `out${n}`);
  const work = path.join(root, `it's work ${n++}`);
  await mkdir(out);
  return { out, work };
}

async function openReadOnly(file: string): Promise<{ connection: DuckDBConnection; close: () => void }> {
  const instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  return {
    connection,
    close: () => {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** Runs `read` on the package's database in `out`, opened read-only, and closes it. */
async function inDatabase(out: string, read: (db: { connection: DuckDBConnection }) => Promise<void>): Promise<void> {
  const db = await openReadOnly(path.join(out, 'database.duckdb'));
  try {
    await read(db);
  } finally {
    db.close();
  }
}

/** The primary keys the database declares: each as its column names. */
async function primaryKeys(connection: DuckDBConnection): Promise<string[][]> {
  const rows = (await connection.runAndReadAll(`SELECT constraint_column_names FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' ORDER BY table_name`)).getRowsJson();
  return rows.map((r) => r[0] as string[]);
}

describe('DuckDB writer', () => {
  const schema = 'ré"search';
  const table = "all 'types\"";
  let out: string;
  let work: string;
  let result: Awaited<ReturnType<DuckDbWriter['write']>>;
  let db: Awaited<ReturnType<typeof openReadOnly>>;

  before(async () => {
    ({ out, work } = await folders());
    const cols = caseColumns();
    const text = toCsv(cols.map((c) => c.name), caseRows());
    result = await new DuckDbWriter({ schemaName: schema, workingDir: work }).write(
      [{ name: table, columns: cols, csv: () => chunkedStream(text, { max: 50 }) }],
      out,
    );
    db = await openReadOnly(path.join(out, 'database.duckdb'));
  });
  after(() => db?.close());

  test('one file, database.duckdb, with its SHA-512; nothing else left behind', async () => {
    assert.deepEqual(await readdir(out), ['database.duckdb']);
    assert.equal(result.files.length, 1);
    assert.equal(result.files[0]!.name, 'database.duckdb');
    assert.equal(result.files[0]!.sha512, await sha512Of(path.join(out, 'database.duckdb')));
    assert.deepEqual(await readdir(work), [], 'the temporary CSV and spill folder are removed');
  });

  test('one schema named after the dataset schema, one table, columns in the requested order', async () => {
    const rows = (await db.connection.runAndReadAll(`SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal`)).getRows();
    assert.deepEqual(rows, [[schema, table]]);
    const names = (await db.connection.runAndReadAll(`SELECT column_name FROM duckdb_columns() WHERE schema_name = $1 ORDER BY column_index`, [schema])).getRows();
    assert.deepEqual(names.map((r) => r[0]), WRITER_COLUMNS.map((c) => c.name));
  });

  test('every column has its faithful DuckDB type (never all VARCHAR)', async () => {
    const rows = (await db.connection.runAndReadAll(`SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = $1 ORDER BY column_index`, [schema])).getRows();
    assert.deepEqual(
      rows.map((r) => `${r[0]}: ${r[1]}`),
      WRITER_COLUMNS.map((c) => `${c.name}: ${c.duckdb}`),
    );
  });

  test('every value survives exactly (digits, extremes, microseconds, instants, NULL vs empty, unicode, JSON, blobs, lists)', async () => {
    const rows = (await db.connection.runAndReadAll(`SELECT * FROM "ré""search"."all 'types""" ORDER BY id`)).getRowsJson();
    assert.equal(rows.length, 3);
    for (const [i, c] of WRITER_COLUMNS.entries()) {
      assert.deepEqual(rows.map((r) => r[i]), c.expected, `column ${c.name}`);
    }
  });

  test('timestamptz values are the same instants (µs since the epoch)', async () => {
    const rows = (await db.connection.runAndReadAll(`SELECT epoch_us(tstz) FROM "ré""search"."all 'types""" ORDER BY id`)).getRowsJson();
    assert.deepEqual(rows.map((r) => r[0]), [String(Date.UTC(2024, 1, 29, 23, 59, 59) * 1000 + 999999), '-999999', null]);
  });

  test('the primary key is kept', async () => {
    assert.deepEqual(await primaryKeys(db.connection), [['id']]);
  });

  test('PostgreSQL arrays of other dimensions are measured and reported', () => {
    assert.deepEqual(result.warnings, [
      `Column 'arr_2d_pg' of table '${table}' holds 2-dimensional arrays: stored as INTEGER[][].`,
      `Column 'arr_mixed' of table '${table}' holds arrays of mixed dimensions: stored as JSON.`,
    ]);
  });
});

describe('DuckDB writer: names, keys, failures', () => {
  test('tables and columns differing only in case are stored under distinct names', async () => {
    const { out, work } = await folders();
    const cols = columns({ A: { kind: 'int32' }, a: { kind: 'text' } });
    const { warnings } = await new DuckDbWriter({ schemaName: 'main', workingDir: work }).write(
      [tableOf('Person', cols, [['1', 'x']]), tableOf('person', cols, [['2', 'y']])],
      out,
    );
    await inDatabase(out, async (db) => {
      const tables = (await db.connection.runAndReadAll(`SELECT table_name FROM duckdb_tables() ORDER BY table_name`)).getRows().map((r) => r[0]);
      assert.deepEqual(tables, ['Person', 'person~2']);
      const rows = (await db.connection.runAndReadAll(`SELECT * FROM main."person~2"`)).getRowsJson();
      assert.deepEqual(rows, [[2, 'y']]);
      const cols2 = (await db.connection.runAndReadAll(`SELECT column_name FROM duckdb_columns() WHERE table_name = 'Person' ORDER BY column_index`)).getRows();
      assert.deepEqual(cols2.map((r) => r[0]), ['A', 'a~2']);
    });
    assert.equal(warnings.length, 3);
  });

  test('a key the data does not honour, or with a column not extracted, is dropped with a warning that quotes no value; the rows are loaded', async () => {
    const { out, work } = await folders();
    const dup = columns({ k: { kind: 'text' }, v: { kind: 'text' } }, ['k']);
    const partial = columns({ a: { kind: 'int32' } }, ['a']);
    const { warnings } = await new DuckDbWriter({ schemaName: 's', workingDir: work }).write(
      [
        tableOf('dup', dup, [['nhs-4857773456', 'x'], ['nhs-4857773456', 'y']]),
        { ...tableOf('partial', partial, [['1'], ['1']]), primaryKey: ['a', 'b'] },
      ],
      out,
    );
    assert.match(warnings[0]!, /primary key \(k\) of table 'dup' is not kept: the data does not honour it/);
    assert.doesNotMatch(warnings.join('\n'), /4857773456/);
    assert.match(warnings[1]!, /primary key of table 'partial' is not kept: its column\(s\) b were not extracted/);
    await inDatabase(out, async (db) => {
      const count = (await db.connection.runAndReadAll(`SELECT (SELECT count(*) FROM s.dup) + (SELECT count(*) FROM s.partial)`)).getRowsJson();
      assert.deepEqual(count, [['4']]);
      assert.deepEqual(await primaryKeys(db.connection), []);
    });
  });

  test('a key added part way and broken by a later part (a repeated or a NULL value) is dropped there: every row is loaded in order, once', async () => {
    for (const [broken, at] of [['repeated', 333], ['NULL', 170]] as const) {
      const { out, work } = await folders();
      const cols = columns({ id: { kind: 'int64' }, note: { kind: 'text' } }, ['id']);
      const rows: (string | null)[][] = Array.from({ length: 400 }, (_, i) => [String(i + 1), i % 9 === 0 ? `line\n"${i}", quoted` : `n${i}`]);
      rows[at]![0] = broken === 'NULL' ? null : '12';
      // Parts of 50 rows, the key added after the first 100 (in order): later parts load into the keyed table until one breaks the key.
      const { warnings } = await new DuckDbWriter({ schemaName: 's', workingDir: work, partRows: 50, keyedFromRows: 100 }).write([tableOf('t', cols, rows, { max: 61, seed: 5 })], out);
      assert.deepEqual(warnings, ["The primary key (id) of table 't' is not kept: the data does not honour it (a key value repeats, or is NULL)."], broken);
      assert.deepEqual(await readdir(work), [], 'every part is removed');
      await inDatabase(out, async (db) => {
        const got = (await db.connection.runAndReadAll(`SELECT id::VARCHAR, note FROM s.t ORDER BY rowid`)).getRows();
        assert.deepEqual(got, rows, broken);
        assert.deepEqual(await primaryKeys(db.connection), []);
        const tables = (await db.connection.runAndReadAll(`SELECT database_name, schema_name, table_name FROM duckdb_tables()`)).getRows();
        assert.deepEqual(tables, [['database', 's', 't']], 'the rows held aside while the table was made again are gone');
      });
    }
  });

  test('a key DuckDB cannot index (a list) is not declared, with a warning; the rows are loaded', async () => {
    const { out, work } = await folders();
    const cols = columns({ k: { kind: 'array', element: { kind: 'int32' } }, v: { kind: 'text' } }, ['k']);
    const { warnings } = await new DuckDbWriter({ schemaName: 's', workingDir: work }).write([tableOf('t', cols, [['[1,2]', 'x'], ['[3]', 'y']])], out);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^The primary key \(k\) of table 't' is not kept: Invalid type Error/);
    await inDatabase(out, async (db) => {
      assert.deepEqual((await db.connection.runAndReadAll(`SELECT v FROM s.t ORDER BY rowid`)).getRows(), [['x'], ['y']]);
    });
  });

  test('a key is kept on more rows than DuckDB could index at once under its memory limit: the index grows part by part', async () => {
    // Under a 16MB limit, adding this key to the loaded table fails with Out of Memory
    // (measured: from 1,200,000 such rows); declared with the table, it is written out at every part.
    const { out, work } = await folders();
    const cols = columns({ id: { kind: 'int64' }, note: { kind: 'text' } }, ['id']);
    const count = 1_200_000;
    const rows = Array.from({ length: count }, (_, i) => [String(i * 7 + 1), `r${i % 1000}`]);
    const { warnings } = await new DuckDbWriter({ schemaName: 's', workingDir: work, memoryLimit: '16MB', partRows: ROW_GROUP_ROWS }).write(
      [tableOf('t', cols, rows, { max: 1 << 16, seed: 9 })],
      out,
    );
    assert.deepEqual(warnings, []);
    await inDatabase(out, async (db) => {
      assert.deepEqual(await primaryKeys(db.connection), [['id']]);
      const got = (await db.connection.runAndReadAll(`SELECT count(*), min(id), max(id), count(DISTINCT id) FROM s.t`)).getRowsJson();
      assert.deepEqual(got, [[String(count), '1', String((count - 1) * 7 + 1), String(count)]]);
    });
  });

  test('a key whose index outgrows the memory limit part way is dropped there with a warning naming the setting; every row is loaded in order', async () => {
    // Long text keys in order: added after 20,000 rows, their index outgrows 12MB some parts later.
    const { out, work } = await folders();
    const cols = columns({ k: { kind: 'text' }, v: { kind: 'int64' } }, ['k']);
    const count = 250_000;
    const rows = Array.from({ length: count }, (_, i) => [String(i).padStart(200, '0'), String(i)]);
    const { warnings } = await new DuckDbWriter({ schemaName: 's', workingDir: work, memoryLimit: '12MB', partRows: 20_000, keyedFromRows: 20_000 }).write(
      [tableOf('t', cols, rows, { max: 1 << 16, seed: 4 })],
      out,
    );
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^The primary key \(k\) of table 't' is not kept: its index does not fit DuckDB's memory limit \(DUCKDB_MEMORY_LIMIT, 12MB; a larger limit keeps it\): Out of Memory Error/);
    assert.deepEqual(await readdir(work), [], 'every part is removed');
    await inDatabase(out, async (db) => {
      const got = (await db.connection.runAndReadAll(`SELECT count(*), count(DISTINCT k), bool_and(v = rowid) FROM s.t`)).getRowsJson();
      assert.deepEqual(got, [[String(count), String(count), true]]);
      assert.deepEqual(await primaryKeys(db.connection), []);
    });
  });

  test('a key not arriving in order is added after the load, where it fits; one that does not fit is dropped with a warning naming the setting', async () => {
    const cols = columns({ k: { kind: 'text' }, v: { kind: 'int64' } }, ['k']);
    const hashed = (count: number) => Array.from({ length: count }, (_, i) => [createHash('md5').update(String(i)).digest('hex'), String(i)]);
    // Kept: 20,000 random keys fit in 16MB.
    {
      const { out, work } = await folders();
      const { warnings } = await new DuckDbWriter({ schemaName: 's', workingDir: work, memoryLimit: '16MB', partRows: 5_000, keyedFromRows: 5_000 }).write([tableOf('t', cols, hashed(20_000), { max: 1 << 16, seed: 4 })], out);
      assert.deepEqual(warnings, []);
      await inDatabase(out, async (db) => assert.deepEqual(await primaryKeys(db.connection), [['k']]));
    }
    // Not kept: 300,000 do not.
    const { out, work } = await folders();
    const count = 300_000;
    const { warnings } = await new DuckDbWriter({ schemaName: 's', workingDir: work, memoryLimit: '16MB', partRows: 20_000, keyedFromRows: 20_000 }).write([tableOf('t', cols, hashed(count), { max: 1 << 16, seed: 4 })], out);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^The primary key \(k\) of table 't' is not kept: its index does not fit DuckDB's memory limit \(DUCKDB_MEMORY_LIMIT, 16MB; a larger limit keeps it\): Out of Memory Error/);
    await inDatabase(out, async (db) => {
      const got = (await db.connection.runAndReadAll(`SELECT count(*), count(DISTINCT k), bool_and(v = rowid) FROM s.t`)).getRowsJson();
      assert.deepEqual(got, [[String(count), String(count), true]]);
      assert.deepEqual(await primaryKeys(db.connection), []);
    });
  });

  test('keyedFromRows: about a million rows per 64MB, in whole row groups, at least one', () => {
    assert.equal(keyedFromRows(64 * 1024 * 1024), 8 * ROW_GROUP_ROWS);
    assert.equal(keyedFromRows(16 * 1024 * 1024), 2 * ROW_GROUP_ROWS);
    assert.equal(keyedFromRows(1024 * 1024), ROW_GROUP_ROWS);
  });

  test("a dataset schema named like one of DuckDB's own catalogs (temp, system) holds its tables", async () => {
    for (const schemaName of ['temp', 'system', 'main']) {
      const { out, work } = await folders();
      const cols = columns({ id: { kind: 'int32' }, v: { kind: 'text' } }, ['id']);
      // Parts of one row, the key added after the first: it breaks in the last, so the table is made again too.
      const { warnings } = await new DuckDbWriter({ schemaName, workingDir: work, partRows: 1, keyedFromRows: 1 }).write([tableOf('t', cols, [['1', 'a'], ['2', 'b'], ['1', 'c']])], out);
      assert.equal(warnings.length, 1, schemaName);
      await inDatabase(out, async (db) => {
        const got = (await db.connection.runAndReadAll(`SELECT id, v FROM "database".${JSON.stringify(schemaName)}.t ORDER BY rowid`)).getRows();
        assert.deepEqual(got, [[1, 'a'], [2, 'b'], [1, 'c']], schemaName);
        const tables = (await db.connection.runAndReadAll(`SELECT database_name, schema_name, table_name FROM duckdb_tables()`)).getRows();
        assert.deepEqual(tables, [['database', schemaName, 't']], schemaName);
      });
    }
  });

  test('a value that does not fit its type fails, naming the column but not the value, and leaves no temporary file', async () => {
    const { out, work } = await folders();
    const cols = columns({ id: { kind: 'int32' }, secret_value: { kind: 'int16' } });
    await assert.rejects(
      new DuckDbWriter({ schemaName: 's', workingDir: work }).write([tableOf('t', cols, [['1', '2'], ['2', 'patient-123']])], out),
      (e: unknown) => {
        assert.ok(e instanceof AppError);
        assert.match(e.message, /Loading table 't' into DuckDB failed: .*column "secret_value"/);
        assert.doesNotMatch(e.message, /patient-123/);
        return true;
      },
    );
    assert.deepEqual(await readdir(work), []);
    const arrays = columns({ list: { kind: 'array', element: { kind: 'int32' } } });
    await assert.rejects(
      new DuckDbWriter({ schemaName: 's', workingDir: work }).write([tableOf('t', arrays, [['["patient-123"]']])], (await folders()).out),
      (e: unknown) => e instanceof AppError && /^Loading table 't' into DuckDB failed: Conversion Error/.test(e.message) && !e.message.includes('patient-123'),
    );
  });

  test('BC dates and timestamps (PostgreSQL spells them `… BC`) keep their era', async () => {
    const { out, work } = await folders();
    const cols = columns({
      d: { kind: 'date' },
      ts: { kind: 'timestamp' },
      tstz: { kind: 'timestamptz' },
      ds: { kind: 'array', element: { kind: 'date' } },
    });
    const rows = [
      ['0044-03-15 BC', '0044-03-15T10:00:00.5 BC', '0044-03-15T10:00:00+00:00 BC', '["0001-01-01 BC","2024-01-01"]'],
      ['2024-02-29', '1970-01-01T00:00:00', '2000-01-01T00:00:00+00:00', null],
    ];
    await new DuckDbWriter({ schemaName: 's', workingDir: work }).write([tableOf('t', cols, rows, { max: 1, seed: 3 })], out);
    await inDatabase(out, async (db) => {
      const got = (await db.connection.runAndReadAll(`SELECT d, ts, tstz, ds, year(d), year(ds[1]) FROM s.t ORDER BY d`)).getRowsJson();
      assert.deepEqual(got, [
        // 1 BC is the astronomical year 0, which DuckDB prints as 0000.
        ['0044-03-15 (BC)', '0044-03-15 (BC) 10:00:00.5', '0044-03-15 (BC) 10:00:00+00', ['0000-01-01', '2024-01-01'], '-43', '0'],
        ['2024-02-29', '1970-01-01 00:00:00', '2000-01-01 00:00:00+00', null, '2024', null],
      ]);
    });
  });

  test('a table loaded in many parts keeps every row in order; BC dates and quoted newlines in some parts only', async () => {
    const { out, work } = await folders();
    const cols = columns({ id: { kind: 'int64' }, note: { kind: 'text' }, d: { kind: 'date' } }, ['id']);
    const rows = Array.from({ length: 400 }, (_, i) => [
      String(i + 1),
      i % 7 === 0 ? `line one\nline "two", ${i}` : i % 11 === 0 ? '' : i % 13 === 0 ? null : `note ${i}`,
      i === 250 ? '0044-03-15 BC' : i % 17 === 0 ? null : '2024-02-29',
    ]);
    // About 30 bytes a row: parts of 200 bytes are some 60 parts, cut inside chunks and across them.
    await new DuckDbWriter({ schemaName: 's', workingDir: work, partBytes: 200 }).write([tableOf('t', cols, rows, { max: 45, seed: 11 })], out);
    assert.deepEqual(await readdir(work), [], 'every part is removed');
    await inDatabase(out, async (db) => {
      const got = (await db.connection.runAndReadAll(`SELECT id::VARCHAR, note, d::VARCHAR FROM s.t ORDER BY rowid`)).getRows();
      const expected = rows.map(([id, note, d]) => [id, note, d === '0044-03-15 BC' ? '0044-03-15 (BC)' : d]);
      assert.equal(got.length, 400);
      assert.deepEqual(got, expected);
      assert.deepEqual(await primaryKeys(db.connection), [['id']], 'the key is kept');
    });
  });

  test("parts are whole DuckDB row groups: the writer's row group is DuckDB's own, and parts of that many rows fill them", async () => {
    const { out, work } = await folders();
    assert.equal(PART_ROWS % ROW_GROUP_ROWS, 0, 'a part is a whole number of row groups');
    const rows = Array.from({ length: 2 * ROW_GROUP_ROWS + 1000 }, (_, i) => [String(i), i % 5 === 0 ? null : `r${i % 97}`]);
    const cols = columns({ id: { kind: 'int64' }, note: { kind: 'text' } }, ['id']);
    // Parts of one row group each, then the 1,000 rows left.
    await new DuckDbWriter({ schemaName: 's', workingDir: work, partRows: ROW_GROUP_ROWS }).write([tableOf('t', cols, rows, { max: 1 << 16, seed: 3 })], out);
    assert.deepEqual(await readdir(work), [], 'every part is removed');
    await inDatabase(out, async (db) => {
      // DuckDB's own figures: each row group's rows, from the storage of the id column.
      const groups = (
        await db.connection.runAndReadAll(
          `SELECT row_group_id, sum(count)::BIGINT FROM pragma_storage_info('s.t') WHERE column_name = 'id' AND segment_type <> 'VALIDITY' GROUP BY ALL ORDER BY 1`,
        )
      )
        .getRowsJS()
        .map(([, count]) => Number(count));
      assert.deepEqual(groups, [ROW_GROUP_ROWS, ROW_GROUP_ROWS, 1000], 'full row groups, the last one partial');
      const got = (await db.connection.runAndReadAll(`SELECT count(*), min(id), max(id), bool_and(id = rowid) FROM s.t`)).getRowsJS()[0]!.map(String);
      assert.deepEqual(got, [String(rows.length), '0', String(rows.length - 1), 'true'], 'every row, in order');
    });
  });

  test("a table whose string columns all took FSST in its first row group is not tried with a dictionary after it; the next table is, and one with another choice first", async () => {
    const { out, work } = await folders();
    const cols = columns({ id: { kind: 'int64' }, note: { kind: 'text' }, doc: { kind: 'json' } });
    const groups = 3;
    // `note` as each row group has it: unique text (FSST is smaller), three labels (a dictionary is), or NULL only.
    const unique = (i: number) => `free text ${i} ${createHash('md5').update(String(i)).digest('hex')}`;
    const labels = (i: number) => ['female', 'male', 'unknown'][i % 3]!;
    const rowsOf = (...kinds: ((i: number) => string | null)[]) =>
      Array.from({ length: groups * ROW_GROUP_ROWS }, (_, i) => [String(i), kinds[Math.floor(i / ROW_GROUP_ROWS)]!(i), `{"n": ${i}}`]);
    const tables = {
      // First row group free text: the dictionary is not tried on the labels after it.
      shifts: rowsOf(unique, labels, labels),
      // The next table: labels throughout, a dictionary each time.
      labels: rowsOf(labels, labels, labels),
      // NULL only in the first row group (DuckDB stores that as a dictionary): nothing is left out.
      "late 'one'.x": rowsOf(() => null, unique, labels),
      // A name DuckDB's storage report cannot look up: both tried, the rows loaded.
      'say "when"': rowsOf(unique, labels, labels),
    };
    await new DuckDbWriter({ schemaName: 's', workingDir: work, partRows: ROW_GROUP_ROWS }).write(
      Object.entries(tables).map(([name, rows]) => tableOf(name, cols, rows, { max: 1 << 16, seed: 8 })),
      out,
    );
    await inDatabase(out, async (db) => {
      // Each row group's compressions of `note` (a row group holds several segments).
      const noteCompression = async (table: string) =>
        (
          await db.connection.runAndReadAll(
            `SELECT string_agg(DISTINCT compression, ',') FROM pragma_storage_info(${quoteLiteral(`s.${quoteIdent(table)}`)}) WHERE column_name = 'note' AND segment_type = 'VARCHAR' GROUP BY row_group_id ORDER BY row_group_id`,
          )
        )
          .getRowsJS()
          .map((row) => row[0]);
      assert.deepEqual(await noteCompression('shifts'), ['FSST', 'FSST', 'FSST']);
      assert.deepEqual(await noteCompression('labels'), ['Dictionary', 'Dictionary', 'Dictionary']);
      assert.deepEqual(await noteCompression("late 'one'.x"), ['Dictionary', 'FSST', 'Dictionary']);
      for (const [name, rows] of Object.entries(tables)) {
        const got = (await db.connection.runAndReadAll(`SELECT id::VARCHAR, note, doc::VARCHAR FROM s.${quoteIdent(name)} ORDER BY rowid`)).getRows();
        assert.deepEqual(got, rows, `every value of ${name}, in order`);
      }
    });
  });

  test('a table loaded in parts of a few rows keeps every row in order', async () => {
    const { out, work } = await folders();
    const cols = columns({ id: { kind: 'int64' }, note: { kind: 'text' } });
    const rows = Array.from({ length: 100 }, (_, i) => [String(i + 1), i % 9 === 0 ? `two\nlines, "${i}"` : i % 4 === 0 ? '' : `n${i}`]);
    await new DuckDbWriter({ schemaName: 's', workingDir: work, partRows: 7, partBytes: 150 }).write([tableOf('t', cols, rows, { max: 23, seed: 5 })], out);
    await inDatabase(out, async (db) => {
      const got = (await db.connection.runAndReadAll(`SELECT id::VARCHAR, note FROM s.t ORDER BY rowid`)).getRows();
      assert.deepEqual(got, rows);
    });
  });

  test('a bad value in a late part fails the package, naming the column, and leaves no part behind', async () => {
    const { out, work } = await folders();
    const cols = columns({ id: { kind: 'int32' }, small: { kind: 'int16' } });
    const rows = Array.from({ length: 300 }, (_, i) => [String(i), i === 280 ? 'patient-123' : String(i % 100)]);
    await assert.rejects(
      new DuckDbWriter({ schemaName: 's', workingDir: work, partBytes: 100 }).write([tableOf('t', cols, rows)], out),
      (e: unknown) => e instanceof AppError && /Loading table 't' into DuckDB failed: .*column "small"/.test(e.message) && !e.message.includes('patient-123'),
    );
    assert.deepEqual(await readdir(work), []);
  });

  test('rows longer than the usual 4 MiB read limit are loaded (read again with room for 64 MiB, then 1 GiB rows)', async () => {
    const { out, work } = await folders();
    const cols = columns({ id: { kind: 'int32' }, big: { kind: 'text' } });
    const [large, huge] = ['x'.repeat(20 * 1024 * 1024), 'y'.repeat(80 * 1024 * 1024)];
    await new DuckDbWriter({ schemaName: 's', workingDir: work }).write(
      [tableOf('large', cols, [['1', 'small'], ['2', large], ['3', 'end']], { max: 4 * 1024 * 1024, seed: 1 }), tableOf('huge', cols, [['1', huge]], { max: 4 * 1024 * 1024, seed: 2 })],
      out,
    );
    assert.deepEqual(await readdir(work), []);
    await inDatabase(out, async (db) => {
      const got = (await db.connection.runAndReadAll(`SELECT id, length(big) FROM s.large ORDER BY id`)).getRowsJson();
      assert.deepEqual(got, [[1, '5'], [2, String(large.length)], [3, '3']]);
      const other = (await db.connection.runAndReadAll(`SELECT length(big), big = repeat('y', ${huge.length}) FROM s.huge`)).getRowsJson();
      assert.deepEqual(other, [[String(huge.length), true]]);
    });
  });

  test('an interval that is not ISO 8601 fails loudly', async () => {
    const { out, work } = await folders();
    const cols = columns({ i: { kind: 'interval' } });
    await assert.rejects(
      new DuckDbWriter({ schemaName: 's', workingDir: work }).write([tableOf('t', cols, [['1 day']])], out),
      /not an ISO 8601 duration/,
    );
  });
});

describe('DuckDB type map', () => {
  test('covers every logical kind', () => {
    const samples = new Map(WRITER_COLUMNS.map((c) => [c.logical.kind, c.logical]));
    for (const kind of LOGICAL_KINDS) {
      const logical = samples.get(kind);
      assert.ok(logical, `the case table covers ${kind}`);
      assert.ok(duckdbType(logical).length > 0);
    }
  });

  test('decimals: exact DECIMAL within 38 digits, widened for odd scales, VARCHAR beyond', () => {
    assert.equal(decimalType(10, 2), 'DECIMAL(10,2)');
    assert.equal(decimalType(12, undefined), 'DECIMAL(12,0)');
    assert.equal(decimalType(2, 5), 'DECIMAL(5,5)');
    assert.equal(decimalType(5, -3), 'DECIMAL(8,0)');
    assert.equal(decimalType(38, 38), 'DECIMAL(38,38)');
    assert.equal(decimalType(39, 2), undefined);
    assert.equal(decimalType(undefined, undefined), undefined);
    assert.equal(duckdbType({ kind: 'decimal', precision: 50, scale: 5 }), 'VARCHAR');
  });
});
