import type { TransferRequest } from '../../../lib/contract/index.js';
import { resolveDataset, withConnector } from '../../../lib/connectors/index.js';
import { AppError } from '../../../lib/errors.js';
import { packageToStaging } from './destinations/filestore/index.js';
import type { PublishDeps } from './validate-project.js';

/** What packaging answers, as the contract spells it. */
export interface PackagePayload {
  destination_type: 'filestore' | 'postgresql';
  data_retrieved: Array<{ file_path?: string; table_name?: string }>;
}

/**
 * Extracts the approved tables and columns — only those the source's catalog
 * confirms — from one consistent snapshot of the source, and packages them in
 * the destination's staging area. Nothing is left in staging unless every
 * table was written completely.
 */
export async function packageProject(request: TransferRequest, deps: PublishDeps, log: { warn: (o: object, m: string) => void }): Promise<PackagePayload> {
  const { destination } = request;
  if (destination.type !== 'filestore') {
    throw new AppError('DESTINATION_NOT_CONFIGURED', `Destination type '${destination.type}' is not supported by this release; supported: filestore.`);
  }
  const mountRoot = deps.mounts.root(destination.name);
  await deps.mounts.checkReady(destination.name);
  const result = await withConnector(request.source, deps.secrets, deps.connectorOptions, async (connector) => {
    const dataset = await resolveDataset(connector, request.dataset);
    const snapshot = await connector.snapshot();
    try {
      return await packageToStaging({
        mountRoot,
        project: request.project_name,
        startTime: request.project_start_time,
        format: destination.format,
        schemaName: dataset.schema,
        settings: deps.filestore,
        tables: dataset.tables.map((table) => ({
          name: table.name,
          columns: table.columns,
          primaryKey: table.primaryKey,
          csv: () => snapshot.csv(dataset.schema, table.name, table.columns),
        })),
      });
    } finally {
      await snapshot.close();
    }
  });
  if (result.warnings.length > 0) log.warn({ warnings: result.warnings }, 'package completed with warnings');
  return { destination_type: 'filestore', data_retrieved: result.files.map((f) => ({ file_path: f.file_path })) };
}
