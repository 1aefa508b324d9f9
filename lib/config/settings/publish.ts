/** The publish service's own settings: the package deadline and the filestore destinations. */
import os from 'node:os';
import { z } from 'zod';
import { defineSettings, setting, type SettingFamily } from '../env.js';

const PUBLISH = ['publish'] as const;

/**
 * The longest a package may take, in ms: 55 minutes, under the CLI's one-hour
 * wait, so that a package has finished or been stopped (and cleaned up) before
 * the CLI gives up on it, and a retry never meets it still running.
 */
export const DEFAULT_PACKAGE_DEADLINE_MS = 55 * 60 * 1000;

export const packageDeadlineSettings = defineSettings({
  PACKAGE_DEADLINE_MS: {
    ...setting.positiveInt(DEFAULT_PACKAGE_DEADLINE_MS),
    services: PUBLISH,
    description: 'Longest a package may take (55 min by default); then it is stopped and answers 504 (see docs/behaviour.md, "Timeouts").',
  },
});

/** How often a running job's progress is logged, in ms. */
export const DEFAULT_JOB_PROGRESS_LOG_INTERVAL_MS = 10_000;

/** How a publish replica reports the jobs it runs. */
export const jobObservabilitySettings = defineSettings({
  JOB_PROGRESS_LOG_INTERVAL_MS: {
    ...setting.positiveInt(DEFAULT_JOB_PROGRESS_LOG_INTERVAL_MS),
    services: PUBLISH,
    description: 'How often each running job logs one `job progress` line (rows and bytes per table, with the estimate), in ms (see docs/observability.md, "Jobs").',
  },
});

/** How a package treats the catalog a validation approved (docs/behaviour.md, "Approved catalog"). */
export const catalogApprovalSettings = defineSettings({
  PACKAGE_ALLOW_CATALOG_DRIFT: {
    ...setting.bool(false),
    services: PUBLISH,
    description:
      'True lets a package run when the source\'s tables or columns differ from what the project\'s validation approved (added, removed or retyped columns), with a warning naming them in the log; false refuses it with 409 `CATALOG_DRIFT` naming each.',
  },
  PACKAGE_REQUIRE_VALIDATION: {
    ...setting.bool(false),
    services: PUBLISH,
    description:
      'True refuses (409 `CATALOG_DRIFT`) a package of a project and start time no validation with a dataset approved anything for (without a platform database approvals are lost when the publish service restarts); false packages it unchecked, with a warning in the log.',
  },
});

export const DEFAULT_FILE_MAX_BYTES = 100 * 1024 * 1024;

/** DuckDB's memory limit while it writes a package (its buffer pool; it spills to the working folder beyond it). */
export const DEFAULT_DUCKDB_MEMORY_LIMIT = '64MB';

/**
 * DuckDB's threads while it writes a package. One: under the memory limit, two
 * threads loading the same ordered INSERT took 20–30% longer than one and up to
 * twice its CPU (measured 2026-12-05 on 2 vCPUs, docs/performance.md), and the
 * extraction feeding DuckDB needs the other core.
 */
export const DEFAULT_DUCKDB_THREADS = 1;

/** A size as DuckDB spells one: decimal (KB, MB, …) or binary (KiB, MiB, …) units. */
export const DUCKDB_SIZE = /^(\d{1,6}(?:\.\d{1,3})?)\s?(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/;

const bagInfo = (field: string) => ({ ...setting.optionalString(), services: PUBLISH, description: `Written as \`${field}\` in every bag's \`bag-info.txt\`.` });

/** Settings of the filestore destination. */
export const filestoreSettings = defineSettings({
  DATA_WRITER__FILE_MAX_BYTES: {
    schema: z.coerce
      .number({ message: 'must be a number of bytes' })
      .int('must be a whole number of bytes')
      .min(0, 'must be 0 (no rotation) or a positive number of bytes')
      .default(DEFAULT_FILE_MAX_BYTES),
    type: 'bytes',
    services: PUBLISH,
    description: 'CSV files are rotated at this size (counted before compression); 0 never rotates.',
  },
  DATA_WRITER__DISABLE_COMPRESSION: {
    ...setting.bool(true),
    services: PUBLISH,
    description: 'True writes plain `.csv`, as the original service did; false writes `.csv.gz`.',
  },
  DATA_WRITER__COMPRESSION_LEVEL: {
    schema: z.coerce.number({ message: 'must be 1 to 9' }).int('must be 1 to 9').min(1, 'must be 1 to 9').max(9, 'must be 1 to 9').default(1),
    type: '1 to 9',
    services: PUBLISH,
    description: 'gzip level when compression is on (1 is about 1.5 times faster than 6 for about 5% larger files).',
  },
  DLTHUB_PIPELINE_WORKING_DIR: {
    ...setting.string(os.tmpdir()),
    type: 'folder',
    services: PUBLISH,
    defaultText: 'the OS temporary folder',
    description: 'Working folder for temporary files (the CSV parts a DuckDB package loads, about three of at most 128 MiB at a time; DuckDB\'s spill files).',
  },
  DUCKDB_MEMORY_LIMIT: {
    schema: z.string().regex(DUCKDB_SIZE, 'must be a size such as 64MB or 1GiB').default(DEFAULT_DUCKDB_MEMORY_LIMIT),
    type: 'DuckDB size (`64MB`, `1GiB`)',
    services: PUBLISH,
    description: 'DuckDB\'s memory limit while it writes a package; raised for the rest of a package only by values over 4 MiB, by three times the longest.',
  },
  DUCKDB_THREADS: {
    ...setting.positiveInt(DEFAULT_DUCKDB_THREADS),
    services: PUBLISH,
    description: 'Threads DuckDB loads a package with. One is the fastest measured under the default memory limit on 2 vCPUs (the extraction feeding it uses the other core); more may pay with more cores and a higher DUCKDB_MEMORY_LIMIT.',
  },
  BAGIT_SOURCE_ORGANIZATION: bagInfo('Source-Organization'),
  BAGIT_ORGANIZATION_ADDRESS: bagInfo('Organization-Address'),
  BAGIT_CONTACT_NAME: bagInfo('Contact-Name'),
  BAGIT_CONTACT_EMAIL: bagInfo('Contact-Email'),
  BAGIT_EXTERNAL_DESCRIPTION: bagInfo('External-Description'),
});

/** The filestore destinations: one mount per destination name. */
export const destinationMounts: SettingFamily = {
  name: 'TARGET_STORAGE_ACCOUNT_{NAME}_SDE_MNT_PATH',
  pattern: /^TARGET_STORAGE_ACCOUNT_([A-Za-z0-9_]+)_SDE_MNT_PATH$/,
  ...setting.optionalString(),
  type: 'folder',
  services: PUBLISH,
  description: 'The mount of filestore destination `{NAME}` (a request\'s `destination.name`, any case); it must hold `staging/` and `production/`.',
};
