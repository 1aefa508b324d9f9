import type { DestinationFactory } from '../factory.js';
import { POSTGRESQL_SETTING_NAMES, readPostgresqlSettings, type PostgresqlSettings } from './settings.js';

/**
 * The PostgreSQL destination: packages load a schema of the destination
 * database, publishing provisions OPAL/DataSHIELD resources for it (opal/).
 * Configured only when DESTINATION_POSTGRESQL_HOST is set; its implementation
 * (the pg driver, the OPAL client) is imported only then.
 */
export const postgresqlFactory: DestinationFactory<PostgresqlSettings> = {
  type: 'postgresql',
  settings: POSTGRESQL_SETTING_NAMES,
  formats: ['sql'],
  readSettings: (env) => readPostgresqlSettings(env),
  load: async (settings, { secrets, log }) =>
    (await import('./destination.js')).postgresqlDestination({ settings, secrets, log: log.child({ destination: 'postgresql' }) }),
};
