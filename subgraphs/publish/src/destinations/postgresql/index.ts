/**
 * The PostgreSQL destination: package loads tables into a schema of the
 * destination database (replaced atomically, granted to OPAL's read-only role,
 * recorded as the project's in the registry);
 * publish provisions OPAL/DataSHIELD resources for the project's recorded schemas.
 */
export { postgresqlDestination, type PostgresqlDestinationOptions, type DestinationLog } from './destination.js';
export { withProjectLock, projectLockKey } from './project-lock.js';
export { readPostgresqlSettings, type PostgresqlSettings, type OpalSettings, type PostgresqlConnectionSettings } from './settings.js';
export { pgType, columnPlan, numericType, type ServerTraits, type ColumnPlan } from './pg-types.js';
export { loadSchema, type LoadOptions, type TableLoad } from './loader.js';
export { schemaTables, type DestinationTable } from './tables.js';
export { ensureRegistry, recordedSchemas, REGISTRY_SCHEMA, REGISTRY_TABLE } from './registry.js';
export { OpalClient, type OpalClientOptions } from './opal/client.js';
export { provisionOpal, type ProvisionInput, type ResourceConnection } from './opal/provision.js';
export { generatePassword } from './opal/password.js';
export { projectKey, projectPrefix, targetSchemaName, opalGroupName, opalResourceName, OPAL_DEFAULT_USER } from './names.js';
