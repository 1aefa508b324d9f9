import { tracked } from '../../../lib/audit/track.js';
import type { PackageResult, TransferRequest } from '../../../lib/contract/index.js';
import { snapshotConsistency, withConnector } from '../../../lib/connectors/index.js';
import type { CallContext } from '../../../lib/http/service.js';
import type { PackageProgress } from '../../../lib/jobs/progress.js';
import { withDeadline } from './deadline.js';
import { resolveApprovedDataset } from './approvals/guard.js';
import type { PublishDeps } from './deps.js';
import { destinationFor } from './destinations/registry.js';

/**
 * Extracts the approved tables and columns — only those the source's catalog
 * confirms — from one consistent snapshot of the source, and hands them to the
 * destination, which makes nothing visible unless every table is complete.
 * One audit event records the tables, columns, rows, bytes and files.
 *
 * The whole package must finish within PACKAGE_DEADLINE_MS: past it, the
 * source connections are closed, which fails the extraction; the destination
 * removes what it had written, and the call answers DEADLINE_EXCEEDED (504).
 * A caller that disconnects does not stop a package (see docs/behaviour.md, "Timeouts");
 * `run.cancel` does (a job's cancellation, Mutation.cancelJob): the package stops as past
 * its deadline, and fails with `cancel`'s reason (JOB_CANCELLED; JOB_INTERRUPTED when the
 * replica stops past its jobs' grace). `run.progress`, when
 * given, is told how far each table has got (destinations/progress.ts).
 */
export function packageProject(
  request: TransferRequest,
  deps: PublishDeps,
  call: CallContext,
  run: { cancel?: AbortSignal | undefined; progress?: PackageProgress | undefined } = {},
): Promise<PackageResult> {
  const { cancel, progress } = run;
  const { destination, source } = request;
  return tracked(deps.obs, call, 'package', { project: request, source, dataset: request.dataset, destination }, async () => {
    const target = destinationFor(deps.destinations, destination);
    await target.checkReady(destination);
    const deadline = (ms: number) =>
      `The package of project '${request.project_name}' (start time ${request.project_start_time}) did not finish within ${ms} ms (PACKAGE_DEADLINE_MS); it was stopped and nothing of it was kept.`;
    return withDeadline(deps.packageDeadlineMs, deadline, (signal) => withConnector(source, deps.secrets, deps.connectorOptions, async (connector) => {
      // Closing the connector ends its snapshots: every read in flight fails.
      const stop = () => void connector.close();
      signal.addEventListener('abort', stop, { once: true });
      // The catalog, checked against what the project's validation approved (approvals/guard.ts).
      const dataset = await resolveApprovedDataset(connector, request, deps.approvals, call.log);
      signal.throwIfAborted();
      const snapshot = await connector.snapshot();
      try {
        signal.throwIfAborted();
        const result = await target.package({ project: request.project_name, startTime: request.project_start_time, requestId: call.requestId, jobId: call.jobId, destination, dataset, snapshot, progress });
        // What consistency the source gave (SQL Server and Databricks say; see their snapshots).
        const consistency = snapshotConsistency(snapshot);
        if (consistency) call.log[consistency.caveat ? 'warn' : 'info']({ consistency: consistency.consistency }, 'source snapshot consistency');
        const files = result.files ?? [];
        const tables = dataset.tables.map((t) => {
          const own = files.filter((f) => f.table === t.name);
          return { name: t.name, rows: snapshot.rowsRead(dataset.schema, t.name), bytes: own.length > 0 ? own.reduce((n, f) => n + f.bytes, 0) : null };
        });
        const labels = { source_type: source.type, destination_type: destination.type };
        deps.obs.metrics.rowsExtracted.inc(labels, tables.reduce((n, t) => n + (t.rows ?? 0), 0));
        deps.obs.metrics.bytesExtracted.inc(labels, files.reduce((n, f) => n + f.bytes, 0));
        return {
          result: { destination_type: destination.type, data_retrieved: result.data_retrieved, warnings: result.warnings },
          figures: {
            dataset: { schema: dataset.schema, tables: dataset.tables.map((t) => ({ name: t.name, columns: t.columns.map((c) => c.name) })) },
            tables,
            files: files.map(({ path, bytes, sha512 }) => ({ path, bytes, sha512 })),
            warnings: result.warnings,
          },
        };
      } finally {
        signal.removeEventListener('abort', stop);
        await snapshot.close();
      }
    }), cancel);
  });
}
