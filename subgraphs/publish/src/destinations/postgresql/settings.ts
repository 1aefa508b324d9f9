import { ConfigError, readSettings } from '../../../../../lib/config/env.js';
import { postgresqlDestinationSettings } from '../../../../../lib/config/settings/index.js';

/** Where the destination database is and who loads it. */
export interface PostgresqlConnectionSettings {
  host: string;
  port: number;
  database: string;
  username: string;
  /** Name of the secret holding the loading user's password. */
  passwordSecretName: string;
  /** Milliseconds to wait for a connection. */
  connectTimeoutMs: number;
}

/** The OPAL server tables are published to. */
export interface OpalSettings {
  /** Base URL, e.g. `https://opal.example.org` (the REST API is under `{host}/ws`). */
  host: string;
  username: string;
  /** Name of the secret holding the OPAL user's password. */
  passwordSecretName: string;
  /** Skip TLS certificate verification for OPAL only (DESTINATION_OPAL_NO_SSL_VERIFY). */
  noSslVerify: boolean;
  /** Milliseconds any one OPAL call may take. */
  requestTimeoutMs: number;
}

/** Settings of the PostgreSQL destination and its OPAL publication. */
export interface PostgresqlSettings {
  database: PostgresqlConnectionSettings;
  /** The role OPAL reads the tables as: granted read-only access to every loaded schema. */
  readonlyUsername: string;
  /** Name of the secret holding that role's password (written into OPAL resources). */
  readonlyPasswordSecretName: string;
  opal: OpalSettings;
  /** Milliseconds the final swap of schemas waits for readers' locks before the package fails. */
  swapLockTimeoutMs: number;
}

/** The variables readPostgresqlSettings reads. */
export const POSTGRESQL_SETTING_NAMES: readonly string[] = Object.keys(postgresqlDestinationSettings);

/** The settings that must all be present once DESTINATION_POSTGRESQL_HOST is set. */
const REQUIRED = [
  'DESTINATION_POSTGRESQL_DATABASE',
  'DESTINATION_POSTGRESQL_USERNAME',
  'DESTINATION_POSTGRESQL_PASSWORD_SECRET_NAME',
  'DESTINATION_POSTGRESQL_OPAL_READONLY_USERNAME',
  'DESTINATION_POSTGRESQL_OPAL_READONLY_PASSWORD_SECRET_NAME',
  'DESTINATION_OPAL_HOST',
  'DESTINATION_OPAL_USERNAME',
  'DESTINATION_OPAL_PASSWORD_SECRET_NAME',
] as const;

/**
 * Reads the PostgreSQL destination's settings. Without DESTINATION_POSTGRESQL_HOST
 * the destination is not configured (undefined): the service runs without it and
 * answers DESTINATION_NOT_CONFIGURED for it. With it, every other setting the
 * destination needs must be there too; the first missing or bad one throws a
 * ConfigError naming it.
 */
export function readPostgresqlSettings(env?: NodeJS.ProcessEnv): PostgresqlSettings | undefined {
  const s = readSettings(postgresqlDestinationSettings, env);
  if (s.DESTINATION_POSTGRESQL_HOST === undefined) return undefined;
  for (const name of REQUIRED) {
    if (s[name] === undefined) {
      throw new ConfigError(`Invalid setting ${name}: is required when DESTINATION_POSTGRESQL_HOST is set (it is not set).`);
    }
  }
  if (s.DESTINATION_POSTGRESQL_OPAL_READONLY_USERNAME === s.DESTINATION_POSTGRESQL_USERNAME) {
    // OPAL's credentials would then write every schema and the registry, and the registry's revokes would hit the loader.
    throw new ConfigError('Invalid setting DESTINATION_POSTGRESQL_OPAL_READONLY_USERNAME: must not be the loading user (DESTINATION_POSTGRESQL_USERNAME).');
  }
  return {
    database: {
      host: s.DESTINATION_POSTGRESQL_HOST,
      port: s.DESTINATION_POSTGRESQL_PORT,
      database: s.DESTINATION_POSTGRESQL_DATABASE!,
      username: s.DESTINATION_POSTGRESQL_USERNAME!,
      passwordSecretName: s.DESTINATION_POSTGRESQL_PASSWORD_SECRET_NAME!,
      connectTimeoutMs: s.DESTINATION_POSTGRESQL_CONNECT_TIMEOUT_MS,
    },
    readonlyUsername: s.DESTINATION_POSTGRESQL_OPAL_READONLY_USERNAME!,
    readonlyPasswordSecretName: s.DESTINATION_POSTGRESQL_OPAL_READONLY_PASSWORD_SECRET_NAME!,
    opal: {
      host: s.DESTINATION_OPAL_HOST!,
      username: s.DESTINATION_OPAL_USERNAME!,
      passwordSecretName: s.DESTINATION_OPAL_PASSWORD_SECRET_NAME!,
      noSslVerify: s.DESTINATION_OPAL_NO_SSL_VERIFY,
      requestTimeoutMs: s.DESTINATION_OPAL_REQUEST_TIMEOUT_MS,
    },
    swapLockTimeoutMs: s.DESTINATION_POSTGRESQL_SWAP_LOCK_TIMEOUT_MS,
  };
}
