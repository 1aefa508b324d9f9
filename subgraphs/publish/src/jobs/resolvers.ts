import {
  fromGraphQL,
  JOB_KINDS,
  JOB_STATES,
  jobPageArgsSchema,
  jobsQuerySchema,
  parseRequest,
  publishRequestSchema,
  TABLE_PROGRESS_STATES,
  toGraphQL,
  transferRequestSchema,
  type Job,
  type JobsQuery,
} from '../../../../lib/contract/index.js';
import type { JobEngine, JobPage } from '../../../../lib/jobs/engine.js';
import type { Resolvers, SubgraphContext } from '../../../../lib/graphql/subgraph.js';

/** A GraphQL enum whose values are the contract's in capitals (`RUNNING` is `running`). */
function contractEnum(values: readonly string[]): Record<string, string> {
  return Object.fromEntries(values.map((v) => [v.toUpperCase(), v]));
}

function answer(job: Job): unknown {
  return toGraphQL(job);
}

function connection(page: JobPage): unknown {
  return { nodes: page.jobs.map(answer), pageInfo: { endCursor: page.endCursor, hasNextPage: page.hasNextPage } };
}

async function listJobs(jobs: JobEngine, query: JobsQuery): Promise<unknown> {
  return connection(
    await jobs.list({
      projectName: query.project_name,
      projectStartTime: query.project_start_time,
      state: query.state ?? undefined,
      kind: query.kind ?? undefined,
      first: query.first,
      after: query.after ?? undefined,
    }),
  );
}

interface ProjectKey {
  projectName: string;
  projectStartTime: string;
}

/**
 * The job surface of the publish subgraph (issue #17): `Query.job`,
 * `Query.jobs`, `Project.jobs`, `Mutation.startPackage`, `startPublish` and
 * `cancelJob`. Thin like the other resolvers: arguments are parsed with the
 * contract's schemas (lib/contract/jobs.ts, requests.ts), then handed to the
 * job engine; its AppErrors (PROJECT_BUSY, JOB_NOT_FOUND, a bad cursor) are
 * answered as every resolver's are.
 */
export function jobResolvers(jobs: JobEngine): Resolvers {
  return {
    JobKind: contractEnum(JOB_KINDS),
    JobState: contractEnum(JOB_STATES),
    TableProgressState: contractEnum(TABLE_PROGRESS_STATES),
    Query: {
      job: async (_: unknown, args: { id: string }) => {
        const job = await jobs.get(args.id);
        return job ? answer(job) : null;
      },
      jobs: async (_: unknown, args: Record<string, unknown>) => listJobs(jobs, parseRequest(jobsQuerySchema, fromGraphQL(args))),
    },
    Mutation: {
      startPackage: async (_: unknown, args: { request: unknown }, context: SubgraphContext) => {
        const request = parseRequest(transferRequestSchema, fromGraphQL(args.request));
        return answer((await jobs.submit({ job: { kind: 'package', request }, startedBy: context.keyId, requestId: context.requestId })).job);
      },
      startPublish: async (_: unknown, args: { request: unknown }, context: SubgraphContext) => {
        const request = parseRequest(publishRequestSchema, fromGraphQL(args.request));
        return answer((await jobs.submit({ job: { kind: 'publish', request }, startedBy: context.keyId, requestId: context.requestId })).job);
      },
      cancelJob: async (_: unknown, args: { id: string }, context: SubgraphContext) => answer(await jobs.cancel(args.id, context.keyId)),
    },
    Project: {
      jobs: async (project: ProjectKey, args: Record<string, unknown>) =>
        listJobs(jobs, { project_name: project.projectName, project_start_time: project.projectStartTime, ...parseRequest(jobPageArgsSchema, fromGraphQL(args)) }),
    },
  };
}
