/**
 * The GraphQL operations the REST shims run through the gateway. Their
 * selections are exactly the fields of the REST contract's payloads.
 */

export const VALIDATE_PROJECT = /* GraphQL */ `
  mutation ValidateProject($request: ProjectAccessRequest!) {
    validateProject(request: $request) { validationStatus }
  }
`;

export const DATASET_METADATA = /* GraphQL */ `
  query DatasetMetadata($request: MetadataRequest!) {
    datasetMetadata(request: $request) {
      name description catalog schemaName
      tables { name description columns { name description datatype } }
    }
  }
`;

export const PACKAGE_PROJECT = /* GraphQL */ `
  mutation PackageProject($request: ProjectTransferRequest!) {
    packageProject(request: $request) { destinationType dataRetrieved { filePath tableName } }
  }
`;

export const PUBLISH_PROJECT = /* GraphQL */ `
  mutation PublishProject($request: ProjectPublishRequest!) {
    publishProject(request: $request) {
      destinationType
      dataPublished { filePath hashValue totalBytes postgresqlTableName opalResourceName opalProjectName opalGroupName }
    }
  }
`;
