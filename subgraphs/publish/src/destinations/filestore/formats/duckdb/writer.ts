import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../../../../../lib/errors.js';
import { openCsvStream, rowParts } from '../csv/scan.js';
import { digestFile } from '../../digest.js';
import { arrayLeaf, type LogicalType } from '../../../../../../../lib/types/logical.js';
import { CONVERSION_MACROS, columnLoad, duckdbType, quoteIdent, quoteLiteral, withMeasuredDepth } from './types.js';
import type { FilestoreWriter, TableExtract, WriterOutput } from '../writer.js';
import { distinctNames } from '../file-names.js';
import { FileSink } from '../file-sink.js';
import { DEFAULT_DUCKDB_MEMORY_LIMIT, DEFAULT_DUCKDB_THREADS, duckdbSizeBytes } from '../../settings.js';

/** The one file a DuckDB package holds. */
export const DUCKDB_FILE_NAME = 'database.duckdb';

/** The rows of one DuckDB row group (its default row_group_size). */
export const ROW_GROUP_ROWS = 122_880;

/**
 * A table's rows reach DuckDB in parts of whole row groups, two by default,
 * the first part one (so that DuckDB starts loading sooner). A part ending
 * inside a row group leaves it partial; the part's checkpoint writes it and the
 * next part's INSERT takes it up again: parts of half a row group took 2.7
 * times as long to load as parts of one, and parts of 64 MiB (about 1.2 row
 * groups of the benchmark's rows) 10–40% longer (measured 2026-12-05,
 * docs/performance.md).
 */
export const PART_ROWS = 2 * ROW_GROUP_ROWS;

/**
 * A part also ends at this many CSV bytes if that comes first (rows over 546
 * bytes on average: such parts are no longer whole row groups). Each part is
 * loaded while the next is being extracted, and at most two wait on disk.
 */
const PART_BYTES = 128 * 1024 * 1024;

/**
 * The rows loaded after which a table whose key arrives in order gets its key,
 * kept part by part from then on: about a million rows per 64MB of
 * DUCKDB_MEMORY_LIMIT, in whole row groups, where adding an 8- or 16-byte key
 * to the loaded rows still fits in memory (measured 2026-12-06: a bigint key
 * on 2,000,000 rows and a UUID key on 1,000,000 fit in 64MB; on 10,000,000 and
 * 2,000,000 they did not).
 */
export function keyedFromRows(memoryLimitBytes: number): number {
  return ROW_GROUP_ROWS * Math.max(1, Math.floor((8 * memoryLimitBytes) / (64 * 1024 * 1024)));
}

/** How read_csv reads a part: rows up to `maxLine` bytes, read `buffer` bytes at a time. */
interface LineLimits {
  maxLine: number;
  buffer: number;
}

/**
 * The limits a part is read with, in turn: small buffers first, so DuckDB's
 * memory stays bounded whatever the number of rows; a part DuckDB refuses
 * (perhaps a row longer than the limit: large text or binary values) is read
 * again with the next, the largest beyond the memory limit while it loads.
 */
const LINE_LIMITS: readonly LineLimits[] = [
  { maxLine: 4 * 1024 * 1024, buffer: 8 * 1024 * 1024 },
  { maxLine: 64 * 1024 * 1024, buffer: 128 * 1024 * 1024 },
  { maxLine: 1024 * 1024 * 1024, buffer: 1024 * 1024 * 1024 + 1 },
];

export interface DuckDbWriterOptions {
  /** The schema the tables go in: the dataset's schema_name. */
  schemaName: string;
  /** Folder for the temporary CSV parts each table is loaded from, and DuckDB's spill files. */
  workingDir: string;
  /** DuckDB's memory_limit (a DuckDB size such as `128MB`). */
  memoryLimit?: string;
  /** DuckDB's threads (DUCKDB_THREADS, default 1). */
  threads?: number;
  /** Most CSV bytes per loaded part (default 128 MiB; tests use small parts). */
  partBytes?: number;
  /** Most rows per loaded part (default {@link PART_ROWS}; tests use fewer). */
  partRows?: number;
  /** Rows loaded after which a key arriving in order is added and kept part by part (default {@link keyedFromRows}; tests use fewer). */
  keyedFromRows?: number;
}

/**
 * Writes every table into one DuckDB database, `database.duckdb`, in a schema
 * named after the dataset's schema, each table with its requested columns in
 * order and faithful types (types.ts).
 *
 * Loading, per table: the CSV stream is cut at row ends into parts of two
 * DuckDB row groups (245,760 rows; the first part one) or 128 MiB, whichever
 * is less (temporary files under the working folder); each part is loaded by
 * one `INSERT … SELECT … FROM read_csv(…)` with every column's type declared
 * (no sniffing, `allow_quoted_nulls=false` so `""` stays an empty string) while
 * the next part is still being extracted, so the source and DuckDB work at the
 * same time. Types DuckDB cannot read from the canonical text are read as
 * VARCHAR and converted. Tables with arrays whose dimensions must be measured
 * first are spooled whole, measured, then loaded.
 *
 * The primary key is added after the load, the fastest way while its index
 * fits in memory. That index is built in memory at once: under the default
 * limit it did not fit on 10 million rows of a bigint key, and the key was lost
 * (docs/performance.md, 2026-12-06). So once a table reaches
 * {@link keyedFromRows} rows and its key has arrived in order (as a serial key
 * or a clustered index gives it), the key is added to those rows and then kept
 * part by part, each part's checkpoint writing the index out. A key that does
 * not arrive in order stays for the end (kept part by part, its index would
 * cost three times as much and outgrow the limit as soon). A key DuckDB cannot
 * index, that the data breaks (a repeated or NULL value) or whose index does
 * not fit is dropped with a warning instead of failing the package; when a
 * part breaks a key already added, the table is made again without it, the
 * rows loaded so far kept in order, and the part loaded again.
 *
 * Memory: DuckDB runs under `memory_limit` (DUCKDB_MEMORY_LIMIT, default
 * 64MB) on DUCKDB_THREADS threads (default 1) and reads with 8 MiB buffers,
 * so the process stays about the same size whatever the number of rows; a part
 * holding a row over 4 MiB is loaded again with room for 64 MiB rows, then
 * 1 GiB rows, the limit lifted for it.
 * Temporary disk use is bounded too: about three parts at a time. Extension
 * autoinstall/autoload are off.
 *
 * Compression is DuckDB's choice, but for one trial it is spared: a table whose
 * string columns all took FSST in its first part is not tried with a
 * dictionary on the rest ({@link skipIdleDictionary}).
 *
 * DuckDB matches identifiers case-insensitively: tables (or columns) whose names
 * differ only in case get `~2`, `~3`, … (formats/file-names.ts `distinctNames`), with a warning.
 */
export class DuckDbWriter implements FilestoreWriter {
  readonly format = 'duckdb' as const;

  constructor(private readonly options: DuckDbWriterOptions) {}

  async write(tables: readonly TableExtract[], outputsDir: string): Promise<WriterOutput> {
    const file = path.join(outputsDir, DUCKDB_FILE_NAME);
    const warnings: string[] = [];
    await mkdir(this.options.workingDir, { recursive: true });
    const work = await mkdtemp(path.join(this.options.workingDir, 'cr8tor-duckdb-'));
    let instance: DuckDBInstance | undefined;
    let connection: DuckDBConnection | undefined;
    try {
      const memoryLimit = this.options.memoryLimit ?? DEFAULT_DUCKDB_MEMORY_LIMIT;
      instance = await DuckDBInstance.create(file, {
        autoinstall_known_extensions: 'false',
        autoload_known_extensions: 'false',
        temp_directory: path.join(work, 'spill'),
        memory_limit: memoryLimit,
        threads: String(this.options.threads ?? DEFAULT_DUCKDB_THREADS),
      });
      connection = await instance.connect();
      for (const macro of CONVERSION_MACROS) await connection.run(macro);
      // Named with the database's own catalog: a schema called `temp` or `system` is otherwise taken for DuckDB's catalogs of those names.
      const catalog = (await connection.runAndReadAll('SELECT current_database()')).getRows()[0]![0] as string;
      const schema = `${quoteIdent(catalog)}.${quoteIdent(this.options.schemaName)}`;
      await connection.run(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      const names = distinctNames(tables.map((t) => t.name));
      // One budget for the package: a limit raised for a long value stays raised for the tables after it.
      const load = {
        budget: new MemoryBudget(connection, memoryLimit),
        partBytes: this.options.partBytes ?? PART_BYTES,
        partRows: this.options.partRows ?? PART_ROWS,
        keyedFrom: this.options.keyedFromRows ?? keyedFromRows(duckdbSizeBytes(memoryLimit)),
      };
      for (const [index, table] of tables.entries()) {
        const name = names.get(table.name)!;
        if (name !== table.name) warnings.push(`Table '${table.name}' is stored as '${name}': DuckDB does not tell apart names differing only in case.`);
        await loadTable(connection, table, `${schema}.${quoteIdent(name)}`, path.join(work, String(index)), load, warnings);
        table.written?.();
      }
      await connection.run('CHECKPOINT');
    } catch (error) {
      throw duckdbError(error);
    } finally {
      connection?.closeSync();
      instance?.closeSync();
      await rm(work, { recursive: true, force: true });
    }
    await checkClosed(file);
    // DuckDB wrote it by path in the fresh hidden folder: never read back through a link planted there.
    const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    await handle.sync().finally(() => handle.close());
    const digest = await digestFile(file);
    return { files: [{ name: DUCKDB_FILE_NAME, table: null, ...digest }], warnings };
  }
}

async function loadTable(
  connection: DuckDBConnection,
  table: TableExtract,
  target: string,
  filePrefix: string,
  { budget, partBytes, partRows, keyedFrom }: { budget: MemoryBudget; partBytes: number; partRows: number; keyedFrom: number },
  warnings: string[],
): Promise<void> {
  if (table.columns.length === 0) throw new AppError('INTERNAL', `Table '${table.name}' has no columns to package.`);
  const columnNames = distinctNames(table.columns.map((c) => c.name));
  for (const [original, stored] of columnNames) {
    if (original !== stored) warnings.push(`Column '${original}' of table '${table.name}' is stored as '${stored}': DuckDB does not tell apart names differing only in case.`);
  }
  const where = `table '${table.name}'`;
  const columns = table.columns.map((c) => quoteIdent(columnNames.get(c.name)!));
  const key = primaryKeyOf(table, warnings);
  const keyColumns = key.map((k) => quoteIdent(columnNames.get(k)!)).join(', ');
  const notKept = (reason: string) => warnings.push(`The primary key (${key.join(', ')}) of ${where} is not kept: ${reason}`);
  /**
   * The key's state: added at the end (`pending`), once the table is large
   * and its key arrives in order (`keyed`, then kept part by part), or given
   * up with a warning (`dropped`). Its order is checked once, when the table is large.
   */
  let state: 'none' | 'pending' | 'keyed' | 'dropped' = key.length > 0 ? 'pending' : 'none';
  let orderChecked = false;
  let loaded = 0;
  const createTable = (logicals: readonly LogicalType[]) =>
    connection.run(`CREATE TABLE ${target} (${logicals.map((t, i) => `${columns[i]} ${columnLoad(t).type}`).join(', ')})`);
  /** Adds the key to the rows loaded so far; a refusal drops it with a warning. */
  const addKey = async (): Promise<void> => {
    try {
      await connection.run(`ALTER TABLE ${target} ADD PRIMARY KEY (${keyColumns})`);
      state = 'keyed';
    } catch (error) {
      state = 'dropped';
      notKept(keyRefusal(error, budget.configured) ?? duckdbMessage(error));
    }
  };
  /** Makes the table again without its key, its rows kept in their order (a rare path: a part broke the key). */
  const dropKey = async (logicals: readonly LogicalType[]): Promise<void> => {
    state = 'dropped';
    const held = `temp.main.${quoteIdent('cr8tor rows without key')}`;
    await connection.run(`CREATE TEMPORARY TABLE ${held} AS SELECT * FROM ${target}`);
    await connection.run(`DROP TABLE ${target}`);
    await createTable(logicals);
    await connection.run(`INSERT INTO ${target} SELECT * FROM ${held}`);
    await connection.run(`DROP TABLE ${held}`);
  };
  /**
   * Whether the rows loaded so far hold their key in ascending order, but for
   * at most 1 row in 100: then each part's keys go to the end of the index,
   * and keeping it part by part costs about twice what adding it at the end
   * does (0.4 against 0.2 µs a row for a bigint key). Keys in random order
   * would cost 2.0 against 0.6 µs a row (a UUID), and outgrow the limit as soon.
   */
  const keyInOrder = async (): Promise<boolean> => {
    const row = `ROW(${keyColumns})`;
    try {
      const result = await connection.runAndReadAll(`SELECT count(*) FROM (SELECT ${row} AS k, lag(${row}) OVER (ORDER BY rowid) AS p FROM ${target}) WHERE p >= k`);
      return Number(result.getRows()[0]![0]) <= loaded / 100;
    } catch {
      // Not known (keys DuckDB cannot compare, memory): the key waits for the end.
      return false;
    }
  };
  const insert = async (file: string, logicals: readonly LogicalType[], eras: boolean, part: PartFigures): Promise<void> => {
    const loads = logicals.map((t) => columnLoad(t, { eras }));
    const select = (limits: LineLimits) => `SELECT ${loads.map((l, i) => l.convert(`c${i}`)).join(', ')} FROM ${csvReader(file, loads.map((l) => l.readAs), limits)}`;
    const load = () => budget.withRoomFor(part.longestRow, (limits) => connection.run(`INSERT INTO ${target} (${columns.join(', ')}) ${select(limits)}`));
    let result: Awaited<ReturnType<typeof load>>;
    try {
      result = await load();
    } catch (error) {
      // The part is not in the table (a statement fails whole); without the key it is loaded again.
      const refusal = state === 'keyed' ? keyRefusal(error, budget.configured) : undefined;
      if (refusal === undefined) throw error;
      notKept(refusal);
      await dropKey(logicals);
      result = await load();
    }
    // Every row written must be a row loaded: DuckDB must never drop rows quietly.
    if (result.rowsChanged !== part.rows) {
      throw new AppError('INTERNAL', `DuckDB loaded ${result.rowsChanged} of the ${part.rows} rows of a part of the CSV of ${where}.`);
    }
    const first = loaded === 0;
    loaded += part.rows;
    // A large table whose key arrives in order gets its key now, while it fits in memory.
    if (state === 'pending' && !orderChecked && loaded >= keyedFrom) {
      orderChecked = true;
      if (await keyInOrder()) await addKey();
    }
    // Written to the database file now, so what DuckDB holds in memory does not grow with the table.
    await connection.run('CHECKPOINT');
    // The first part decides whether DuckDB tries a dictionary on the rest of the table.
    if (first) await skipIdleDictionary(connection, target);
  };
  try {
    const logicals = table.columns.map((c) => c.logical);
    if (logicals.some((t) => t.kind === 'array' && arrayLeaf(t).leaf.kind !== 'json')) {
      // Array dimensions decide the column types: the whole table is read before the table is made.
      const file = `${filePrefix}.csv`;
      try {
        let whole: { eras: boolean; part: PartFigures } | undefined;
        await spoolParts(table, filePrefix, { bytes: Infinity, rows: Infinity }, async (_file, eras, part) => void (whole = { eras, part }));
        const measured = whole ? await measureArrays(connection, table, file, budget, whole.part, warnings) : logicals;
        await createTable(measured);
        if (whole) await insert(file, measured, whole.eras, whole.part);
      } finally {
        await rm(file, { force: true });
      }
    } else {
      await createTable(logicals);
      await spoolParts(table, filePrefix, { bytes: partBytes, rows: partRows, firstRows: Math.min(partRows, ROW_GROUP_ROWS) }, (file, eras, part) => insert(file, logicals, eras, part));
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw noSpace(error) ?? new AppError('INTERNAL', `Loading ${where} into DuckDB failed: ${duckdbMessage(error, table.columns.map((c) => c.name))}`, { cause: error });
  }
  await connection.run("SET disabled_compression_methods = ''");
  if (state === 'pending') await addKey();
}

/**
 * After a table's first part (one row group), stops DuckDB trying a
 * dictionary on the rest of the table's string segments when every string
 * column took FSST there: text whose values rarely repeat (free text,
 * identifiers, JSON). DuckDB tries both on every string segment and keeps the
 * smaller; on the benchmark's mixed table the dictionary's trial cost a fifth
 * of the load and no column took it (2026-12-06, docs/performance.md). A
 * column that took anything else (a dictionary for repeated values, and for
 * one holding only NULLs so far) keeps both tried. Compression is a matter of
 * size, never of values: a column whose values start repeating later is
 * stored with FSST, larger than a dictionary would be.
 */
async function skipIdleDictionary(connection: DuckDBConnection, target: string): Promise<void> {
  // pragma_storage_info reads the table's name from text whose parser takes no doubled quote: a name holding `"` keeps both tried.
  if (target.includes('""')) return;
  let chosen: unknown[];
  try {
    const segments = await connection.runAndReadAll(`SELECT DISTINCT compression FROM pragma_storage_info(${quoteLiteral(target)}) WHERE segment_type IN ('VARCHAR', 'JSON')`);
    chosen = segments.getRowsJS().map((row) => row[0]);
  } catch {
    // Only a question of speed: DuckDB goes on trying both.
    return;
  }
  if (chosen.length > 0 && chosen.every((method) => method === 'FSST')) await connection.run("SET disabled_compression_methods = 'dictionary'");
}

/**
 * Why DuckDB refused a key, or a part for its key: a value repeated or NULL
 * (DuckDB's message may quote the key value, which stays out of the warning),
 * or an index too large for the memory limit. Anything else is not the key's.
 */
function keyRefusal(error: unknown, memoryLimit: string): string | undefined {
  const message = error instanceof Error ? error.message : String(error);
  if (message.startsWith('Constraint Error')) return 'the data does not honour it (a key value repeats, or is NULL).';
  if (/^Out of Memory Error|failed to allocate/.test(message)) {
    return `its index does not fit DuckDB's memory limit (DUCKDB_MEMORY_LIMIT, ${memoryLimit}; a larger limit keeps it): ${duckdbMessage(error)}`;
  }
  return undefined;
}

/**
 * DuckDB's memory limit during one package. Reading a part takes the smallest
 * {@link LINE_LIMITS} that fit its longest row (they must fit: DuckDB reads
 * nothing, without an error, from a file whose first row is longer than its
 * buffer). With the larger ones the limit is lifted while the part loads, and
 * afterwards stays raised by three times that row for the rest of the package:
 * DuckDB holds a value in one block, when it loads it and when it checkpoints.
 * Memory thus grows with the largest value, never with the number of rows.
 */
class MemoryBudget {
  private limit: number;

  constructor(
    private readonly connection: DuckDBConnection,
    readonly configured: string,
  ) {
    this.limit = duckdbSizeBytes(configured);
  }

  async withRoomFor<T>(longestRow: number, run: (limits: LineLimits) => Promise<T>): Promise<T> {
    const index = LINE_LIMITS.findIndex((l) => l.maxLine >= longestRow);
    if (index < 0) throw new AppError('INTERNAL', `A row of ${longestRow} CSV bytes is longer than DuckDB reads (1 GiB).`);
    if (index === 0) return run(LINE_LIMITS[0]!);
    await this.connection.run("SET memory_limit = '64GB'");
    try {
      return await run(LINE_LIMITS[index]!);
    } finally {
      this.limit = Math.max(this.limit, duckdbSizeBytes(this.configured) + 3 * longestRow);
      await this.connection.run(`SET memory_limit = '${Math.ceil(this.limit / 1024)}KiB'`);
    }
  }
}

/** read_csv over a spooled part (rows only, no header): positional columns c0, c1, … with declared types, no sniffing. */
function csvReader(file: string, types: readonly string[], limits: LineLimits = LINE_LIMITS[0]!): string {
  const columns = types.map((t, i) => `${quoteLiteral(`c${i}`)}: ${quoteLiteral(t)}`).join(', ');
  return `read_csv(${quoteLiteral(file)}, header = false, auto_detect = false, delim = ',', quote = '"', escape = '"',
    allow_quoted_nulls = false, nullstr = '', strict_mode = true, max_line_size = ${limits.maxLine}, buffer_size = ${limits.buffer}, columns = {${columns}})`;
}

/** The columns' logical types, array columns adjusted to the dimensions their values have (types.ts withMeasuredDepth). */
async function measureArrays(connection: DuckDBConnection, table: TableExtract, csvFile: string, budget: MemoryBudget, part: PartFigures, warnings: string[]): Promise<LogicalType[]> {
  const logicals = table.columns.map((c) => c.logical);
  const arrays = logicals.flatMap((t, i) => (t.kind === 'array' && arrayLeaf(t).leaf.kind !== 'json' ? [i] : []));
  if (arrays.length === 0) return logicals;
  const measures = arrays.map((i) => `min(cr8tor_array_depth(c${i})), max(cr8tor_array_depth(c${i}))`).join(', ');
  const types = logicals.map(() => 'VARCHAR');
  const read = await budget.withRoomFor(part.longestRow, (limits) => connection.runAndReadAll(`SELECT ${measures} FROM ${csvReader(csvFile, types, limits)}`));
  const row = read.getRowsJS()[0] ?? [];
  for (const [n, i] of arrays.entries()) {
    const declared = logicals[i] as LogicalType & { kind: 'array' };
    const [min, max] = [row[2 * n], row[2 * n + 1]].map((v) => (v == null ? undefined : Number(v)));
    const measured = withMeasuredDepth(declared, min, max);
    if (duckdbType(measured) !== duckdbType(declared)) {
      warnings.push(`Column '${table.columns[i]!.name}' of table '${table.name}' holds ${min === max ? `${min}-dimensional arrays` : 'arrays of mixed dimensions'}: stored as ${duckdbType(measured)}.`);
    }
    logicals[i] = measured;
  }
  return logicals;
}

const ERA = Buffer.from(' BC');

/** At most this many spooled parts wait for DuckDB (bounds the temporary disk space to about 3 parts). */
const PARTS_AHEAD = 2;

/** What the spooling found in a part: its rows and longest row, as {@link rowParts} counts them. */
type PartFigures = { rows: number; longestRow: number };

/**
 * Writes the table's CSV rows (header checked, then left out) to temporary
 * files `{prefix}.csv` (one part, `size` Infinity) or `{prefix}.{n}.csv`,
 * each ending at a row end once it holds `size.rows` rows (the first part
 * `size.firstRows`) or `size.bytes` bytes, and hands each finished part to `load` with its
 * figures, in order, one at a time, while the next part is written. A part
 * file is removed once loaded (or not; the single part is the caller's). Tells
 * `load` whether ` BC` occurs anywhere in the part (a native byte search per
 * chunk), so dates and timestamps take the slower, era-aware conversion only
 * where needed. A table without rows writes no part.
 */
async function spoolParts(table: TableExtract, prefix: string, size: { bytes: number; rows: number; firstRows?: number }, load: (file: string, eras: boolean, part: PartFigures) => Promise<void>): Promise<void> {
  const source = table.csv();
  const single = !Number.isFinite(size.bytes) && !Number.isFinite(size.rows);
  let sink: FileSink | undefined;
  let eras = false;
  let tail: Buffer = Buffer.alloc(0);
  let loading: Promise<void> = Promise.resolve();
  const waiting: Promise<void>[] = [];
  let count = 0;
  const finishPart = async (figures: PartFigures): Promise<void> => {
    const part = sink!;
    sink = undefined;
    await part.close();
    const partEras = eras;
    if (waiting.length >= PARTS_AHEAD) await waiting.shift();
    loading = loading.then(() => load(part.file, partEras, figures)).finally(() => (single ? undefined : rm(part.file, { force: true })));
    loading.catch(() => undefined);
    waiting.push(loading);
  };
  try {
    const { body } = await openCsvStream(source, table.name, table.columns.map((c) => c.name));
    for await (const piece of rowParts(body, size.bytes, table.name, size.rows, size.firstRows)) {
      if (!sink) {
        sink = new FileSink(single ? `${prefix}.csv` : `${prefix}.${count++}.csv`, { digest: false, durable: false });
        eras = false;
        tail = Buffer.alloc(0);
      }
      const chunk = piece.bytes;
      if (!eras && chunk.length > 0) {
        eras = chunk.indexOf(ERA) >= 0 || Buffer.concat([tail, chunk.subarray(0, ERA.length - 1)]).indexOf(ERA) >= 0;
        const keep = ERA.length - 1;
        tail = chunk.length >= keep ? chunk.subarray(-keep) : Buffer.concat([tail, chunk]).subarray(-keep);
      }
      await sink.write(chunk);
      if (piece.part) await finishPart(piece.part);
    }
    await loading;
  } catch (error) {
    if (sink) {
      await sink.abort();
      await rm(sink.file, { force: true });
    }
    // DuckDB may still be loading a part: it must finish before the connection closes.
    await loading.catch(() => undefined);
    throw error;
  } finally {
    source.destroy();
  }
}

/** The key columns to declare: the whole key when every key column was extracted, else none (with a warning). */
function primaryKeyOf(table: TableExtract, warnings: string[]): string[] {
  const extracted = new Set(table.columns.map((c) => c.name));
  if (table.primaryKey) {
    const missing = table.primaryKey.filter((k) => !extracted.has(k));
    if (missing.length === 0) return [...table.primaryKey];
    warnings.push(`The primary key of table '${table.name}' is not kept: its column(s) ${missing.join(', ')} were not extracted.`);
    return [];
  }
  const keyed = table.columns.filter((c) => c.primaryKey != null).sort((a, b) => a.primaryKey! - b.primaryKey!);
  if (keyed.every((c, i) => c.primaryKey === i + 1)) return keyed.map((c) => c.name);
  warnings.push(`The primary key of table '${table.name}' is not kept: not every key column was extracted.`);
  return [];
}

/** DuckDB removes its write-ahead log on a clean close; one left over means the file is not complete. */
async function checkClosed(file: string): Promise<void> {
  const wal = `${file}.wal`;
  const left = await access(wal).then(
    () => true,
    () => false,
  );
  if (left) throw new AppError('INTERNAL', `DuckDB left a write-ahead log beside ${path.basename(file)}; the database was not closed cleanly.`);
}

/**
 * The useful part of a DuckDB error: its first line, plus the cause line of a
 * CSV error; the CSV row it quotes and the value it could not convert are left
 * out (row values stay out of messages), and `c{i}` is named after the column.
 */
function duckdbMessage(error: unknown, columns: readonly string[] = []): string {
  const lines = (error instanceof Error ? error.message : String(error)).split('\n');
  let text = lines[0]!;
  if (lines[1]?.startsWith('Original Line:') && lines[2]) text += `: ${lines[2]}`;
  if (!text.includes('CSV Error') && !text.includes('cr8tor:')) text = text.replace(/^((?:Conversion|Invalid Input) Error: [^:]*): .*$/, '$1: …');
  text = text
    .replace(/(string\s+)(["'])(?:(?!\2)[^\n])*\2/g, '$1$2…$2')
    .replace(/column "c(\d+)"/g, (whole, i: string) => (columns[Number(i)] != null ? `column ${JSON.stringify(columns[Number(i)])}` : whole));
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
}

/** DuckDB reports a full volume as an IO error; it is the destination's condition, as for CSV files. */
function noSpace(error: unknown): AppError | undefined {
  return /No space left on device|disk is full/i.test(duckdbMessage(error))
    ? new AppError('DESTINATION_NOT_READY', 'Writing the DuckDB database failed: no space left on the filestore volume.', { cause: error })
    : undefined;
}

function duckdbError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const full = noSpace(error);
  if (full) return full;
  // A DuckDB I/O error quotes the file's full path: the caller gets its name, the log the whole message.
  const message = duckdbMessage(error).replace(/(["'])\/[^"']*\/([^/"']+)\1/g, '$1$2$1');
  return new AppError('INTERNAL', `Writing the DuckDB database failed: ${message}`, { cause: error, logDetail: duckdbMessage(error) });
}
