/** Durable jobs: the engine a service runs its packages and publications on (lib/jobs/engine.ts has the contract). */
import type { Logger } from '../logging/logger.js';
import type { PlatformStore } from '../store/index.js';
import type { JobEngine } from './engine.js';
import { MemoryJobEngine } from './memory.js';
import { createPostgresJobEngine } from './postgres/index.js';

export type { JobEngine, JobHooks, JobHandler, JobContext, JobRequest, JobSubmission, Submitted, JobPage, JobQuery } from './engine.js';

/**
 * The job engine for a service: in the platform database when it has one
 * (durable, shared by every replica, pg-boss as the queue), else in the
 * service's memory (the replica that accepts a job runs it; lost on restart).
 */
export async function openJobEngine(options: { store: PlatformStore | undefined; log: Logger; replica: string }): Promise<JobEngine> {
  const { store, log, replica } = options;
  return store ? await createPostgresJobEngine({ store, log, replica }) : new MemoryJobEngine({ log, replica });
}
