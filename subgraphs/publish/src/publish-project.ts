import type { PublishRequest } from '../../../lib/contract/index.js';
import type { PublishDeps, WarningLog } from './deps.js';
import { destinationFor, type PublishedEntry } from './destinations/destination.js';

/** What publishing answers, as the contract spells it. */
export interface PublishPayload {
  destination_type: 'filestore' | 'postgresql';
  data_published: PublishedEntry[];
}

/**
 * Publishes what a project packaged: for a filestore, moves the staged files to
 * production as a BagIt bag and answers each file's SHA-512 and size.
 */
export async function publishProject(request: PublishRequest, deps: PublishDeps, log: WarningLog): Promise<PublishPayload> {
  const { destination } = request;
  const target = destinationFor(deps.destinations, destination.type);
  await target.checkReady(destination);
  const result = await target.publish({ project: request.project_name, startTime: request.project_start_time, destination });
  if (result.warnings.length > 0) log.warn({ warnings: result.warnings }, 'publish completed with warnings');
  return { destination_type: destination.type, data_published: result.data_published };
}
