import type { Destination } from '../destination.js';
import { filestoreFormat } from './formats/formats.js';
import type { StorageMounts } from './mount/mounts.js';
import { publishToProduction } from './publish.js';
import type { FilestoreSettings } from './settings.js';
import { packageToStaging } from './staging.js';
import { packageTables } from '../progress.js';

/**
 * The filestore destination: packages into `{mount}/staging/{project}/{start}/`
 * as CSV files or one DuckDB database, publishes to `{mount}/production/…` as a
 * BagIt bag. The mount is chosen by the destination's name; failures name the
 * destination and paths relative to its mount, never the mount's own path.
 */
export function filestoreDestination(mounts: StorageMounts, settings: FilestoreSettings): Destination {
  return {
    // Every configured mount must have writable staging/ and production/ folders.
    readiness: mounts.names().map((name) => () => mounts.checkReady(name)),

    checkReady: (destination) => mounts.checkReady(destination.name),

    package: (input) => mounts.on(input.destination.name, async (mountRoot) => {
      const { project, startTime, requestId, destination, dataset } = input;
      const tables = await packageTables(input);
      const result = await packageToStaging({
        mountRoot,
        project,
        startTime,
        requestId,
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

    publish: ({ project, startTime, requestId, destination }) => mounts.on(destination.name, async (mountRoot) => {
      const result = await publishToProduction({ mountRoot, project, startTime, requestId, bagInfo: settings.bagInfo });
      return { data_published: result.data_published, warnings: result.warnings, settle: result.settle };
    }),
  };
}
