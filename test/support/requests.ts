/**
 * Request bodies exactly as the CR8TOR CLI sends them (snake_case JSON from its
 * pydantic models, every optional field present, null when unset, the extra
 * fields it carries included), so that tests exercise the real wire shape.
 */
import { toGraphQL } from '../../lib/contract/index.js';
import { mysqlSettings, pgSettings } from './databases.js';
import type { Platform } from './platform.js';

/** The project every builder uses unless told otherwise. */
export const PROJECT = { project_name: 'Pr004', project_start_time: '20250205_010101' };

export interface SqlSourceBody {
  name: string | null;
  type: string;
  host_url: string;
  database: string;
  port: number | null;
  credentials: { provider: string; username_key: string; password_key: string };
}

export interface SqlSourceOptions {
  type?: string;
  host?: string;
  port?: number | null;
  usernameKey?: string;
  passwordKey?: string;
}

/** A SQL source naming the secrets `{type}-user` and `{type}-password` unless told otherwise. */
export function sqlSource(type: 'postgresql' | 'mysql', database: string, options: SqlSourceOptions = {}): SqlSourceBody {
  const settings = type === 'postgresql' ? pgSettings : mysqlSettings;
  return {
    name: 'source_db',
    type: options.type ?? type,
    host_url: options.host ?? settings.host,
    database,
    port: options.port === undefined ? settings.port : options.port,
    credentials: {
      provider: 'AzureKeyVault',
      username_key: options.usernameKey ?? `${type}-user`,
      password_key: options.passwordKey ?? `${type}-password`,
    },
  };
}

/** Writes the secrets {@link sqlSource} names by default: the machine's database user and password. */
export async function writeSourceSecrets(platform: Pick<Platform, 'writeSecret'>, type: 'postgresql' | 'mysql'): Promise<void> {
  const settings = type === 'postgresql' ? pgSettings : mysqlSettings;
  await platform.writeSecret(`${type}-user`, settings.user);
  await platform.writeSecret(`${type}-password`, settings.password);
}

/** A requested table: its name, or its name and the columns wanted. */
export type TableSpec = string | { name: string; columns?: string[] };

export interface DatasetBody {
  name: string;
  schema_name: string | null;
  description: string | null;
  tables: Array<{ name: string; description: null; columns: Array<{ name: string; datatype: null; description: null }> | null }>;
  staging_path: null;
  publish_path: null;
}

/** A dataset; `tables` omitted means every table of the schema (the CLI sends an empty list). */
export function dataset(schemaName: string | null, tables: TableSpec[] = [], extra: { name?: string; description?: string | null } = {}): DatasetBody {
  return {
    name: extra.name ?? 'dataset_1',
    schema_name: schemaName,
    description: extra.description ?? null,
    tables: tables.map((t) => {
      const spec = typeof t === 'string' ? { name: t } : t;
      return {
        name: spec.name,
        description: null,
        columns: spec.columns ? spec.columns.map((c) => ({ name: c, datatype: null, description: null })) : null,
      };
    }),
    staging_path: null,
    publish_path: null,
  };
}

export const filestoreDestination = { name: 'LSC', type: 'filestore', format: 'duckdb' };

/** `/project/publish`, `/data-publish/publish`. */
export function publishRequest(project: Partial<typeof PROJECT> = {}) {
  return { ...PROJECT, ...project, destination: { ...filestoreDestination } };
}

/** `/data-publish/validate`. */
export function accessRequest(source: SqlSourceBody, project: Partial<typeof PROJECT> = {}) {
  return { ...publishRequest(project), source, extract_config: { backend_engine: 'pyarrow' } };
}

/** `/project/validate`, `/project/package`, `/metadata/project`, `/data-publish/package`. */
export function transferRequest(source: SqlSourceBody, data: DatasetBody, project: Partial<typeof PROJECT> = {}) {
  return { ...accessRequest(source, project), dataset: data };
}

/**
 * A contract body as a GraphQL caller sends it: camelCase, without the extra
 * fields only the CLI sends (GraphQL input types reject unknown fields).
 */
export function graphqlInput(body: { source?: SqlSourceBody; dataset?: DatasetBody } & Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body };
  if (body.source) {
    const { name: _name, ...source } = body.source;
    out.source = source;
  }
  if (body.dataset) {
    const { staging_path: _s, publish_path: _p, ...data } = body.dataset;
    out.dataset = data;
  }
  return toGraphQL(out) as Record<string, unknown>;
}
