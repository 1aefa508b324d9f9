import { tracked } from '../../../lib/audit/track.js';
import type { PublishResult, PublishRequest } from '../../../lib/contract/index.js';
import type { CallContext } from '../../../lib/http/service.js';
import type { PublishDeps } from './deps.js';
import { destinationFor } from './destinations/registry.js';

/**
 * Publishes what a project packaged: for a filestore, moves the staged files to
 * production as a BagIt bag and answers each file's SHA-512 and size. One audit
 * event records the files and their hashes. The destination's last step
 * ({@link settlePublish}: removing the filestore's staging folder) is not run
 * here: it follows the answer (jobs/sync.ts) or, for a job nobody waits on,
 * the job's recorded end (jobs/handler.ts), so that a process stopped anywhere
 * after the bag went into place and before its caller heard leaves a publish
 * that a repeat answers in full.
 *
 * `stop` (the job's signal) is heeded only until the destination starts
 * publishing: up to then the call throws its reason (JOB_CANCELLED,
 * JOB_INTERRUPTED) having done nothing; from then on the publish runs to its
 * end, since a bag appears whole or not at all and a publish is never undone
 * (docs/behaviour.md, "Jobs").
 */
export async function publishProject(request: PublishRequest, deps: PublishDeps, call: CallContext, stop?: AbortSignal): Promise<PublishResult> {
  const { destination } = request;
  return await tracked(deps.obs, call, 'publish', { project: request, destination }, async () => {
    const target = destinationFor(deps.destinations, destination);
    await target.checkReady(destination);
    // The point of no return: past it, a cancellation lets the publish finish.
    stop?.throwIfAborted();
    const result = await target.publish({ project: request.project_name, startTime: request.project_start_time, requestId: call.requestId, jobId: call.jobId, destination });
    const files = result.data_published.flatMap((e) => ('file_path' in e ? [{ path: e.file_path, bytes: e.total_bytes, sha512: e.hash_value }] : []));
    return { result: { destination_type: destination.type, data_published: result.data_published, warnings: result.warnings }, figures: { files, warnings: result.warnings } };
  });
}

/**
 * Schedules a succeeded publish's last step (its destination's `settle`) on
 * this replica, to run once `after` resolves true: the answer reached the
 * caller, or the job's end is recorded. False (the caller left before the
 * answer): nothing is settled, so the caller's repeat answers the bag.
 */
export function settlePublish(request: PublishRequest, deps: PublishDeps, call: CallContext, after: Promise<boolean>): void {
  const target = deps.destinations[request.destination.type];
  if (!target?.settle) return;
  const key = { project: request.project_name, startTime: request.project_start_time, requestId: call.requestId, jobId: call.jobId, destination: request.destination };
  deps.settlements.add(key.project, key.startTime, after, async () => {
    const warnings = await target.settle!(key);
    if (warnings.length > 0) call.log.warn({ warnings }, 'publish completed with warnings');
  });
}
