import { readSettings } from '../../../../../lib/config/env.js';
import { DUCKDB_SIZE, filestoreSettings } from '../../../../../lib/config/settings/index.js';
import { AppError } from '../../../../../lib/errors.js';
import type { BagInfoFields } from './bag/write.js';

/** How CSV files are written. */
export interface CsvWriterOptions {
  /**
   * A file is closed at the first row end at or after this many CSV bytes
   * (counted before compression) and the table continues in a next file.
   * Infinity: never rotate.
   */
  maxFileBytes: number;
  /** gzip level (1 fastest … 9 smallest), or null to write plain `.csv`. */
  gzipLevel: number | null;
}

/** Settings of the filestore destination, from the environment. */
export interface FilestoreSettings {
  csv: CsvWriterOptions;
  /** Folder for temporary files (the CSV a DuckDB table is loaded from, DuckDB's spill files). */
  workingDir: string;
  /** DuckDB's memory_limit while it writes a package (DUCKDB_MEMORY_LIMIT). */
  duckdbMemoryLimit: string;
  /** DuckDB's threads while it writes a package (DUCKDB_THREADS). */
  duckdbThreads: number;
  /** Organisation fields written into every bag's bag-info.txt. */
  bagInfo: BagInfoFields;
}

export { DEFAULT_DUCKDB_MEMORY_LIMIT, DEFAULT_DUCKDB_THREADS, DEFAULT_FILE_MAX_BYTES } from '../../../../../lib/config/settings/index.js';

const UNIT_BYTES: Record<string, number> = { KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 };

/** The bytes of a DuckDB size (`64MB` is 64,000,000, `1GiB` is 2^30). */
export function duckdbSizeBytes(size: string): number {
  const match = DUCKDB_SIZE.exec(size);
  if (!match) throw new AppError('INTERNAL', `'${size}' is not a DuckDB size.`);
  return Number(match[1]) * UNIT_BYTES[match[2]!]!;
}

/** The variables readFilestoreSettings reads. */
export const FILESTORE_SETTING_NAMES: readonly string[] = Object.keys(filestoreSettings);

/** Reads the filestore settings; a bad value throws a ConfigError naming the variable. */
export function readFilestoreSettings(env?: NodeJS.ProcessEnv): FilestoreSettings {
  const s = readSettings(filestoreSettings, env);
  return {
    csv: {
      maxFileBytes: s.DATA_WRITER__FILE_MAX_BYTES === 0 ? Infinity : s.DATA_WRITER__FILE_MAX_BYTES,
      gzipLevel: s.DATA_WRITER__DISABLE_COMPRESSION ? null : s.DATA_WRITER__COMPRESSION_LEVEL,
    },
    workingDir: s.DLTHUB_PIPELINE_WORKING_DIR,
    duckdbMemoryLimit: s.DUCKDB_MEMORY_LIMIT,
    duckdbThreads: s.DUCKDB_THREADS,
    bagInfo: {
      sourceOrganization: s.BAGIT_SOURCE_ORGANIZATION,
      organizationAddress: s.BAGIT_ORGANIZATION_ADDRESS,
      contactName: s.BAGIT_CONTACT_NAME,
      contactEmail: s.BAGIT_CONTACT_EMAIL,
      externalDescription: s.BAGIT_EXTERNAL_DESCRIPTION,
    },
  };
}
