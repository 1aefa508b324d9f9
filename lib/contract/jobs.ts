import { z } from 'zod';
import { publishRequestSchema } from './requests.js';
import { longSchema, packageResultSchema, publishResultSchema } from './response-schemas.js';
import { graphqlScalars } from './shape.js';

/**
 * Durable jobs (issue #17): a package or a publication as the platform keeps
 * and answers it (`Query.job`, `Query.jobs`, `Project.jobs`). snake_case like
 * the rest of the contract; the SDL spells it in camelCase.
 */

export const JOB_KINDS = ['package', 'publish'] as const;
export const JOB_STATES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export const TABLE_PROGRESS_STATES = ['waiting', 'running', 'done'] as const;
/** Most jobs one page answers (`first`), and how many when the caller does not say. */
export const MAX_JOBS_PAGE = 100;
export const DEFAULT_JOBS_PAGE = 20;
/** States a job never leaves. */
export const FINAL_JOB_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled']);

/** How far one table of a package has got. */
export const tableProgressSchema = z.object({
  table: z.string(),
  /** waiting (not started), running, done. */
  state: z.enum(TABLE_PROGRESS_STATES),
  rows: longSchema,
  bytes: longSchema,
  /** The source's estimate of the table's rows before reading it (catalog statistics); null when it has none. */
  estimated_rows: longSchema.nullable(),
});

/** The error a failed or cancelled job ended with: the contract's error envelope fields. */
export const jobErrorSchema = z.object({
  code: z.string(),
  status: z.number().int(),
  detail: z.string(),
});

export const jobSchema = z.object({
  /** GraphQL's `ID`. */
  id: z.string().register(graphqlScalars, { scalar: 'ID' }),
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
  /** What a succeeded package answered, with its warnings. */
  package_result: packageResultSchema.nullable(),
  /** What a succeeded publication answered, with its warnings. */
  publish_result: publishResultSchema.nullable(),
  error: jobErrorSchema.nullable(),
});

/** A page of a project's jobs, newest first (GraphQL `JobConnection`). */
export const jobConnectionSchema = z.object({
  nodes: z.array(jobSchema),
  page_info: z.object({
    /** Pass as `after` for the next page; null when the page is empty. */
    end_cursor: z.string().nullable(),
    has_next_page: z.boolean(),
  }),
});

/** Which page of jobs to answer: `Project.jobs`'s arguments (the project is the entity's). */
export const jobPageArgsSchema = z.object({
  state: z.enum(JOB_STATES).nullish(),
  kind: z.enum(JOB_KINDS).nullish(),
  first: z
    .number()
    .int()
    .min(1, `must be 1 to ${MAX_JOBS_PAGE}`)
    .max(MAX_JOBS_PAGE, `must be 1 to ${MAX_JOBS_PAGE}`)
    .default(DEFAULT_JOBS_PAGE),
  after: z.string().max(500, 'is not a cursor a page of jobs answered').nullish(),
});

/** `Query.jobs`'s arguments: a project (name and start time, checked as in every request) and the page. */
export const jobsQuerySchema = publishRequestSchema.pick({ project_name: true, project_start_time: true }).extend(jobPageArgsSchema.shape);

export type JobsQuery = z.output<typeof jobsQuerySchema>;
export type JobKind = (typeof JOB_KINDS)[number];
export type JobState = (typeof JOB_STATES)[number];
export type TableProgress = z.output<typeof tableProgressSchema>;
export type JobError = z.output<typeof jobErrorSchema>;
export type Job = z.output<typeof jobSchema>;
