import { z } from 'zod';
import { reportedColumnSchema } from './response-schemas.js';

/**
 * What the services keep on a project and answer through GraphQL
 * (`Query.project`): the metadata service's reports and the publish service's
 * validations. snake_case like the rest of the contract; the SDL spells them
 * in camelCase, and test/unit/sdl-contract.test.ts checks the two agree.
 */

/** A table as a metadata report's summary keeps it. */
const tableSummarySchema = z.object({
  name: z.string(),
  description: z.string().nullable(),
  column_count: z.number().int(),
  columns_digest: z.string(),
  columns_omitted: z.number().int(),
  columns: z.array(reportedColumnSchema),
});

/** What a metadata report keeps of a dataset: bounded whatever the dataset's size. */
const datasetSummarySchema = z.object({
  name: z.string().nullable(),
  description: z.string().nullable(),
  catalog: z.string(),
  schema_name: z.string(),
  table_count: z.number().int(),
  tables_omitted: z.number().int(),
  tables: z.array(tableSummarySchema),
});

/** One report the metadata service gave for a project. */
export const metadataReportSchema = z.object({
  reported_at: z.string(),
  source: z.string(),
  metadata: datasetSummarySchema,
});

/**
 * What a successful validation approved, in brief: the schema, how many
 * tables and columns, and the fingerprint of the whole approval (the tables'
 * and columns' names and logical types; docs/behaviour.md, "Approved catalog").
 */
export const approvalSummarySchema = z.object({
  schema_name: z.string(),
  table_count: z.number().int(),
  column_count: z.number().int(),
  fingerprint: z.string(),
});

/** One validation the publish service ran for a project. */
export const validationRecordSchema = z.object({
  validated_at: z.string(),
  source: z.string(),
  destination: z.string(),
  outcome: z.string(),
  /** null when the validation failed or its request named no dataset (and in records kept before approvals were). */
  approval: approvalSummarySchema.nullable().default(null),
});

/** A project with the records both services keep of it (GraphQL `Project`, composed from both subgraphs). */
export const projectRecordsSchema = z.object({
  project_name: z.string(),
  project_start_time: z.string(),
  metadata_reports: z.array(metadataReportSchema),
  validations: z.array(validationRecordSchema),
});

export type TableSummary = z.output<typeof tableSummarySchema>;
export type DatasetSummary = z.output<typeof datasetSummarySchema>;
export type MetadataReport = z.output<typeof metadataReportSchema>;
export type ValidationRecord = z.output<typeof validationRecordSchema>;
export type ApprovalSummary = z.output<typeof approvalSummarySchema>;
