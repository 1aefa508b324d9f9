import { describeSource, type AccessRequest, type ValidationPayload } from '../../../lib/contract/index.js';
import { withConnector } from '../../../lib/connectors/index.js';
import { tracked } from '../../../lib/audit/track.js';
import { isAppError } from '../../../lib/errors.js';
import type { CallContext } from '../../../lib/http/service.js';
import { clip } from '../../../lib/text.js';
import type { PublishDeps } from './deps.js';
import { destinationFor } from './destinations/registry.js';

/** Longest text a validation record keeps (an error detail can name many columns). */
const RECORD_MAX_TEXT = 1000;

/**
 * Checks that a project can run: the destination is ready (for a filestore,
 * its staging/ and production/ folders exist), then the source accepts a
 * connection and a trivial query. The outcome is kept on the project (its
 * texts cut to {@link RECORD_MAX_TEXT} characters).
 */
export function validateProject(request: AccessRequest, deps: PublishDeps, call: CallContext): Promise<ValidationPayload> {
  const { destination, source } = request;
  const record = async (outcome: string) =>
    await deps.validations.add(request.project_name, request.project_start_time, {
      validated_at: new Date().toISOString(),
      source: clip(describeSource(source), RECORD_MAX_TEXT),
      destination: clip(`${destination.name} (${destination.type}, ${destination.format})`, RECORD_MAX_TEXT),
      outcome: clip(outcome, RECORD_MAX_TEXT),
    });
  return tracked(deps.obs, call, 'validate', { project: request, source, destination }, async () => {
    try {
      await destinationFor(deps.destinations, destination).checkReady(destination);
      await withConnector(source, deps.secrets, deps.connectorOptions, (c) => c.ping());
    } catch (error) {
      await record(isAppError(error) ? error.detail : 'internal error');
      throw error;
    }
    await record('success');
    return { result: { validation_status: 'success' as const } };
  });
}
