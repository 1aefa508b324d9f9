import { accessRequestExample, publishRequestExample, transferRequestExample } from './examples.js';
import { metadataPayloadSchema, packagePayloadSchema, publishPayloadSchema, validationPayloadSchema } from './response-schemas.js';

/** The documentation of each kind of contract endpoint (summary, payload schema, example), shared by the services that serve it. */
export const endpointDocs = {
  projectValidate: {
    summary: 'Validate the source and destination (publish service), then answer the dataset metadata (metadata service).',
    response: metadataPayloadSchema,
    example: transferRequestExample,
  },
  metadata: {
    summary: 'Read the metadata of the requested tables and columns: comments and source type names, never rows.',
    response: metadataPayloadSchema,
    example: transferRequestExample,
  },
  validate: {
    summary: 'Check that the source accepts a connection and a trivial query, and that the destination is ready.',
    description: "With a dataset: its tables and columns are read from the source's catalog and kept, with their logical types, as what the validation approved; packages of the project are checked against it (docs/behaviour.md, \"Approved catalog\").",
    response: validationPayloadSchema,
    example: accessRequestExample,
  },
  package: {
    summary: "Extract the approved tables and columns from one consistent snapshot of the source into the destination's staging area.",
    description:
      "Filestore: CSV files or one DuckDB database under staging/{project}/{start_time}/data/outputs/. Nothing is staged unless every table is complete. Refused with 409 (CATALOG_DRIFT), before any row is read, when the source's tables or columns differ from what the project's validation approved.",
    response: packagePayloadSchema,
    example: transferRequestExample,
  },
  publish: {
    summary: 'Publish what the project has in staging: to production as a BagIt bag with SHA-512 manifests (filestore).',
    response: publishPayloadSchema,
    example: publishRequestExample,
  },
} as const;
