import { accessRequestSchema, parseRequest, publishRequestSchema, toCamelKeys, toSnakeKeys, transferRequestSchema } from '../../../lib/contract/index.js';
import { LongScalar } from '../../../lib/graphql/long-scalar.js';
import type { Resolvers, SubgraphContext } from '../../../lib/graphql/subgraph.js';
import { packageProject } from './package-project.js';
import { publishProject } from './publish-project.js';
import type { PublishDeps } from './deps.js';
import { validateProject } from './validate-project.js';

interface ProjectKey {
  projectName: string;
  projectStartTime: string;
}

/** GraphQL resolvers: thin, they parse the input with the contract schema and call the same service functions as REST. */
export function publishResolvers(deps: PublishDeps): Resolvers {
  return {
    Long: LongScalar,
    Mutation: {
      validateProject: async (_: unknown, args: { request: unknown }, context: SubgraphContext) =>
        toCamelKeys(await validateProject(parseRequest(accessRequestSchema, toSnakeKeys(args.request)), deps, context)),
      packageProject: async (_: unknown, args: { request: unknown }, context: SubgraphContext) =>
        toCamelKeys(await packageProject(parseRequest(transferRequestSchema, toSnakeKeys(args.request)), deps, context)),
      publishProject: async (_: unknown, args: { request: unknown }, context: SubgraphContext) =>
        toCamelKeys(await publishProject(parseRequest(publishRequestSchema, toSnakeKeys(args.request)), deps, context)),
    },
    Project: {
      __resolveReference: ({ projectName, projectStartTime }: ProjectKey) => ({
        projectName,
        projectStartTime,
        validations: toCamelKeys(deps.validations.list(projectName, projectStartTime)),
      }),
    },
  };
}
