import { AppError } from '../../../../../lib/errors.js';
import type { Destination } from '../destination.js';
import type { StorageMounts } from './mounts.js';
import { publishToProduction } from './publish.js';
import type { FilestoreSettings } from './settings.js';
import { packageToStaging } from './staging.js';

/**
 * The filestore destination: packages into `{mount}/staging/{project}/{start}/`
 * as CSV files or one DuckDB database, publishes to `{mount}/production/…` as a
 * BagIt bag. The mount is chosen by the destination's name.
 */
export function filestoreDestination(mounts: StorageMounts, settings: FilestoreSettings): Destination {
  /** Names the destination and its mount in a storage failure, so operators know which volume to look at. */
  const onDestination = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (error instanceof AppError && error.code === 'DESTINATION_NOT_READY' && !error.detail.includes(`'${name}'`)) {
        throw new AppError(error.code, `Destination '${name}' (${mounts.root(name)}): ${error.detail}`, { cause: error });
      }
      throw error;
    }
  };
  return {
    checkReady: (destination) => mounts.checkReady(destination.name),

    package: ({ project, startTime, destination, dataset, snapshot }) => onDestination(destination.name, async () => {
      const format = destination.format === 'duckdb' ? 'duckdb' : 'csv';
      const result = await packageToStaging({
        mountRoot: mounts.root(destination.name),
        project,
        startTime,
        format,
        schemaName: dataset.schema,
        settings,
        tables: dataset.tables.map((table) => ({
          name: table.name,
          columns: table.columns,
          primaryKey: table.primaryKey,
          csv: () => snapshot.csv(dataset.schema, table.name, table.columns),
        })),
      });
      return {
        data_retrieved: result.files.map((f) => ({ file_path: f.file_path })),
        files: result.files.map((f) => ({ path: f.file_path, table: f.table, bytes: f.bytes, sha512: f.sha512 })),
        warnings: result.warnings,
      };
    }),

    publish: ({ project, startTime, destination }) => onDestination(destination.name, async () => {
      const result = await publishToProduction({ mountRoot: mounts.root(destination.name), project, startTime, bagInfo: settings.bagInfo });
      return { data_published: result.data_published, warnings: result.warnings, settle: result.settle };
    }),
  };
}
