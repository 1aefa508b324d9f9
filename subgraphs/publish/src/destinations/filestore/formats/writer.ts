import type { Readable } from 'node:stream';
import type { ColumnInfo } from '../../../../../../lib/connectors/connector.js';

/** The filestore formats a package can be written in (formats.ts loads their writers). */
export const FILESTORE_WRITER_FORMATS = ['csv', 'duckdb'] as const;
export type FilestoreFormat = (typeof FILESTORE_WRITER_FORMATS)[number];

/**
 * One table to package: what extraction hands the filestore destination.
 * The CSV stream has a header row of the column names (in `columns` order),
 * then one row per source row, each value in its canonical text form
 * (lib/types/logical.ts): NULL is an empty unquoted field, the empty string `""`.
 * Chunks may split rows anywhere (unless the source marked the stream
 * row-aligned: lib/connectors/csv-rows.ts); quoted fields may hold newlines.
 */
export interface TableExtract {
  /** The table's name as the source spells it. */
  name: string;
  /** The extracted columns, in stream order. */
  columns: readonly ColumnInfo[];
  /**
   * The table's whole primary key (column names in key order), when known.
   * When absent, the key is taken from `columns[].primaryKey`. A key is kept
   * in DuckDB only when every key column is extracted and the data honours it.
   */
  primaryKey?: readonly string[];
  /** Opens the table's CSV stream; called once, when the table's turn comes (tables are read one after another). */
  csv: () => Readable;
  /** Called once the table is completely written (its files closed, its rows loaded). */
  written?: () => void;
}

/** A file a writer produced, with the digest of its bytes as written. */
export interface WrittenFile {
  /** The file's name inside the outputs folder (`person.csv`, `database.duckdb`). */
  name: string;
  /** The source table it holds, or null for a file holding every table (DuckDB). */
  table: string | null;
  bytes: number;
  /** SHA-512 of the file's bytes, lowercase hex. */
  sha512: string;
}

/** What a writer answers once every table is written. */
export interface WriterOutput {
  files: WrittenFile[];
  /** Things an operator should know (renamed tables or columns, primary keys not kept); safe to log. */
  warnings: string[];
}

/** Writes a package's tables into an outputs folder, in one format. */
export interface FilestoreWriter {
  readonly format: FilestoreFormat;
  /**
   * Writes every table, one after another, into `outputsDir` (which exists and
   * is empty). On failure it releases what it holds (open files, database
   * handles, temporary files) and rethrows; the caller removes `outputsDir`.
   */
  write(tables: readonly TableExtract[], outputsDir: string): Promise<WriterOutput>;
}
