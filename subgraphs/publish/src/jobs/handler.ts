import type { JobHandler } from '../../../../lib/jobs/engine.js';
import type { CallContext } from '../../../../lib/http/service.js';
import type { PublishDeps } from '../deps.js';
import { packageProject } from '../package-project.js';
import { publishProject } from '../publish-project.js';

/**
 * What a publish replica does with a job it takes: the package or publish the
 * job's request asks for, as the key that started it (its audit event names
 * that key and the request that started the job). The job's signal stops a
 * package at once and a publish only before its point of no return.
 */
export function publishJobHandler(deps: PublishDeps): JobHandler {
  return async (job, context) => {
    // Its log lines carry the request id like the call's own (reqId), so a request's lines tell its whole story.
    const call: CallContext = { requestId: context.job.request_id, keyId: context.job.started_by, log: context.log.child({ reqId: context.job.request_id }) };
    return job.kind === 'package' ? await packageProject(job.request, deps, call, context.signal) : await publishProject(job.request, deps, call, context.signal);
  };
}
