import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { CsvWriter } from './csv-writer.js';
import type { FilestoreFormat, FilestoreWriter, TableExtract } from './extract.js';
import { withFolderLock } from './folder-lock.js';
import {
  assertRealInside,
  checkProjectRef,
  filestoreError,
  fsyncDir,
  hiddenSibling,
  insideMount,
  removeLeftovers,
  requireArea,
  type ProjectRef,
} from './safe-paths.js';
import type { FilestoreSettings } from './settings.js';

/** Where payload files live inside a project folder, in staging and production alike (the BagIt payload). */
export const OUTPUTS_PATH = ['data', 'outputs'] as const;

/** What to package. */
export interface PackageOptions extends ProjectRef {
  /** The destination's mount folder (StorageMounts.root(destination.name)). */
  mountRoot: string;
  format: FilestoreFormat;
  /** The dataset's schema: names the DuckDB schema. */
  schemaName: string;
  tables: readonly TableExtract[];
  settings: WriterSettings;
}

/** One packaged file. */
export interface PackagedFile {
  /** Relative to `{project}/{start_time}/`, '/'-separated: `data/outputs/person.csv`. */
  file_path: string;
  /** The source table it holds, or null for `database.duckdb`. */
  table: string | null;
  bytes: number;
  sha512: string;
}

export interface PackageResult {
  files: PackagedFile[];
  /** Renamed tables or columns, primary keys not kept: for the service log. */
  warnings: string[];
}

/** What the writers need of the filestore settings (DuckDB's memory limit has a default). */
export type WriterSettings = Pick<FilestoreSettings, 'csv' | 'workingDir'> & Partial<Pick<FilestoreSettings, 'duckdbMemoryLimit'>>;

/** The writer for a format. */
export async function writerFor(format: FilestoreFormat, schemaName: string, settings: WriterSettings): Promise<FilestoreWriter> {
  if (format === 'csv') return new CsvWriter(settings.csv);
  // DuckDB (some 35 MiB) is loaded on the first DuckDB package, not by every publish service.
  const { DuckDbWriter } = await import('./duckdb-writer.js');
  return new DuckDbWriter({ schemaName, workingDir: settings.workingDir, memoryLimit: settings.duckdbMemoryLimit });
}

/** Removes the hidden bag folders (`.{start_time}.partial-*`) an interrupted publish left in production. */
async function removeInterruptedPublish(productionProject: string, startTime: string): Promise<void> {
  const entries = await readdir(productionProject).catch(() => [] as string[]);
  const prefix = `.${startTime}.partial-`;
  await Promise.all(entries.filter((e) => e.startsWith(prefix)).map((e) => rm(path.join(productionProject, e), { recursive: true, force: true })));
}

/**
 * Packages tables into `{mount}/staging/{project}/{start_time}/data/outputs/`.
 *
 * The project's staging folder is cleared first (as the original did), then
 * everything is written into a hidden folder beside it,
 * `staging/{project}/.{start_time}.partial-{random}/`, every file fsynced, and
 * the folder renamed into place only when every table is complete. On any
 * error the hidden folder is removed: staging then holds no folder for this
 * project and start time, so publish finds nothing to publish. Hidden folders
 * left by a crashed run are removed by the next package of the same project.
 */
export async function packageToStaging(options: PackageOptions): Promise<PackageResult> {
  checkProjectRef(options);
  const { mountRoot, project, startTime } = options;
  await requireArea(mountRoot, 'staging');
  return withFolderLock(mountRoot, options, 'package', async () => {
    const projectDir = insideMount(mountRoot, 'staging', project);
    const finalDir = insideMount(mountRoot, 'staging', project, startTime);
    const tempDir = insideMount(mountRoot, 'staging', project, hiddenSibling(startTime, 'partial'));
    const outputsDir = path.join(tempDir, ...OUTPUTS_PATH);
    try {
      await assertRealInside(mountRoot, finalDir);
      await rm(finalDir, { recursive: true, force: true });
      await mkdir(projectDir, { recursive: true });
      await removeLeftovers(projectDir, startTime);
      // A publish killed mid-move left files of the previous package in its hidden
      // production folder; this package supersedes them, so they must never be
      // taken back into a later publish.
      await removeInterruptedPublish(insideMount(mountRoot, 'production', project), startTime);
      await mkdir(outputsDir, { recursive: true });
    } catch (error) {
      throw filestoreError('Preparing the staging folder', error);
    }
    try {
      const output = await (await writerFor(options.format, options.schemaName, options.settings)).write(options.tables, outputsDir);
      await fsyncDir(outputsDir);
      await fsyncDir(path.dirname(outputsDir));
      await fsyncDir(tempDir);
      await rename(tempDir, finalDir);
      await fsyncDir(projectDir);
      return {
        files: output.files.map((f) => ({ file_path: [...OUTPUTS_PATH, f.name].join('/'), table: f.table, bytes: f.bytes, sha512: f.sha512 })),
        warnings: output.warnings,
      };
    } catch (error) {
      await rm(tempDir, { recursive: true, force: true }).catch(() => undefined);
      throw filestoreError('Packaging into staging', error);
    }
  });
}
