import { graphqlSelection, metadataPayloadSchema, packagePayloadSchema, publishPayloadSchema, validationPayloadSchema } from '../../../lib/contract/index.js';

/**
 * The GraphQL operations the REST shims run through the gateway. Their
 * selections are derived from the REST contract's payload schemas, so they ask
 * for exactly the payloads' fields. The operation names are counted by name in
 * the metrics (lib/graphql/operation-names.ts).
 */

export const VALIDATE_PROJECT = /* GraphQL */ `
  mutation ValidateProject($request: ProjectAccessRequest!) {
    validateProject(request: $request) ${graphqlSelection(validationPayloadSchema)}
  }
`;

export const DATASET_METADATA = /* GraphQL */ `
  query DatasetMetadata($request: MetadataRequest!) {
    datasetMetadata(request: $request) ${graphqlSelection(metadataPayloadSchema)}
  }
`;

export const PACKAGE_PROJECT = /* GraphQL */ `
  mutation PackageProject($request: ProjectTransferRequest!) {
    packageProject(request: $request) ${graphqlSelection(packagePayloadSchema)}
  }
`;

export const PUBLISH_PROJECT = /* GraphQL */ `
  mutation PublishProject($request: ProjectPublishRequest!) {
    publishProject(request: $request) ${graphqlSelection(publishPayloadSchema)}
  }
`;
