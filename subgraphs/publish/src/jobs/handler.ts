import type { JobHooks, JobHandler } from '../../../../lib/jobs/engine.js';
import type { Logger } from '../../../../lib/logging/logger.js';
import type { Destinations } from '../destinations/destination.js';
import type { CallContext } from '../../../../lib/http/service.js';
import type { PublishDeps } from '../deps.js';
import { packageProject } from '../package-project.js';
import { publishProject, settlePublish } from '../publish-project.js';

/**
 * What a publish replica does with a job it takes: the package or publish the
 * job's request asks for, as the key that started it (its audit event names
 * that key and the request that started the job). Cancelling the job stops a
 * running package (its source connections closed, its staging cleaned) and a
 * publish only before its point of no return; a package reports its progress,
 * table by table, to the job's tracker. A succeeded publish's last step
 * (settlePublish) is the waiting caller's (sync.ts), or follows the job's
 * recorded end when nobody waits.
 */
export function publishJobHandler(deps: PublishDeps): JobHandler {
  return async (job, context) => {
    // Its log lines carry the request id like the call's own (reqId), so a request's lines tell its whole story.
    const call: CallContext = { requestId: context.job.request_id, keyId: context.job.started_by, log: context.log.child({ reqId: context.job.request_id }), jobId: context.job.id };
    // A publish's last step may still be under way here for this project, after its answer: it goes first.
    await deps.settlements.idle(job.request.project_name, job.request.project_start_time);
    if (job.kind === 'package') return await packageProject(job.request, deps, call, { cancel: context.signal, progress: context.progress });
    const payload = await publishProject(job.request, deps, call, context.signal);
    // Nobody waits for the answer (startPublish): the recorded job is it, so the last step follows the record.
    if (!context.callerWaits) settlePublish(job.request, deps, call, context.recorded.then(() => true));
    return payload;
  };
}

/**
 * When a job was declared abandoned (its replica died mid-job): its
 * destination frees the project lock that job held and removes its unfinished
 * work, so that the next call starts afresh at once (destination.ts, releaseAbandoned).
 */
export function releaseAbandoned(destinations: Destinations, log: Logger): NonNullable<JobHooks['onAbandoned']> {
  return async (job, { request }) => {
    const target = destinations[request.destination.type];
    if (!target?.releaseAbandoned) return;
    const done = await target.releaseAbandoned({ kind: job.kind, jobId: job.id, project: request.project_name, startTime: request.project_start_time, destination: request.destination });
    if (done.length) log.info({ job: job.id, kind: job.kind, done }, 'jobs: freed what an abandoned job held');
  };
}
