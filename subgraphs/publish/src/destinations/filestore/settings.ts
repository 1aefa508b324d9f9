import os from 'node:os';
import { z } from 'zod';
import { readEnv, setting } from '../../../../../lib/config/env.js';
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
  /** Organisation fields written into every bag's bag-info.txt. */
  bagInfo: BagInfoFields;
}

export const DEFAULT_FILE_MAX_BYTES = 100 * 1024 * 1024;

/** DuckDB's memory limit while it writes a package (its buffer pool; it spills to the working folder beyond it). */
export const DEFAULT_DUCKDB_MEMORY_LIMIT = '64MB';

/** A size as DuckDB spells one: decimal (KB, MB, …) or binary (KiB, MiB, …) units. */
const DUCKDB_SIZE = /^(\d{1,6}(?:\.\d{1,3})?)\s?(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/;
const UNIT_BYTES: Record<string, number> = { KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 };

/** The bytes of a DuckDB size (`64MB` is 64,000,000, `1GiB` is 2^30). */
export function duckdbSizeBytes(size: string): number {
  const match = DUCKDB_SIZE.exec(size);
  if (!match) throw new AppError('INTERNAL', `'${size}' is not a DuckDB size.`);
  return Number(match[1]) * UNIT_BYTES[match[2]!]!;
}

const shape = {
  /** Rotate CSV files at this size; 0 turns rotation off. The original's default: 100 MiB. */
  DATA_WRITER__FILE_MAX_BYTES: z.coerce
    .number({ message: 'must be a number of bytes' })
    .int('must be a whole number of bytes')
    .min(0, 'must be 0 (no rotation) or a positive number of bytes')
    .default(DEFAULT_FILE_MAX_BYTES),
  /** The original ran with compression disabled (plain `.csv`), so that is the default. */
  DATA_WRITER__DISABLE_COMPRESSION: setting.bool(true),
  /** gzip level when compression is on; 1 is ~1.5x faster than 6 for ~5% larger files (docs/performance.md, "gzip level"). */
  DATA_WRITER__COMPRESSION_LEVEL: z.coerce.number({ message: 'must be 1 to 9' }).int('must be 1 to 9').min(1, 'must be 1 to 9').max(9, 'must be 1 to 9').default(1),
  DLTHUB_PIPELINE_WORKING_DIR: setting.string(os.tmpdir()),
  /** DuckDB's buffer pool while it writes a package; it spills to the working folder beyond it. */
  DUCKDB_MEMORY_LIMIT: z.string().regex(DUCKDB_SIZE, 'must be a size such as 64MB or 1GiB').default(DEFAULT_DUCKDB_MEMORY_LIMIT),
  BAGIT_SOURCE_ORGANIZATION: setting.optionalString(),
  BAGIT_ORGANIZATION_ADDRESS: setting.optionalString(),
  BAGIT_CONTACT_NAME: setting.optionalString(),
  BAGIT_CONTACT_EMAIL: setting.optionalString(),
  BAGIT_EXTERNAL_DESCRIPTION: setting.optionalString(),
};

/** The variables readFilestoreSettings reads. */
export const FILESTORE_SETTING_NAMES: readonly string[] = Object.keys(shape);

/** Reads the filestore settings; a bad value throws a ConfigError naming the variable. */
export function readFilestoreSettings(env: NodeJS.ProcessEnv = process.env): FilestoreSettings {
  const s = readEnv(shape, env);
  return {
    csv: {
      maxFileBytes: s.DATA_WRITER__FILE_MAX_BYTES === 0 ? Infinity : s.DATA_WRITER__FILE_MAX_BYTES,
      gzipLevel: s.DATA_WRITER__DISABLE_COMPRESSION ? null : s.DATA_WRITER__COMPRESSION_LEVEL,
    },
    workingDir: s.DLTHUB_PIPELINE_WORKING_DIR,
    duckdbMemoryLimit: s.DUCKDB_MEMORY_LIMIT,
    bagInfo: {
      sourceOrganization: s.BAGIT_SOURCE_ORGANIZATION,
      organizationAddress: s.BAGIT_ORGANIZATION_ADDRESS,
      contactName: s.BAGIT_CONTACT_NAME,
      contactEmail: s.BAGIT_CONTACT_EMAIL,
      externalDescription: s.BAGIT_EXTERNAL_DESCRIPTION,
    },
  };
}
