import { clip } from '../text.js';
import type { Job } from '../contract/jobs.js';
import { AppError, appError } from '../errors.js';

/** PROJECT_BUSY for a submission that found `holder` queued or running for its project (both engines answer it). */
export function projectBusy(holder: Job): AppError {
  return new AppError(
    'PROJECT_BUSY',
    `Project '${holder.project_name}' (start time ${holder.project_start_time}) is busy: its ${holder.kind} job ${holder.id} is ${holder.state}. ` +
      'Wait for it to finish (Query.job) or cancel it (Mutation.cancelJob), then send the call again.',
  );
}

/** The error a job cancelled by key `by` ends with. */
export function jobCancelled(job: Job, by: string): AppError {
  return appError('JOB_CANCELLED', { kind: job.kind, id: job.id, project: job.project_name, startTime: job.project_start_time, by });
}

/** The error a job ends with when the replica running it stopped before it finished. */
export function jobInterrupted(job: Job, why: string): AppError {
  return appError('JOB_INTERRUPTED', { kind: job.kind, id: job.id, why });
}

/** NOT_FOUND-like answer for an id no job has. */
export function jobNotFound(id: string): AppError {
  return appError('JOB_NOT_FOUND', { id: clip(id, 101) });
}
