import pg from 'pg';
import { networkReason } from '../../../../../lib/connectors/failures.js';
import { AppError } from '../../../../../lib/errors.js';
import type { SecretProvider } from '../../../../../lib/secrets/index.js';
import type { PostgresqlConnectionSettings } from './settings.js';

/**
 * How callers' messages name the destination database: its host, port and
 * name are our infrastructure, so they go to the log only (destinationPlace).
 */
export const DESTINATION_DATABASE = 'PostgreSQL destination database';

/** Where the destination database is, for the log: host, port and database (never a password). */
export function destinationPlace(settings: PostgresqlConnectionSettings): { host: string; port: number; database: string; user: string } {
  return { host: settings.host, port: settings.port, database: settings.database, user: settings.username };
}

/**
 * Opens one connection to the destination database as the loading user, whose
 * password is read from its secret now (so a rotated secret is picked up);
 * `applicationName` labels the session in pg_stat_activity, `keepAlive` turns
 * on TCP keepalives on this end.
 * Failing to connect is DESTINATION_NOT_READY naming the database and why.
 */
export async function connectDestination(
  settings: PostgresqlConnectionSettings,
  secrets: SecretProvider,
  options: { applicationName?: string; keepAlive?: boolean } = {},
): Promise<pg.Client> {
  const password = await secrets.get(settings.passwordSecretName);
  const client = new pg.Client({
    host: settings.host,
    port: settings.port,
    database: settings.database,
    user: settings.username,
    password,
    application_name: options.applicationName ?? 'cr8tor-publisher',
    connectionTimeoutMillis: settings.connectTimeoutMs,
    keepAlive: options.keepAlive ?? false,
  });
  // A connection that dies while idle reports here; the next query then fails with the reason.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw connectFailure(settings, error);
  }
  return client;
}

/** Runs `work` on a fresh connection and always closes it. */
export async function withDestination<T>(settings: PostgresqlConnectionSettings, secrets: SecretProvider, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectDestination(settings, secrets);
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

interface PgErrorFields {
  code?: string;
  message?: string;
  where?: string;
}

function connectFailure(settings: PostgresqlConnectionSettings, error: unknown): AppError {
  const { code } = error as PgErrorFields;
  if (code === '28P01' || code === '28000') {
    return new AppError('DESTINATION_NOT_READY', `The ${DESTINATION_DATABASE} rejected the credentials of user '${settings.username}' (password from secret '${settings.passwordSecretName}').`, { cause: error });
  }
  if (code === '3D000') return new AppError('DESTINATION_NOT_READY', `The ${DESTINATION_DATABASE} does not exist (DESTINATION_POSTGRESQL_DATABASE).`, { cause: error });
  // The server's own refusals (a SQLSTATE) name no host; the driver's other errors may: those go to the log only.
  const reason = networkReason(error) ?? (/^[0-9A-Z]{5}$/.test(code ?? '') ? pgMessage(error) : 'the connection failed (the service log has the reason)');
  return new AppError('DESTINATION_NOT_READY', `Cannot connect to the ${DESTINATION_DATABASE}: ${reason}.`, { cause: error });
}

/** A server or driver message, cut short, with anything that looks like a connection string removed. */
export function pgMessage(error: unknown): string {
  const { message, where } = (error ?? {}) as PgErrorFields;
  const text = (message ?? String(error)).replace(/\b\w+:\/\/[^\s]*/g, '[url]');
  // COPY's context names the line and column that failed.
  const context = where?.split('\n')[0]?.slice(0, 200);
  const full = context ? `${text} (${context})` : text;
  return full.length > 500 ? `${full.slice(0, 500)}…` : full;
}

/**
 * DESTINATION_FAILED for an error while working in the destination database;
 * an AppError (a source failing mid-load, a name too long) passes unchanged.
 */
export function destinationFailure(action: string, error: unknown): AppError {
  if (error instanceof AppError) return error;
  const reason = networkReason(error);
  if (reason) return new AppError('DESTINATION_FAILED', `${action} failed: the connection to the ${DESTINATION_DATABASE} was lost (${reason}).`, { cause: error });
  return new AppError('DESTINATION_FAILED', `${action} failed in the ${DESTINATION_DATABASE}: ${pgMessage(error)}.`, { cause: error });
}
