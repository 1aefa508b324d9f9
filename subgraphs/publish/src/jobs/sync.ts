import type { PackageResult, PublishResult, PublishRequest, TransferRequest } from '../../../../lib/contract/index.js';
import type { Job } from '../../../../lib/contract/jobs.js';
import { AppError, errorTable, type ErrorCode } from '../../../../lib/errors.js';
import type { CallContext } from '../../../../lib/http/service.js';
import { tracked } from '../../../../lib/audit/track.js';
import type { JobRequest } from '../../../../lib/jobs/engine.js';
import type { PublishDeps } from '../deps.js';
import { settlePublish } from '../publish-project.js';

/**
 * The synchronous contract on top of jobs: `/data-publish/package` and
 * `/data-publish/publish`, and the `packageProject` / `publishProject`
 * mutations (the gateway's REST shims call them), start a job as the calling
 * key and request, and wait for it. They answer what the call answered before
 * jobs: the payload, or the job's error as the same AppError (code, status,
 * detail), so the envelope and the GraphQL error are unchanged.
 *
 * The same call again for the same project and start time while the job runs
 * (a retry after a network blip) attaches to it and gets its answer; any other
 * is refused PROJECT_BUSY naming the job. A caller that disconnects stops
 * waiting; the job goes on (docs/behaviour.md, "Jobs"). A publish's last step
 * (removing its receipt) runs only once its answer has reached the caller.
 */
export async function packageAndWait(request: TransferRequest, deps: PublishDeps, call: CallContext): Promise<PackageResult> {
  const job = await submitAndWait({ kind: 'package', request }, deps, call);
  return job.package_result!;
}

/** {@link packageAndWait} for a publication. */
export async function publishAndWait(request: PublishRequest, deps: PublishDeps, call: CallContext): Promise<PublishResult> {
  const job = await submitAndWait({ kind: 'publish', request }, deps, call);
  // The publish's last step once this answer has reached the caller (outside HTTP: at once); a
  // caller gone before it leaves it undone, so that its repeat answers the bag.
  settlePublish(request, deps, call, call.answered ?? Promise.resolve(true));
  return job.publish_result!;
}

async function submitAndWait(request: JobRequest, deps: PublishDeps, call: CallContext): Promise<Job> {
  let submitted: Awaited<ReturnType<typeof deps.jobs.submit>>;
  try {
    submitted = await deps.jobs.submit({ job: request, startedBy: call.keyId, requestId: call.requestId, callerWaits: true });
  } catch (error) {
    // Refused before any job (PROJECT_BUSY, SHUTTING_DOWN): audited, logged and counted as the
    // package or publish it refused, as when the destination's lock refused it.
    const r = request.request;
    const subject = 'source' in r ? { project: r, source: r.source, dataset: r.dataset, destination: r.destination } : { project: r, destination: r.destination };
    return await tracked(deps.obs, call, request.kind, subject, () => Promise.reject(error));
  }
  const { job, attached } = submitted;
  if (attached) call.log.info({ job_id: job.id, job_request_id: job.request_id }, 'the same call is running as a job: waiting for its answer');
  const final = await deps.jobs.wait(job.id, call.disconnected);
  if (final.state === 'succeeded') return final;
  throw jobFailure(final);
}

/**
 * The error a failed or cancelled job answers its waiting callers: its
 * envelope as an AppError. An internal error stays one (not an AppError), so
 * that it is masked and answered exactly as before.
 */
export function jobFailure(job: Job): Error {
  const error = job.error;
  if (!error || error.code === 'INTERNAL' || !Object.hasOwn(errorTable, error.code)) {
    return new Error(`the ${job.kind} job ${job.id} ended ${job.state} with an internal error (see its own log lines)`);
  }
  return new AppError(error.code as ErrorCode, error.detail, { status: error.status });
}
