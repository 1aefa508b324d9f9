import type { TransferRequest } from '../../../lib/contract/index.js';
import { resolveDataset, withConnector } from '../../../lib/connectors/index.js';
import type { PublishDeps, WarningLog } from './deps.js';
import { destinationFor, type RetrievedEntry } from './destinations/destination.js';

/** What packaging answers, as the contract spells it. */
export interface PackagePayload {
  destination_type: 'filestore' | 'postgresql';
  data_retrieved: RetrievedEntry[];
}

/**
 * Extracts the approved tables and columns — only those the source's catalog
 * confirms — from one consistent snapshot of the source, and hands them to the
 * destination, which makes nothing visible unless every table is complete.
 */
export async function packageProject(request: TransferRequest, deps: PublishDeps, log: WarningLog): Promise<PackagePayload> {
  const { destination } = request;
  const target = destinationFor(deps.destinations, destination.type);
  await target.checkReady(destination);
  const result = await withConnector(request.source, deps.secrets, deps.connectorOptions, async (connector) => {
    const dataset = await resolveDataset(connector, request.dataset);
    const snapshot = await connector.snapshot();
    try {
      return await target.package({ project: request.project_name, startTime: request.project_start_time, destination, dataset, snapshot });
    } finally {
      await snapshot.close();
    }
  });
  if (result.warnings.length > 0) log.warn({ warnings: result.warnings }, 'package completed with warnings');
  return { destination_type: destination.type, data_retrieved: result.data_retrieved };
}
