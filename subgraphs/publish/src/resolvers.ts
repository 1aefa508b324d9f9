import { accessRequestSchema, parseRequest, publishRequestSchema, toGraphQL, fromGraphQL, transferRequestSchema } from '../../../lib/contract/index.js';
import { LongScalar } from '../../../lib/graphql/long-scalar.js';
import type { Resolvers, SubgraphContext } from '../../../lib/graphql/subgraph.js';
import { packageAndWait, publishAndWait } from './jobs/sync.js';
import type { PublishDeps } from './deps.js';
import { jobResolvers } from './jobs/resolvers.js';
import { validateProject } from './validate-project.js';

interface ProjectKey {
  projectName: string;
  projectStartTime: string;
}

/** A result's warnings; a job's result recorded before results carried them answers none. */
const answeredWarnings = (result: { warnings?: string[] }): string[] => result.warnings ?? [];

/** GraphQL resolvers: thin, they parse the input with the contract schema and call the same service functions as REST (package and publish: as jobs, waited for). */
export function publishResolvers(deps: PublishDeps): Resolvers {
  const jobs = jobResolvers(deps.jobs);
  return {
    ...jobs,
    Long: LongScalar,
    Mutation: {
      ...jobs.Mutation,
      validateProject: async (_: unknown, args: { request: unknown }, context: SubgraphContext) =>
        toGraphQL(await validateProject(parseRequest(accessRequestSchema, fromGraphQL(args.request)), deps, context)),
      packageProject: async (_: unknown, args: { request: unknown }, context: SubgraphContext) =>
        toGraphQL(await packageAndWait(parseRequest(transferRequestSchema, fromGraphQL(args.request)), deps, context)),
      publishProject: async (_: unknown, args: { request: unknown }, context: SubgraphContext) =>
        toGraphQL(await publishAndWait(parseRequest(publishRequestSchema, fromGraphQL(args.request)), deps, context)),
    },
    PackageResult: { warnings: answeredWarnings },
    PublishResult: { warnings: answeredWarnings },
    Project: {
      ...jobs.Project,
      __resolveReference: async ({ projectName, projectStartTime }: ProjectKey) => ({
        projectName,
        projectStartTime,
        validations: toGraphQL(await deps.validations.list(projectName, projectStartTime)),
      }),
    },
  };
}
