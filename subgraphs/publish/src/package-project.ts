import { tracked } from '../../../lib/audit/track.js';
import type { TransferRequest } from '../../../lib/contract/index.js';
import { resolveDataset, withConnector } from '../../../lib/connectors/index.js';
import type { CallContext } from '../../../lib/http/service.js';
import type { PublishDeps } from './deps.js';
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
 * One audit event records the tables, columns, rows, bytes and files.
 */
export function packageProject(request: TransferRequest, deps: PublishDeps, call: CallContext): Promise<PackagePayload> {
  const { destination, source } = request;
  return tracked(deps.obs, call, 'package', { project: request, source, dataset: request.dataset, destination }, async () => {
    const target = destinationFor(deps.destinations, destination.type);
    await target.checkReady(destination);
    return withConnector(source, deps.secrets, deps.connectorOptions, async (connector) => {
      const dataset = await resolveDataset(connector, request.dataset, { forExtraction: true });
      const snapshot = await connector.snapshot();
      try {
        const result = await target.package({ project: request.project_name, startTime: request.project_start_time, destination, dataset, snapshot });
        if (result.warnings.length > 0) call.log.warn({ warnings: result.warnings }, 'package completed with warnings');
        const files = result.files ?? [];
        const tables = dataset.tables.map((t) => {
          const own = files.filter((f) => f.table === t.name);
          return { name: t.name, rows: snapshot.rowsRead(dataset.schema, t.name), bytes: own.length > 0 ? own.reduce((n, f) => n + f.bytes, 0) : null };
        });
        const labels = { source_type: source.type, destination_type: destination.type };
        deps.obs.metrics.rowsExtracted.inc(labels, tables.reduce((n, t) => n + (t.rows ?? 0), 0));
        deps.obs.metrics.bytesExtracted.inc(labels, files.reduce((n, f) => n + f.bytes, 0));
        return {
          result: { destination_type: destination.type, data_retrieved: result.data_retrieved },
          figures: {
            dataset: { schema: dataset.schema, tables: dataset.tables.map((t) => ({ name: t.name, columns: t.columns.map((c) => c.name) })) },
            tables,
            files: files.map(({ path, bytes, sha512 }) => ({ path, bytes, sha512 })),
          },
        };
      } finally {
        await snapshot.close();
      }
    });
  });
}
