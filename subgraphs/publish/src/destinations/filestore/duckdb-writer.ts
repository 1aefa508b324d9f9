import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { access, mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../../../lib/errors.js';
import { openCsvStream } from './csv-scan.js';
import { digestFile } from './digest.js';
import type { LogicalType } from '../../../../../lib/types/logical.js';
import { CONVERSION_MACROS, arrayLeaf, columnLoad, duckdbType, quoteIdent, quoteLiteral, withMeasuredDepth } from './duckdb-types.js';
import type { FilestoreWriter, TableExtract, WriterOutput } from './extract.js';
import { distinctNames } from './file-names.js';
import { FileSink } from './file-sink.js';

/** The one file a DuckDB package holds. */
export const DUCKDB_FILE_NAME = 'database.duckdb';

/** The longest CSV row DuckDB accepts (its default, 2 MB, is too small for large text or binary values). */
const MAX_LINE_BYTES = 1024 * 1024 * 1024;

export interface DuckDbWriterOptions {
  /** The schema the tables go in: the dataset's schema_name. */
  schemaName: string;
  /** Folder for the temporary CSV each table is loaded from, and DuckDB's spill files. */
  workingDir: string;
}

/**
 * Writes every table into one DuckDB database, `database.duckdb`, in a schema
 * named after the dataset's schema, each table with its requested columns in
 * order and faithful types (duckdb-types.ts).
 *
 * Loading, per table: the CSV stream goes to a temporary file under the working
 * folder, then one `INSERT … SELECT … FROM read_csv(…)` with every column's type
 * declared (no sniffing, `allow_quoted_nulls=false` so `""` stays an empty string);
 * types DuckDB cannot read from the canonical text are read as VARCHAR and
 * converted. The primary key is added after the load (as fast as loading into
 * a keyed table, and a key the data does not honour is dropped with a warning
 * instead of failing the package). Extension autoinstall/autoload are off.
 *
 * DuckDB matches identifiers case-insensitively: tables (or columns) whose names
 * differ only in case get `~2`, `~3`, … (file-names.ts `distinctNames`), with a warning.
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
      instance = await DuckDBInstance.create(file, {
        autoinstall_known_extensions: 'false',
        autoload_known_extensions: 'false',
        temp_directory: path.join(work, 'spill'),
      });
      connection = await instance.connect();
      for (const macro of CONVERSION_MACROS) await connection.run(macro);
      const schema = quoteIdent(this.options.schemaName);
      await connection.run(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      const names = distinctNames(tables.map((t) => t.name));
      for (const [index, table] of tables.entries()) {
        const name = names.get(table.name)!;
        if (name !== table.name) warnings.push(`Table '${table.name}' is stored as '${name}': DuckDB does not tell apart names differing only in case.`);
        await loadTable(connection, table, `${schema}.${quoteIdent(name)}`, path.join(work, `${index}.csv`), warnings);
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
    const handle = await open(file, 'r');
    await handle.sync().finally(() => handle.close());
    const digest = await digestFile(file);
    return { files: [{ name: DUCKDB_FILE_NAME, table: null, ...digest }], warnings };
  }
}

async function loadTable(connection: DuckDBConnection, table: TableExtract, target: string, csvFile: string, warnings: string[]): Promise<void> {
  if (table.columns.length === 0) throw new AppError('INTERNAL', `Table '${table.name}' has no columns to package.`);
  const columnNames = distinctNames(table.columns.map((c) => c.name));
  for (const [original, stored] of columnNames) {
    if (original !== stored) warnings.push(`Column '${original}' of table '${table.name}' is stored as '${stored}': DuckDB does not tell apart names differing only in case.`);
  }
  const where = `table '${table.name}'`;
  try {
    const { eras } = await spoolCsv(table, csvFile);
    const logicals = await measureArrays(connection, table, csvFile, warnings);
    const loads = table.columns.map((c, i) => ({ column: quoteIdent(columnNames.get(c.name)!), ...columnLoad(logicals[i]!, { eras }) }));
    await connection.run(`CREATE TABLE ${target} (${loads.map((l) => `${l.column} ${l.type}`).join(', ')})`);
    await connection.run(
      `INSERT INTO ${target} (${loads.map((l) => l.column).join(', ')}) SELECT ${loads.map((l, i) => l.convert(`c${i}`)).join(', ')} FROM ${csvReader(csvFile, loads.map((l) => l.readAs))}`,
    );
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw noSpace(error) ?? new AppError('INTERNAL', `Loading ${where} into DuckDB failed: ${duckdbMessage(error, table.columns.map((c) => c.name))}`, { cause: error });
  } finally {
    await rm(csvFile, { force: true });
  }

  const key = primaryKeyOf(table, warnings);
  if (key.length === 0) return;
  try {
    await connection.run(`ALTER TABLE ${target} ADD PRIMARY KEY (${key.map((k) => quoteIdent(columnNames.get(k)!)).join(', ')})`);
  } catch (error) {
    warnings.push(`The primary key (${key.join(', ')}) of ${where} is not kept: ${duckdbMessage(error)}`);
  }
}

/** read_csv over a spooled table: positional columns c0, c1, … with declared types, no sniffing. */
function csvReader(file: string, types: readonly string[]): string {
  const columns = types.map((t, i) => `${quoteLiteral(`c${i}`)}: ${quoteLiteral(t)}`).join(', ');
  return `read_csv(${quoteLiteral(file)}, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"',
    allow_quoted_nulls = false, nullstr = '', strict_mode = true, max_line_size = ${MAX_LINE_BYTES}, columns = {${columns}})`;
}

/** The columns' logical types, array columns adjusted to the dimensions their values have (duckdb-types.ts withMeasuredDepth). */
async function measureArrays(connection: DuckDBConnection, table: TableExtract, csvFile: string, warnings: string[]): Promise<LogicalType[]> {
  const logicals = table.columns.map((c) => c.logical);
  const arrays = logicals.flatMap((t, i) => (t.kind === 'array' && arrayLeaf(t).leaf.kind !== 'json' ? [i] : []));
  if (arrays.length === 0) return logicals;
  const measures = arrays.map((i) => `min(cr8tor_array_depth(c${i})), max(cr8tor_array_depth(c${i}))`).join(', ');
  const reader = csvReader(csvFile, logicals.map(() => 'VARCHAR'));
  const row = (await connection.runAndReadAll(`SELECT ${measures} FROM ${reader}`)).getRowsJS()[0] ?? [];
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

/**
 * Writes the table's CSV stream to a file, checking its header first. Answers
 * whether ` BC` occurs anywhere in the rows (a native byte search per chunk), so
 * dates and timestamps take the slower, era-aware conversion only when needed.
 */
async function spoolCsv(table: TableExtract, file: string): Promise<{ eras: boolean }> {
  const source = table.csv();
  const sink = new FileSink(file, { digest: false });
  let eras = false;
  let tail: Buffer = Buffer.alloc(0);
  try {
    const { header, body } = await openCsvStream(source, table.name, table.columns.map((c) => c.name));
    await sink.write(header);
    for await (const chunk of body) {
      if (!eras) {
        eras = chunk.indexOf(ERA) >= 0 || Buffer.concat([tail, chunk.subarray(0, ERA.length - 1)]).indexOf(ERA) >= 0;
        const keep = ERA.length - 1;
        tail = chunk.length >= keep ? chunk.subarray(-keep) : Buffer.concat([tail, chunk]).subarray(-keep);
      }
      await sink.write(chunk);
    }
    await sink.close();
    return { eras };
  } catch (error) {
    await sink.abort();
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
  return new AppError('INTERNAL', `Writing the DuckDB database failed: ${duckdbMessage(error)}`, { cause: error });
}
