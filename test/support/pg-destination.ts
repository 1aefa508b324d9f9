/**
 * The settings and secrets of a PostgreSQL destination on the test server with
 * an OPAL (the double, or a proxy in front of it), as a platform under test
 * is configured in the tests that load into PostgreSQL.
 */
import { dropPgRole, pgSettings, type TestPgDatabase } from './databases.js';
import type { OpalDouble } from './opal-double.js';
import { startPlatform, type Platform } from './platform.js';
import { writeSourceSecrets } from './requests.js';

/** The environment naming the destination database, its read-only role and the OPAL at `opalUrl`. */
export function pgDestinationEnv(database: string, readonlyRole: string, opal: { url: string; username: string }): Record<string, string> {
  return {
    DESTINATION_POSTGRESQL_HOST: pgSettings.host,
    DESTINATION_POSTGRESQL_PORT: String(pgSettings.port),
    DESTINATION_POSTGRESQL_DATABASE: database,
    DESTINATION_POSTGRESQL_USERNAME: pgSettings.user,
    DESTINATION_POSTGRESQL_PASSWORD_SECRET_NAME: 'destination-password',
    DESTINATION_POSTGRESQL_OPAL_READONLY_USERNAME: readonlyRole,
    DESTINATION_POSTGRESQL_OPAL_READONLY_PASSWORD_SECRET_NAME: 'opal-readonly-password',
    DESTINATION_OPAL_HOST: opal.url,
    DESTINATION_OPAL_USERNAME: opal.username,
    DESTINATION_OPAL_PASSWORD_SECRET_NAME: 'opal-password',
  };
}

/** Writes the three secrets {@link pgDestinationEnv} names. */
export async function writePgDestinationSecrets(platform: { writeSecret(name: string, value: string): Promise<void> }, readonlyPassword: string, opalPassword: string): Promise<void> {
  await platform.writeSecret('destination-password', pgSettings.password || 'trust-auth-ignores-it');
  await platform.writeSecret('opal-readonly-password', readonlyPassword);
  await platform.writeSecret('opal-password', opalPassword);
}

/**
 * A platform loading into `database` (read-only role `role`) and publishing to
 * `opal`, with the PostgreSQL source secrets and the destination's three
 * secrets written; its log lines go to `logLines` when given.
 */
export async function startPgDestinationPlatform(options: {
  database: string;
  role: string;
  readonlyPassword: string;
  opal: OpalDouble;
  logLines?: string[];
  env?: NodeJS.ProcessEnv;
}): Promise<Platform> {
  const { logLines } = options;
  const platform = await startPlatform({
    ...(logLines ? { logStream: { write: (line: string) => void logLines.push(line) } } : {}),
    env: { ...pgDestinationEnv(options.database, options.role, options.opal), ...options.env },
  });
  await writeSourceSecrets(platform, 'postgresql');
  await writePgDestinationSecrets(platform, options.readonlyPassword, options.opal.password);
  return platform;
}

/** Stops what a PostgreSQL destination test started (whatever of it did start) and drops its databases and role. */
export async function stopPgDestinationTest(parts: { platform?: Platform; opal?: OpalDouble; databases: Array<TestPgDatabase | undefined>; role: string }): Promise<void> {
  await parts.platform?.close();
  await parts.opal?.stop();
  for (const db of parts.databases) await db?.drop();
  await dropPgRole(parts.role);
}
