import { z } from 'zod';
import { datasetSchema } from './dataset.js';
import { destinationSchema } from './destination.js';
import { sourceSchema } from './source.js';

/** Project names become folder names, OPAL project names and schema-name parts. */
export const PROJECT_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}$/;

const projectName = z
  .string()
  .regex(PROJECT_NAME, "must be 1 to 100 letters, digits, '_', '-' or '.', with no white space, not starting with '.'");

const projectStartTime = z
  .string()
  .regex(/^\d{8}_\d{6}$/, { message: 'must be YYYYMMDD_HHMMSS', abort: true })
  .refine(isRealDateTime, { message: 'must be a real date and time, YYYYMMDD_HHMMSS' });

function isRealDateTime(v: string): boolean {
  const [y, mo, d, h, mi, s] = [v.slice(0, 4), v.slice(4, 6), v.slice(6, 8), v.slice(9, 11), v.slice(11, 13), v.slice(13, 15)].map(Number) as [number, number, number, number, number, number];
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && t.getUTCHours() === h && t.getUTCMinutes() === mi && t.getUTCSeconds() === s;
}

const extractConfig = z.object({ backend_engine: z.string().nullish() }).nullish();

/** `/project/publish`, `/data-publish/publish`. */
export const publishRequestSchema = z.object({
  project_name: projectName,
  project_start_time: projectStartTime,
  destination: destinationSchema,
});

/** `/data-publish/validate`: a publish request plus the source (the dataset may come along and is not needed). */
export const accessRequestSchema = publishRequestSchema.extend({
  source: sourceSchema,
  extract_config: extractConfig,
  dataset: datasetSchema.nullish(),
});

/** `/project/validate`, `/project/package`, `/metadata/project`, `/data-publish/package`. */
export const transferRequestSchema = publishRequestSchema.extend({
  source: sourceSchema,
  extract_config: extractConfig,
  dataset: datasetSchema,
});

/** The metadata subgraph's own input: a source and a dataset, optionally for a project. */
export const metadataRequestSchema = z.object({
  source: sourceSchema,
  dataset: datasetSchema,
  project_name: projectName.nullish(),
  project_start_time: projectStartTime.nullish(),
});

export type PublishRequest = z.output<typeof publishRequestSchema>;
export type AccessRequest = z.output<typeof accessRequestSchema>;
export type TransferRequest = z.output<typeof transferRequestSchema>;
export type MetadataRequest = z.output<typeof metadataRequestSchema>;
