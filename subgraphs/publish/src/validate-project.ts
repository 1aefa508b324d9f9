import { describeSource, type AccessRequest } from '../../../lib/contract/index.js';
import { withConnector, type ConnectorOptions } from '../../../lib/connectors/index.js';
import { AppError, isAppError } from '../../../lib/errors.js';
import type { ProjectLog } from '../../../lib/project-log.js';
import type { SecretProvider } from '../../../lib/secrets/index.js';
import type { FilestoreSettings } from './destinations/filestore/index.js';
import type { StorageMounts } from './destinations/filestore/mounts.js';

export interface ValidationRecord {
  validated_at: string;
  source: string;
  destination: string;
  outcome: string;
}

export interface PublishDeps {
  secrets: SecretProvider;
  connectorOptions: ConnectorOptions;
  mounts: StorageMounts;
  /** Writer and bag settings (DATA_WRITER__*, DLTHUB_PIPELINE_WORKING_DIR, BAGIT_*). */
  filestore: FilestoreSettings;
  validations: ProjectLog<ValidationRecord>;
}

/**
 * Checks that a project can run: the destination is ready (for a filestore,
 * its staging/ and production/ folders exist), then the source accepts a
 * connection and a trivial query. The outcome is kept on the project.
 */
export async function validateProject(request: AccessRequest, deps: PublishDeps): Promise<{ validation_status: 'success' }> {
  const { destination } = request;
  const record = (outcome: string) =>
    deps.validations.add(request.project_name, request.project_start_time, {
      validated_at: new Date().toISOString(),
      source: describeSource(request.source),
      destination: `${destination.name} (${destination.type}, ${destination.format})`,
      outcome,
    });
  try {
    if (destination.type === 'filestore') await deps.mounts.checkReady(destination.name);
    else throw new AppError('DESTINATION_NOT_CONFIGURED', `Destination type '${destination.type}' is not supported by this release; supported: filestore.`);
    await withConnector(request.source, deps.secrets, deps.connectorOptions, (c) => c.ping());
  } catch (error) {
    record(isAppError(error) ? error.detail : 'internal error');
    throw error;
  }
  record('success');
  return { validation_status: 'success' };
}
