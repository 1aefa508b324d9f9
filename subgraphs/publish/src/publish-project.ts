import type { PublishRequest } from '../../../lib/contract/index.js';
import { AppError } from '../../../lib/errors.js';
import { publishToProduction } from './destinations/filestore/index.js';
import type { PublishDeps } from './validate-project.js';

/** What publishing answers, as the contract spells it. */
export interface PublishPayload {
  destination_type: 'filestore' | 'postgresql';
  data_published: Array<{ file_path: string; hash_value: string; total_bytes: number }>;
}

/**
 * Moves a project's staged package to production as a BagIt bag, hashing every
 * byte once with SHA-512, and answers each file's path, hash and size.
 */
export async function publishProject(request: PublishRequest, deps: PublishDeps, log: { warn: (o: object, m: string) => void }): Promise<PublishPayload> {
  const { destination } = request;
  if (destination.type !== 'filestore') {
    throw new AppError('DESTINATION_NOT_CONFIGURED', `Destination type '${destination.type}' is not supported by this release; supported: filestore.`);
  }
  const mountRoot = deps.mounts.root(destination.name);
  await deps.mounts.checkReady(destination.name);
  const result = await publishToProduction({
    mountRoot,
    project: request.project_name,
    startTime: request.project_start_time,
    bagInfo: deps.filestore.bagInfo,
  });
  if (result.warnings.length > 0) log.warn({ warnings: result.warnings }, 'publish completed with warnings');
  return { destination_type: 'filestore', data_published: result.data_published };
}
