import { z } from 'zod';
import { caseInsensitiveChoice, identifier, secretName } from './fields.js';

/** Source database kinds; `sqlserver` arrives as an alias of `mssql`. */
export const SOURCE_TYPES = ['postgresql', 'mysql', 'mssql', 'databrickssql'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

/** The port each source listens on when the request names none. */
export const DEFAULT_PORTS: Record<SourceType, number> = { postgresql: 5432, mysql: 3306, mssql: 1433, databrickssql: 443 };

const hostName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(253, 'must be at most 253 characters')
  .regex(/^[A-Za-z0-9._:[\]-]+$/, 'must be a host name or IP address (no scheme, path or spaces)');

const port = z.number({ message: 'must be a number' }).int('must be a whole number').min(1).max(65535).nullish();

const sqlCredentials = z.object({
  provider: z.string().nullish(),
  username_key: secretName,
  password_key: secretName,
});

const databricksCredentials = z.object({
  provider: z.string().nullish(),
  spn_clientid: secretName,
  spn_secret: secretName,
});

const sqlSource = z.object({
  type: z.enum(['postgresql', 'mysql', 'mssql']),
  host_url: hostName,
  database: identifier,
  port,
  credentials: sqlCredentials,
});

const databricksSource = z.object({
  type: z.literal('databrickssql'),
  // Client secrets go only over HTTPS: an http:// workspace is refused, not upgraded.
  host_url: z.url({ protocol: /^https$/, message: 'must be the workspace URL, https://…' }),
  http_path: z.string().regex(/^\/[A-Za-z0-9/._-]+$/, 'must be the warehouse path, /sql/1.0/warehouses/…'),
  port,
  catalog: identifier,
  credentials: databricksCredentials,
});

/** A source as the contract sends it, with `type` normalised and the default port filled in. */
export const sourceSchema = z
  .object({ type: caseInsensitiveChoice(SOURCE_TYPES, { sqlserver: 'mssql' }) })
  .loose()
  .pipe(z.discriminatedUnion('type', [sqlSource, databricksSource]))
  .transform((s) => ({ ...s, port: s.port ?? DEFAULT_PORTS[s.type] }));

/**
 * The source as callers write it, for documentation only (OpenAPI): the same
 * field schemas, with `type` spelled as the contract allows.
 */
export const sourceDocSchema = z.union([
  sqlSource.extend({ type: z.string().describe('postgresql, mysql, mssql or sqlserver, in any case.') }),
  databricksSource.extend({ type: z.string().describe('databrickssql, in any case.') }),
]);

export type SourceConfig = z.output<typeof sourceSchema>;
export type SqlSourceConfig = Extract<SourceConfig, { type: 'postgresql' | 'mysql' | 'mssql' }>;
export type DatabricksSourceConfig = Extract<SourceConfig, { type: 'databrickssql' }>;

/** How a source is named in messages: type, host, port and database, never credentials. */
export function describeSource(source: SourceConfig): string {
  if (source.type === 'databrickssql') return `databrickssql source ${source.host_url} (catalog ${source.catalog})`;
  return `${source.type} source ${source.host_url}:${source.port}/${source.database}`;
}
