import type { FilestoreSettings } from '../settings.js';
import { unsupportedFormat } from '../../factory.js';
import { FILESTORE_WRITER_FORMATS, type FilestoreFormat, type FilestoreWriter } from './writer.js';

/** What the writers need of the filestore settings (DuckDB's memory limit and threads have defaults). */
export type WriterSettings = Pick<FilestoreSettings, 'csv' | 'workingDir'> & Partial<Pick<FilestoreSettings, 'duckdbMemoryLimit' | 'duckdbThreads'>>;

/** Makes a format's writer for a package of the dataset's schema (which names the DuckDB schema). */
type WriterLoader = (schemaName: string, settings: WriterSettings) => Promise<FilestoreWriter>;

/**
 * The filestore's formats, one folder each under formats/. A writer is imported
 * on the first package in its format: DuckDB (some 35 MiB) is not loaded by a
 * service that never writes it.
 */
const WRITERS: Record<FilestoreFormat, WriterLoader> = {
  csv: async (_schemaName, settings) => {
    const { CsvWriter } = await import('./csv/writer.js');
    return new CsvWriter(settings.csv);
  },
  duckdb: async (schemaName, settings) => {
    const { DuckDbWriter } = await import('./duckdb/writer.js');
    return new DuckDbWriter({ schemaName, workingDir: settings.workingDir, memoryLimit: settings.duckdbMemoryLimit, threads: settings.duckdbThreads });
  },
};

/** The format a request asked for; INVALID_REQUEST naming the formats there are for any other. */
export function filestoreFormat(format: string): FilestoreFormat {
  if (!(FILESTORE_WRITER_FORMATS as readonly string[]).includes(format)) throw unsupportedFormat('filestore', format, FILESTORE_WRITER_FORMATS);
  return format as FilestoreFormat;
}

/** The writer for a format, its module imported on first use. */
export function writerFor(format: FilestoreFormat, schemaName: string, settings: WriterSettings): Promise<FilestoreWriter> {
  return WRITERS[filestoreFormat(format)](schemaName, settings);
}
