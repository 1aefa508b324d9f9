import { accessRequestSchema, parseRequest, toCamelKeys, toSnakeKeys } from '../../../lib/contract/index.js';
import type { Resolvers } from '../../../lib/graphql/subgraph.js';
import { validateProject, type PublishDeps } from './validate-project.js';

interface ProjectKey {
  projectName: string;
  projectStartTime: string;
}

/** GraphQL resolvers: thin, they parse the input with the contract schema and call the same service functions as REST. */
export function publishResolvers(deps: PublishDeps): Resolvers {
  return {
    Mutation: {
      validateProject: async (_: unknown, args: { request: unknown }) =>
        toCamelKeys(await validateProject(parseRequest(accessRequestSchema, toSnakeKeys(args.request)), deps)),
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
