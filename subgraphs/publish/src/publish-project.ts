import { tracked } from '../../../lib/audit/track.js';
import type { PublishPayload, PublishRequest } from '../../../lib/contract/index.js';
import type { CallContext } from '../../../lib/http/service.js';
import type { PublishDeps } from './deps.js';
import { destinationFor } from './destinations/registry.js';

/**
 * Publishes what a project packaged: for a filestore, moves the staged files to
 * production as a BagIt bag and answers each file's SHA-512 and size. One audit
 * event records the files and their hashes. The destination's last step
 * (`settle`: removing the filestore's staging folder) runs after the audit event
 * is written, just before the answer, so that a process stopped anywhere after
 * the bag went into place leaves a publish that a repeat answers in full.
 *
 * `stop` (the job's signal) is heeded only until the destination starts
 * publishing: up to then the call throws its reason (JOB_CANCELLED,
 * JOB_INTERRUPTED) having done nothing; from then on the publish runs to its
 * end, since a bag appears whole or not at all and a publish is never undone
 * (docs/behaviour.md, "Jobs").
 */
export async function publishProject(request: PublishRequest, deps: PublishDeps, call: CallContext, stop?: AbortSignal): Promise<PublishPayload> {
  const { destination } = request;
  const last: { settle?: () => Promise<string[]> } = {};
  const payload = await tracked(deps.obs, call, 'publish', { project: request, destination }, async () => {
    const target = destinationFor(deps.destinations, destination);
    await target.checkReady(destination);
    // The point of no return: past it, a cancellation lets the publish finish.
    stop?.throwIfAborted();
    const result = await target.publish({ project: request.project_name, startTime: request.project_start_time, requestId: call.requestId, jobId: call.jobId, destination });
    last.settle = result.settle;
    if (result.warnings.length > 0) call.log.warn({ warnings: result.warnings }, 'publish completed with warnings');
    const files = result.data_published.flatMap((e) => ('file_path' in e ? [{ path: e.file_path, bytes: e.total_bytes, sha512: e.hash_value }] : []));
    return { result: { destination_type: destination.type, data_published: result.data_published }, figures: { files } };
  });
  const warnings = last.settle ? await last.settle() : [];
  if (warnings.length > 0) call.log.warn({ warnings }, 'publish completed with warnings');
  return payload;
}
