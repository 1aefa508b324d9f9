import { describeSource, type AccessRequest, type ValidationPayload } from '../../../lib/contract/index.js';
import { withConnector } from '../../../lib/connectors/index.js';
import { tracked } from '../../../lib/audit/track.js';
import { isAppError } from '../../../lib/errors.js';
import type { CallContext } from '../../../lib/http/service.js';
import { clip } from '../../../lib/text.js';
import { summariseApproval, type Approval } from './approvals/approval.js';
import { keepApproval, readApproval } from './approvals/guard.js';
import type { PublishDeps } from './deps.js';
import { destinationFor } from './destinations/registry.js';

/** Longest text a validation record keeps (an error detail can name many columns). */
const RECORD_MAX_TEXT = 1000;

/**
 * Checks that a project can run: the destination is ready (for a filestore,
 * its staging/ and production/ folders exist), then the source accepts a
 * connection and a trivial query. When the request names a dataset, its tables
 * and columns are read from the source's catalog (one catalog read; a missing
 * table or column fails the validation as it fails a metadata read) and kept
 * as what the validation approved, with their logical types: packages of the
 * project are checked against it (approvals/guard.ts). The outcome is kept on
 * the project (its texts cut to {@link RECORD_MAX_TEXT} characters), with the
 * approval's counts and fingerprint.
 */
export function validateProject(request: AccessRequest, deps: PublishDeps, call: CallContext): Promise<ValidationPayload> {
  const { destination, source } = request;
  const record = async (outcome: string, approval: Approval | null = null) =>
    await deps.validations.add(request.project_name, request.project_start_time, {
      validated_at: approval?.validatedAt ?? new Date().toISOString(),
      source: clip(describeSource(source), RECORD_MAX_TEXT),
      destination: clip(`${destination.name} (${destination.type}, ${destination.format})`, RECORD_MAX_TEXT),
      outcome: clip(outcome, RECORD_MAX_TEXT),
      approval: approval ? summariseApproval(approval) : null,
    });
  return tracked(deps.obs, call, 'validate', { project: request, source, dataset: request.dataset, destination }, async () => {
    let approval: Approval | null;
    try {
      await destinationFor(deps.destinations, destination).checkReady(destination);
      approval = await withConnector(source, deps.secrets, deps.connectorOptions, async (c) => {
        await c.ping();
        return request.dataset ? await readApproval(c, request.dataset) : null;
      });
    } catch (error) {
      await record(isAppError(error) ? error.detail : 'internal error');
      throw error;
    }
    if (approval) await keepApproval(deps.approvals, request, approval, call.log);
    await record('success', approval);
    const figures = approval ? { dataset: { schema: approval.schema, tables: approval.tables.map((t) => ({ name: t.name, columns: t.columns.map((c) => c.name) })) } } : undefined;
    return { result: { validation_status: 'success' as const }, figures };
  });
}
