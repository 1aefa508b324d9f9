import { AppError } from '../errors.js';
import { describeSource, type DatasetRequest, type SourceConfig } from '../contract/index.js';

/** MySQL and MariaDB system schemas (names compared in lower case: servers may fold case). */
const MYSQL = new Set(['mysql', 'information_schema', 'performance_schema', 'sys']);
/** SQL Server system schemas (compared in lower case, as its default collations do). */
const MSSQL = new Set(['sys', 'information_schema']);

/** Why a schema (or Databricks catalog) is the source's own bookkeeping rather than data, or undefined when it is data. */
function systemPart(source: SourceConfig, schema: string): string | undefined {
  const lower = schema.toLowerCase();
  switch (source.type) {
    // PostgreSQL reserves the pg_ prefix (pg_catalog, pg_toast, pg_temp_N, pg_toast_temp_N); names are case-sensitive.
    case 'postgresql':
      return schema.startsWith('pg_') || schema === 'information_schema' ? `Schema '${schema}'` : undefined;
    case 'mysql':
      return MYSQL.has(lower) ? `Schema '${schema}'` : undefined;
    case 'mssql':
      return MSSQL.has(lower) ? `Schema '${schema}'` : undefined;
    case 'databrickssql':
      if (source.catalog.toLowerCase() === 'system') return `Catalog '${source.catalog}'`;
      return lower === 'information_schema' ? `Schema '${schema}'` : undefined;
  }
}

/** The schema a dataset without `schema_name` means: PostgreSQL public, MySQL the database, SQL Server dbo, Databricks default. */
export function defaultSchemaOf(source: SourceConfig): string {
  switch (source.type) {
    case 'postgresql':
      return 'public';
    case 'mysql':
      return source.database;
    case 'mssql':
      return 'dbo';
    case 'databrickssql':
      return 'default';
  }
}

/**
 * {@link assertDataSchema} for a dataset as requested, where nothing has
 * connected yet (the gateway checks before a validation opens the source).
 */
export function assertDatasetNotSystem(source: SourceConfig, dataset: Pick<DatasetRequest, 'schema_name'>): void {
  assertDataSchema(source, dataset.schema_name ?? defaultSchemaOf(source));
}

/**
 * Refuses a system catalog as a dataset's schema, before any query: they hold
 * the source's users, password hashes and settings, never research data
 * (PostgreSQL pg_* and information_schema; MySQL/MariaDB mysql,
 * information_schema, performance_schema, sys; SQL Server sys and
 * INFORMATION_SCHEMA; Databricks' `system` catalog and information_schema).
 */
export function assertDataSchema(source: SourceConfig, schema: string): void {
  const part = systemPart(source, schema);
  if (part) {
    throw new AppError('INVALID_REQUEST', `${part} on the ${describeSource(source)} is a system catalog, not data; the publisher never reads it. Name the schema that holds the dataset.`);
  }
}
