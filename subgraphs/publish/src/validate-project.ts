import { describeSource, type AccessRequest } from '../../../lib/contract/index.js';
import { withConnector } from '../../../lib/connectors/index.js';
import { tracked } from '../../../lib/audit/track.js';
import { isAppError } from '../../../lib/errors.js';
import type { CallContext } from '../../../lib/http/service.js';
import type { PublishDeps } from './deps.js';
import { destinationFor } from './destinations/destination.js';

/**
 * Checks that a project can run: the destination is ready (for a filestore,
 * its staging/ and production/ folders exist), then the source accepts a
 * connection and a trivial query. The outcome is kept on the project.
 */
export function validateProject(request: AccessRequest, deps: PublishDeps, call: CallContext): Promise<{ validation_status: 'success' }> {
  const { destination, source } = request;
  const record = (outcome: string) =>
    deps.validations.add(request.project_name, request.project_start_time, {
      validated_at: new Date().toISOString(),
      source: describeSource(source),
      destination: `${destination.name} (${destination.type}, ${destination.format})`,
      outcome,
    });
  return tracked(deps.obs, call, 'validate', { project: request, source, destination }, async () => {
    try {
      await destinationFor(deps.destinations, destination.type).checkReady(destination);
      await withConnector(source, deps.secrets, deps.connectorOptions, (c) => c.ping());
    } catch (error) {
      record(isAppError(error) ? error.detail : 'internal error');
      throw error;
    }
    record('success');
    return { result: { validation_status: 'success' as const } };
  });
}
