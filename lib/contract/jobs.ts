import { z } from 'zod';
import { packagePayloadSchema, publishPayloadSchema } from './response-schemas.js';

/**
 * Durable jobs (issue #17): a package or a publication as the platform keeps
 * and answers it (`Query.job`, `Query.jobs`, `Project.jobs`). snake_case like
 * the rest of the contract; the SDL spells it in camelCase.
 */

export const JOB_KINDS = ['package', 'publish'] as const;
export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
/** States a job never leaves. */
export const FINAL_JOB_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled']);

/** How far one table of a package has got. */
export const tableProgressSchema = z.object({
  table: z.string(),
  /** waiting (not started), running, done. */
  state: z.enum(['waiting', 'running', 'done']),
  rows: z.number().int(),
  bytes: z.number().int(),
  /** The source's estimate of the table's rows before reading it (catalog statistics); null when it has none. */
  estimated_rows: z.number().int().nullable(),
});

/** The error a failed or cancelled job ended with: the contract's error envelope fields. */
export const jobErrorSchema = z.object({
  code: z.string(),
  status: z.number().int(),
  detail: z.string(),
});

export const jobSchema = z.object({
  id: z.string(),
  kind: z.enum(JOB_KINDS),
  project_name: z.string(),
  project_start_time: z.string(),
  state: z.enum(JOB_STATES),
  /** The identifier of the API key that started it (never the key). */
  started_by: z.string(),
  /** The request that started it. */
  request_id: z.string(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  /** The publish replica running or that ran it (its pod name), null while queued. */
  replica: z.string().nullable(),
  progress: z.array(tableProgressSchema),
  /** What a succeeded package answered. */
  package_result: packagePayloadSchema.nullable(),
  /** What a succeeded publication answered. */
  publish_result: publishPayloadSchema.nullable(),
  error: jobErrorSchema.nullable(),
});

export type JobKind = (typeof JOB_KINDS)[number];
export type JobState = (typeof JOB_STATES)[number];
export type TableProgress = z.output<typeof tableProgressSchema>;
export type JobError = z.output<typeof jobErrorSchema>;
export type Job = z.output<typeof jobSchema>;
