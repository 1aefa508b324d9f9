import type { Destination } from '../destination.js';
import { filestoreFormat } from './formats/formats.js';
import type { StorageMounts } from './mount/mounts.js';
import { publishToProduction, settlePublished } from './publish.js';
import type { FilestoreSettings } from './settings.js';
import { cleanAbandonedPackage, packageToStaging } from './staging.js';
import type { FolderLockOptions } from './mount/folder-lock.js';
import { releaseAbandonedProject } from './mount/project-folders.js';
import { packageTables } from '../progress.js';

/**
 * The filestore destination: packages into `{mount}/staging/{project}/{start}/`
 * as CSV files or one DuckDB database, publishes to `{mount}/production/…` as a
 * BagIt bag. The mount is chosen by the destination's name; failures name the
 * destination and paths relative to its mount, never the mount's own path.
 */
export function filestoreDestination(mounts: StorageMounts, settings: FilestoreSettings, lock?: FolderLockOptions): Destination {
  return {
    // Every configured mount must have writable staging/ and production/ folders.
    readiness: mounts.names().map((name) => () => mounts.checkReady(name)),

    checkReady: (destination) => mounts.checkReady(destination.name),

    package: (input) => mounts.on(input.destination.name, async (mountRoot) => {
      const { project, startTime, requestId, jobId, destination, dataset } = input;
      const tables = await packageTables(input);
      const result = await packageToStaging({
        mountRoot,
        project,
        startTime,
        requestId,
        jobId,
        lock,
        format: filestoreFormat(destination.format),
        schemaName: dataset.schema,
        settings,
        tables: tables.map((table) => ({ name: table.name, columns: table.columns, primaryKey: table.primaryKey, csv: table.csv, written: table.written })),
      });
      return {
        data_retrieved: result.files.map((f) => ({ file_path: f.file_path })),
        files: result.files.map((f) => ({ path: f.file_path, table: f.table, bytes: f.bytes, sha512: f.sha512 })),
        warnings: result.warnings,
      };
    }),

    publish: ({ project, startTime, requestId, jobId, destination }) => mounts.on(destination.name, async (mountRoot) => {
      const result = await publishToProduction({ mountRoot, project, startTime, requestId, jobId, lock, bagInfo: settings.bagInfo });
      return { data_published: result.data_published, warnings: result.warnings };
    }),

    // The receipt goes once the publish was heard (the staging folder went before the answer).
    settle: ({ project, startTime, destination }) => mounts.on(destination.name, (mountRoot) => settlePublished({ mountRoot, project, startTime })),

    // A package's hidden work folder is removed; a publish's is left for the next publish, which finishes or undoes it (publish.ts).
    releaseAbandoned: ({ kind, jobId, project, startTime, destination }) => mounts.on(destination.name, async (mountRoot) => {
      const ref = { project, startTime };
      if (kind === 'package') return cleanAbandonedPackage(mountRoot, ref, jobId, lock);
      return (await releaseAbandonedProject(mountRoot, ref, jobId)) ? ['freed the project lock'] : [];
    }),
  };
}
