import { z } from 'zod';
import { DESTINATION_TYPES } from './destination.js';
import { graphqlScalars } from './shape.js';

/**
 * The response payloads as schemas, the one definition of their shapes: the
 * TypeScript types below are inferred from them, they document the API
 * (OpenAPI), the REST routes answer through them (lib/contract/codec.ts), a
 * test checks them against the GraphQL SDL, and tests check real answers
 * against them.
 */

/** A whole number that may exceed 32 bits; GraphQL's `Long` (lib/graphql/long-scalar.ts). */
export const longSchema = z.number().int().nonnegative().register(graphqlScalars, { scalar: 'Long' });

const contractColumn = z.object({
  name: z.string(),
  description: z.string().nullable().describe('The column comment.'),
  datatype: z.string().describe("The source's own type name, e.g. numeric(12,2)."),
});

/** A column as the metadata service reads it: the contract's column and whether it accepts NULL (GraphQL only). */
export const reportedColumnSchema = contractColumn.extend({ nullable: z.boolean().describe('Whether the column accepts NULL.') });

function datasetMetadata<C extends z.ZodType>(column: C) {
  return z.object({
    name: z.string().nullable().describe("The dataset's name from the request."),
    description: z.string().nullable().describe("The dataset's description from the request."),
    catalog: z.string().describe('The source database (SQL) or Unity Catalog catalog (Databricks).'),
    schema_name: z.string().describe('The schema the tables belong to.'),
    tables: z.array(
      z.object({
        name: z.string(),
        description: z.string().nullable().describe('The table comment.'),
        columns: z.array(column),
      }),
    ),
  });
}

/** The metadata payload of the REST contract. */
export const metadataPayloadSchema = datasetMetadata(contractColumn).describe('Dataset metadata: tables and columns, never rows.');

/** Dataset metadata as the metadata service reports it (GraphQL `DatasetMetadata`): the REST payload plus each column's nullability. */
export const datasetMetadataSchema = datasetMetadata(reportedColumnSchema);

export const validationPayloadSchema = z.object({ validation_status: z.literal('success') });

const retrievedEntrySchema = z.union([
  z.object({ file_path: z.string().describe('Staged file, relative to {project}/{start_time}/, e.g. data/outputs/person.csv.') }),
  z.object({ table_name: z.string().describe('Loaded table, <schema>.<table>.') }),
]);

export const packagePayloadSchema = z.object({
  destination_type: z.enum(DESTINATION_TYPES),
  data_retrieved: z.array(retrievedEntrySchema),
});

const publishedFileSchema = z.object({
  file_path: z.string(),
  hash_value: z.string().regex(/^[0-9a-f]{128}$/).describe('SHA-512 of the file, lowercase hex.'),
  total_bytes: longSchema,
});

const publishedTableSchema = z.object({
  postgresql_table_name: z.string(),
  opal_resource_name: z.string(),
  opal_project_name: z.string(),
  opal_group_name: z.string(),
});

export const publishPayloadSchema = z.object({
  destination_type: z.enum(DESTINATION_TYPES),
  data_published: z.array(z.union([publishedFileSchema, publishedTableSchema])),
});

/**
 * What a package or a publication warned about: a table written under another
 * name, a primary key not kept, an answer repeated from a bag already in
 * place. The log and the audit event carry them too.
 */
const warningsSchema = z.array(z.string());

/** What a package answers in GraphQL (`PackageResult`, and a package job's `packageResult`): the REST payload plus its warnings. REST answers the payload alone. */
export const packageResultSchema = packagePayloadSchema.extend({ warnings: warningsSchema });

/** What a publication answers in GraphQL (`PublishResult`, and a publish job's `publishResult`): the REST payload plus its warnings. REST answers the payload alone. */
export const publishResultSchema = publishPayloadSchema.extend({ warnings: warningsSchema });

export function successEnvelopeSchema<T extends z.ZodType>(payload: T) {
  return z.object({ status: z.literal('success'), payload });
}

export const errorEnvelopeSchema = z.object({
  status: z.literal('error'),
  payload: z.object({ detail: z.string().describe('What went wrong; never a secret or a stack trace.') }),
});

export type MetadataPayload = z.output<typeof metadataPayloadSchema>;
export type DatasetMetadata = z.output<typeof datasetMetadataSchema>;
export type ReportedColumn = z.output<typeof reportedColumnSchema>;
export type ValidationPayload = z.output<typeof validationPayloadSchema>;
export type PackagePayload = z.output<typeof packagePayloadSchema>;
export type PublishPayload = z.output<typeof publishPayloadSchema>;
export type PackageResult = z.output<typeof packageResultSchema>;
export type PublishResult = z.output<typeof publishResultSchema>;
/** One output of packaging: a staged file or a loaded table. */
export type RetrievedEntry = z.output<typeof retrievedEntrySchema>;
/** One published item: a file with its figures, or a table made available in OPAL. */
export type PublishedEntry = z.output<typeof publishedFileSchema> | z.output<typeof publishedTableSchema>;
export type PublishedFile = z.output<typeof publishedFileSchema>;
export type SuccessEnvelope<T> = { status: 'success'; payload: T };
export type ErrorEnvelope = z.output<typeof errorEnvelopeSchema>;

/** The success envelope every REST endpoint answers with. */
export function success<T>(payload: T): SuccessEnvelope<T> {
  return { status: 'success', payload };
}

/** The error envelope every REST endpoint answers with. */
export function failure(detail: string): ErrorEnvelope {
  return { status: 'error', payload: { detail } };
}
