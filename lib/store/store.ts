import pg from 'pg';
import { ConfigError } from '../config/env.js';
import { isAppError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { SecretProvider } from '../secrets/index.js';
import { loadMigrations, migrate } from './migrate.js';
import { readPlatformStoreSettings, type PlatformStoreSettings } from './settings.js';

/** Connections one service holds to the platform database at most. */
const POOL_MAX = 10;

/**
 * The platform's own PostgreSQL database (PLATFORM_DATABASE_URL or
 * PLATFORM_DATABASE_HOST): a connection pool onto a schema brought up to date
 * by {@link openPlatformStore}. Shared by whatever a service keeps there.
 */
export interface PlatformStore {
  readonly pool: pg.Pool;
  /** `user@host:port/database`, never a password. */
  readonly description: string;
  close(): Promise<void>;
}

export interface StoreOpening {
  secrets: SecretProvider;
  log: Logger;
  /** The settings; read from the environment when absent. */
  settings?: PlatformStoreSettings;
}

/**
 * Opens the platform database the settings name and migrates it (lib/store/migrations),
 * or gives undefined when none is configured (state is then kept in memory).
 * Any failure (the password secret, reaching the database, a migration) is a
 * ConfigError naming the setting, the database without its password, and why:
 * the service does not start without the store it was told to use.
 */
export async function openPlatformStore({ secrets, log, settings = readPlatformStoreSettings() }: StoreOpening): Promise<PlatformStore | undefined> {
  if (!settings) return undefined;
  const failed = (why: string) => new ConfigError(`Cannot use the platform database ${settings.description} (${settings.setting}): ${why}`);
  const secretName = settings.passwordSecretName;
  const urlPassword = settings.urlPassword;
  let password: string | undefined;
  if (secretName !== undefined) {
    try {
      password = await secrets.get(secretName);
    } catch (error) {
      throw failed(`its password (PLATFORM_DATABASE_PASSWORD_SECRET_NAME): ${isAppError(error) ? error.detail : 'the secret cannot be read'}`);
    }
  }
  const pool = new pg.Pool({
    ...settings.connection,
    max: POOL_MAX,
    // Read on each new connection (the provider caches): a rotated password is used without a restart.
    ...(secretName !== undefined ? { password: () => secrets.get(secretName) } : {}),
  });
  // A connection that dies while idle must not end the process; the next query fails and says why.
  pool.on('error', (error) => log.warn({ err: { message: redact(error.message, [password, urlPassword]) } }, 'platform database connection lost'));
  try {
    const applied = await migrate(pool, await loadMigrations());
    log.info({ database: settings.description, applied }, applied.length ? 'platform database migrated' : 'platform database up to date');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw failed(redact(error instanceof Error ? error.message : String(error), [password, urlPassword]));
  }
  return { pool, description: settings.description, close: () => pool.end() };
}

/** `text` without the passwords in it (a driver message should never hold one; this makes sure). */
function redact(text: string, passwords: ReadonlyArray<string | undefined>): string {
  return passwords.reduce<string>((t, p) => (p ? t.replaceAll(p, '[redacted]') : t), text);
}
