import { metadataRequestSchema, parseRequest, toGraphQL, fromGraphQL } from '../../../lib/contract/index.js';
import type { Resolvers, SubgraphContext } from '../../../lib/graphql/subgraph.js';
import { describeDataset, type MetadataDeps } from './describe-dataset.js';

interface ProjectKey {
  projectName: string;
  projectStartTime: string;
}

/** GraphQL resolvers: thin, they parse the input with the contract schema and call the same service function as REST. */
export function metadataResolvers(deps: MetadataDeps): Resolvers {
  const project = async ({ projectName, projectStartTime }: ProjectKey) => ({
    projectName,
    projectStartTime,
    metadataReports: toGraphQL(await deps.reports.list(projectName, projectStartTime)),
  });
  return {
    Query: {
      datasetMetadata: async (_: unknown, args: { request: unknown }, context: SubgraphContext) =>
        toGraphQL(await describeDataset(parseRequest(metadataRequestSchema, fromGraphQL(args.request)), deps, context)),
      project: (_: unknown, args: ProjectKey) => project(args),
    },
    Project: {
      __resolveReference: (ref: ProjectKey) => project(ref),
    },
  };
}
