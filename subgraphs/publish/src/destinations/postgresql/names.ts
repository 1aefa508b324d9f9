import pg from 'pg';
import { AppError } from '../../../../../lib/errors.js';

/**
 * The names the PostgreSQL destination and OPAL use, as the original deployment
 * spelled them (CONTRACT.md, "PostgreSQL destination and OPAL").
 */

/** PostgreSQL's identifier limit in bytes (NAMEDATALEN - 1) unless the server says otherwise. */
export const DEFAULT_MAX_IDENTIFIER_BYTES = 63;

/** How projects are told apart: names differing only by case are one project (they load into the same schemas). */
export function projectKey(project: string): string {
  return project.toLowerCase();
}

/** `lower("{project_name}_{project_start_time}")`: the start of every schema name of the project (the project lock's key). */
export function projectPrefix(project: string, startTime: string): string {
  return `${projectKey(project)}_${startTime}`;
}

/** `lower("{project_name}_{project_start_time}_{schema_name}")`: the schema a package is loaded into. */
export function targetSchemaName(project: string, startTime: string, schema: string): string {
  return `${project}_${startTime}_${schema}`.toLowerCase();
}

/** `{schema}.{table}` as the contract answers it (not quoted). */
export function tableLabel(schema: string, table: string): string {
  return `${schema}.${table}`;
}

/** A schema-qualified, quoted relation name for SQL. */
export function qualified(schema: string, table: string): string {
  return `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table)}`;
}

/**
 * Throws INVALID_REQUEST when a name is longer than PostgreSQL keeps: the server
 * would silently cut it, and two names could then become one.
 */
export function checkIdentifier(kind: string, name: string, maxBytes = DEFAULT_MAX_IDENTIFIER_BYTES): void {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > maxBytes) {
    throw new AppError(
      'INVALID_REQUEST',
      `The ${kind} name '${name}' is ${bytes} bytes long; the PostgreSQL destination database keeps at most ${maxBytes}, so it cannot be loaded without renaming.`,
    );
  }
}

/** The OPAL group whose members may use the project's resources. */
export function opalGroupName(project: string): string {
  return `${project}_group`;
}

/** The OPAL resource for one table. */
export function opalResourceName(schema: string, table: string): string {
  return `tre_postgresql_${schema}_${table}`;
}

/** The DataSHIELD user every project group gets as a member. */
export const OPAL_DEFAULT_USER = 'dsuser_default';

/** What OPAL accepts as a project name (ProjectsResource: `^[\w _-]+$`). */
export const OPAL_PROJECT_NAME = /^[A-Za-z0-9_ -]+$/;
