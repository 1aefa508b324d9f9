import { z } from 'zod';

/**
 * The response payloads of the REST contract as schemas: they document the API
 * (OpenAPI) and let tests check real answers against the same definitions.
 */
export const metadataPayloadSchema = z
  .object({
    name: z.string().nullable().describe("The dataset's name from the request."),
    description: z.string().nullable().describe("The dataset's description from the request."),
    catalog: z.string().describe('The source database (SQL) or Unity Catalog catalog (Databricks).'),
    schema_name: z.string().describe('The schema the tables belong to.'),
    tables: z.array(
      z.object({
        name: z.string(),
        description: z.string().nullable().describe('The table comment.'),
        columns: z.array(
          z.object({
            name: z.string(),
            description: z.string().nullable().describe('The column comment.'),
            datatype: z.string().describe("The source's own type name, e.g. numeric(12,2)."),
          }),
        ),
      }),
    ),
  })
  .describe('Dataset metadata: tables and columns, never rows.');

export const validationPayloadSchema = z.object({ validation_status: z.literal('success') });

export const packagePayloadSchema = z.object({
  destination_type: z.enum(['filestore', 'postgresql']).optional(),
  data_retrieved: z.array(
    z.union([
      z.object({ file_path: z.string().describe('Staged file, relative to {project}/{start_time}/, e.g. data/outputs/person.csv.') }),
      z.object({ table_name: z.string().describe('Loaded table, <schema>.<table>.') }),
    ]),
  ),
});

export const publishPayloadSchema = z.object({
  destination_type: z.enum(['filestore', 'postgresql']).optional(),
  data_published: z.array(
    z.union([
      z.object({
        file_path: z.string(),
        hash_value: z.string().regex(/^[0-9a-f]{128}$/).describe('SHA-512 of the file, lowercase hex.'),
        total_bytes: z.number().int().nonnegative(),
      }),
      z.object({
        postgresql_table_name: z.string(),
        opal_resource_name: z.string(),
        opal_project_name: z.string(),
        opal_group_name: z.string(),
      }),
    ]),
  ),
});

export function successEnvelopeSchema<T extends z.ZodType>(payload: T) {
  return z.object({ status: z.literal('success'), payload });
}

export const errorEnvelopeSchema = z.object({
  status: z.literal('error'),
  payload: z.object({ detail: z.string().describe('What went wrong; never a secret or a stack trace.') }),
});
