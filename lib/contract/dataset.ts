import { z } from 'zod';
import { identifier, optionalText } from './fields.js';

const columnRequest = z.object({
  name: identifier,
  datatype: optionalText,
  description: optionalText,
});

const tableRequest = z.object({
  name: identifier,
  description: optionalText,
  columns: z.array(columnRequest).max(4096).nullish(),
});

/**
 * The dataset part of a transfer request. `tables` absent or empty means every
 * table of the schema; a table's `columns` absent or empty means every column.
 */
export const datasetSchema = z.object({
  name: z.string().max(256).nullish(),
  schema_name: identifier.nullish(),
  description: optionalText,
  tables: z.array(tableRequest).max(4096).nullish(),
});

export type DatasetRequest = z.output<typeof datasetSchema>;
export type TableRequest = z.output<typeof tableRequest>;
