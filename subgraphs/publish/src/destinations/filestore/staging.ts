import { rename } from 'node:fs/promises';
import { AppError } from '../../../../../lib/errors.js';
import type { CheckedDir } from './mount/checked-dir.js';
import { OUTPUTS_PATH } from './bag/write.js';
import { writerFor, type WriterSettings } from './formats/formats.js';
import type { FilestoreFormat } from './formats/writer.js';
import type { TableExtract } from './formats/writer.js';
import type { FolderLockOptions } from './mount/folder-lock.js';
import { releaseAbandonedProject, withProjectFolders } from './mount/project-folders.js';
import { filestoreError, hiddenSibling, isHiddenSibling, type ProjectRef } from './mount/safe-paths.js';

/** What to package. */
export interface PackageOptions extends ProjectRef {
  /** The destination's mount folder (StorageMounts.root(destination.name)). */
  mountRoot: string;
  format: FilestoreFormat;
  /** The dataset's schema: names the DuckDB schema. */
  schemaName: string;
  tables: readonly TableExtract[];
  settings: WriterSettings;
  /** The request packaging: a call refused as busy is told which one holds the project. */
  requestId?: string | undefined;
  /** The job packaging, when it runs as one (recorded in the project's lock). */
  jobId?: string | undefined;
  /** How the project's lock is held (this replica's name on the mount). */
  lock?: FolderLockOptions | undefined;
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

/**
 * Packages tables into `{mount}/staging/{project}/{start_time}/data/outputs/`.
 *
 * Refused with ALREADY_PUBLISHED when production already holds the project's
 * bag for this start time: published data is never replaced, so such a
 * package could never be published. Everything the package would clear (the
 * staging folder, hidden folders a crashed run left in staging and production)
 * is checked for links first; then the project's staging folder is cleared (as
 * the original did), everything written into a hidden folder beside it,
 * `staging/{project}/.{start_time}.partial-{random}/`, every file fsynced, and
 * the folder renamed into place only when every table is complete. On any
 * error the hidden folder is removed: staging then holds no folder for this
 * project and start time, so publish finds nothing to publish.
 */
export async function packageToStaging(options: PackageOptions): Promise<PackageResult> {
  const { project, startTime } = options;
  return withProjectFolders(options.mountRoot, options, { action: 'package', requestId: options.requestId, jobId: options.jobId }, async ({ staging, production }, lost) => {
    let projectDir: CheckedDir;
    let temp: { name: string; data: CheckedDir; outputs: CheckedDir; dir: CheckedDir };
    try {
      const productionProject = await production.open(project);
      if (productionProject) await refuseIfPublished(productionProject, options);
      const stagingProject = await staging.open(project);
      // A publish killed mid-move left files of the previous package in its hidden production
      // folder; this package supersedes them, so they must never be taken back into a later publish.
      const clear: [CheckedDir, string[]][] = [
        [stagingProject, stagingProject ? (await stagingProject.list()).filter((n) => n === startTime || isHiddenSibling(n, startTime)) : []],
        [productionProject, productionProject ? (await productionProject.list()).filter((n) => isHiddenSibling(n, startTime)) : []],
      ].filter((c): c is [CheckedDir, string[]] => c[0] !== undefined);
      for (const [dir, names] of clear) for (const name of names) await dir.checkTree(name);
      for (const [dir, names] of clear) for (const name of names) await dir.removeTree(name);
      projectDir = stagingProject ?? (await staging.open(project, true))!;
      const name = hiddenSibling(startTime);
      const dir = await projectDir.create(name);
      const data = await dir.create(OUTPUTS_PATH[0]);
      temp = { name, dir, data, outputs: await data.create(OUTPUTS_PATH[1]) };
    } catch (error) {
      throw filestoreError('Preparing the staging folder', error);
    }
    try {
      const output = await (await writerFor(options.format, options.schemaName, options.settings)).write(options.tables, temp.outputs.path);
      for (const dir of [temp.outputs, temp.data, temp.dir]) await dir.sync();
      // A package whose lock was freed for the next call (its job declared abandoned) makes nothing visible.
      lost.throwIfAborted();
      await rename(projectDir.at(temp.name), projectDir.at(startTime));
      await projectDir.sync();
      return {
        files: output.files.map((f) => ({ file_path: [...OUTPUTS_PATH, f.name].join('/'), table: f.table, bytes: f.bytes, sha512: f.sha512 })),
        warnings: output.warnings,
      };
    } catch (error) {
      await projectDir.removeTree(temp.name).catch(() => undefined);
      throw filestoreError('Packaging into staging', error);
    }
  }, options.lock);
}

/**
 * After the job `jobId` packaging the project was declared abandoned (its
 * replica died mid-package): frees the project's lock if that job holds it,
 * then (holding the lock itself, so no live package is touched) removes the
 * hidden work folders packages left beside `staging/{project}/{start_time}`.
 * Answers what it did, for the service log; nothing when the lock was not that job's.
 */
export async function cleanAbandonedPackage(mountRoot: string, ref: ProjectRef, jobId: string, lock?: FolderLockOptions): Promise<string[]> {
  if (!(await releaseAbandonedProject(mountRoot, ref, jobId))) return [];
  const done = ['freed the project lock'];
  try {
    await withProjectFolders(mountRoot, ref, { action: 'package' }, async ({ staging }) => {
      const project = await staging.open(ref.project);
      if (!project) return;
      for (const name of (await project.list()).filter((n) => isHiddenSibling(n, ref.startTime))) {
        await project.checkTree(name);
        await project.removeTree(name);
        done.push(`removed staging/${ref.project}/${name}`);
      }
    }, lock);
  } catch (error) {
    // Another call took the project at once: it clears these folders itself before it writes.
    if (!(error instanceof AppError && error.code === 'PROJECT_BUSY')) throw error;
    done.push('the next call holds the project and clears its staging itself');
  }
  return done;
}

/** ALREADY_PUBLISHED when `production/{project}/{start_time}` exists (a bag appears whole or not at all). */
export async function refuseIfPublished(productionProject: CheckedDir, ref: ProjectRef): Promise<void> {
  const kind = await productionProject.kind(ref.startTime);
  if (kind === 'missing') return;
  if (kind !== 'folder') throw await productionProject.refusal(ref.startTime, 'folder');
  throw new AppError(
    'ALREADY_PUBLISHED',
    `${productionProject.relOf(ref.startTime)} already holds the published bag of project '${ref.project}' (start time ${ref.startTime}), and published data is never replaced: nothing was changed. Package the project under a new start time to publish different data.`,
  );
}
