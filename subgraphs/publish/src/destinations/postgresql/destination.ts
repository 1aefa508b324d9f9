import { AppError } from '../../../../../lib/errors.js';
import type { SecretProvider } from '../../../../../lib/secrets/index.js';
import type { Destination, ProjectKey } from '../destination.js';
import { DESTINATION_DATABASE, destinationFailure, destinationPlace, withDestination } from './connection.js';
import { loadSchema, missingRole } from './loader.js';
import { targetSchemaName } from './names.js';
import { OpalClient } from './opal/client.js';
import { provisionOpal, type ProvisionLog } from './opal/provision.js';
import { withProjectLock } from './project-lock.js';
import { checkRegistryUsable, recordedSchemas } from './registry.js';
import type { PostgresqlSettings } from './settings.js';
import { schemaTables } from './tables.js';
import { packageTables } from '../progress.js';

/** Where the destination reports what it does, and its failures with what callers are not told (never a password). */
export interface DestinationLog extends ProvisionLog {
  warn(details: object, message: string): void;
}

export interface PostgresqlDestinationOptions {
  settings: PostgresqlSettings;
  secrets: SecretProvider;
  /** Where OPAL provisioning reports what it creates, and failures are reported with where they happened. */
  log: DestinationLog;
  /** Called with every SQL text sent to the destination database (for debugging and tests). */
  onQuery?: (sql: string) => void;
}

/**
 * The PostgreSQL destination: package loads the dataset into schema
 * `lower("{project}_{start}_{schema}")` of the configured database, replacing
 * it atomically and granting the OPAL read-only role, and records it in the
 * registry as the project's (registry.ts; a schema recorded for another
 * project, or not recorded at all, is refused); publish provisions OPAL
 * (project, group, DataSHIELD user and permissions, one resource per table)
 * for every table of the schemas recorded for the project and start time.
 * Failures are logged with the database's and OPAL's addresses, which callers
 * are not told. The request's destination name is not used: the database
 * comes from the DESTINATION_POSTGRESQL_* settings.
 * A package or publish holds the project's advisory lock in that database
 * (project-lock.ts): a second one for the same project and start time, from
 * this process or another, answers PROJECT_BUSY.
 */
export function postgresqlDestination(options: PostgresqlDestinationOptions): Destination {
  const { settings, secrets, log, onQuery } = options;
  const db = settings.database;

  const opalClient = async (): Promise<OpalClient> =>
    new OpalClient({
      baseUrl: settings.opal.host,
      username: settings.opal.username,
      password: await secrets.get(settings.opal.passwordSecretName),
      passwordSecretName: settings.opal.passwordSecretName,
      noSslVerify: settings.opal.noSslVerify,
      timeoutMs: settings.opal.requestTimeoutMs,
    });

  // OPAL's origin only: a user name or password in the setting's URL never reaches the log.
  const opalPlace = new URL(settings.opal.host).origin;
  /** Logs a failure (5xx; not a caller's conflict) with where the database and OPAL are, then rethrows it. */
  const reported = async <T>(call: string, ref: Partial<ProjectKey>, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) {
        log.warn({ call, project: ref.project, start_time: ref.startTime, database: destinationPlace(db), opal: opalPlace, err: error }, `PostgreSQL destination: ${call} failed`);
      }
      throw error;
    }
  };

  return {
    checkReady: () => reported('readiness check', {}, async () => {
      await withDestination(db, secrets, async (client) => {
        try {
          const { rows } = await client.query<{ ok: number; can_create: boolean; has_role: boolean }>(
            `SELECT 1 AS ok, has_database_privilege(current_user, current_database(), 'CREATE') AS can_create,
                    EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1) AS has_role`,
            [settings.readonlyUsername],
          );
          const row = rows[0]!;
          if (!row.has_role) throw missingRole(settings.readonlyUsername);
          if (!row.can_create) {
            throw new AppError('DESTINATION_NOT_READY', `User '${db.username}' may not create schemas in the ${DESTINATION_DATABASE}.`);
          }
          await checkRegistryUsable((sql, values) => client.query(sql, values));
        } catch (error) {
          if (error instanceof AppError) throw error;
          throw new AppError('DESTINATION_NOT_READY', destinationFailure('Checking the database', error).detail, { cause: error });
        }
      });
      const opal = await opalClient();
      try {
        await opal.checkCredentials();
      } catch (error) {
        if (error instanceof AppError && error.code === 'DESTINATION_FAILED') throw new AppError('DESTINATION_NOT_READY', error.detail, { cause: error });
        throw error;
      } finally {
        opal.close();
      }
    }),

    package: (input) => reported('package', { project: input.project, startTime: input.startTime }, async () => {
      const { project, startTime, dataset, snapshot } = input;
      const target = targetSchemaName(project, startTime, dataset.schema);
      const tables = await packageTables(input);
      const { warnings } = await withProjectLock(db, secrets, { project, startTime }, 'package', () => withDestination(db, secrets, async (client) => {
        try {
          return await loadSchema(client, {
            target,
            owner: { project, startTime, sourceSchema: dataset.schema },
            readonlyRole: settings.readonlyUsername,
            swapLockTimeoutMs: settings.swapLockTimeoutMs,
            onQuery,
            tables: tables.map((table) => ({
              name: table.name,
              description: table.description,
              columns: table.columns,
              primaryKey: table.primaryKey,
              csv: table.csv,
              rowsRead: () => snapshot.rowsRead(dataset.schema, table.name),
              written: table.written,
            })),
          });
        } catch (error) {
          throw destinationFailure(`Loading schema '${target}'`, error);
        }
      }), log);
      return { data_retrieved: dataset.tables.map((t) => ({ table_name: `${target}.${t.name}` })), warnings };
    }),

    publish: ({ project, startTime }) => reported('publish', { project, startTime }, () => withProjectLock(db, secrets, { project, startTime }, 'publish', async () => {
      const tables = await withDestination(db, secrets, async (client) => {
        try {
          return await schemaTables(client, await recordedSchemas((sql, values) => client.query(sql, values), { project, startTime }));
        } catch (error) {
          throw destinationFailure('Listing the project tables', error);
        }
      });
      if (tables.length === 0) {
        throw new AppError(
          'NOTHING_TO_PUBLISH',
          `No tables found in the schemas recorded for project '${project}' (start time ${startTime}) in the ${DESTINATION_DATABASE}. Nothing to publish to OPAL.`,
        );
      }
      const readonlyPassword = await secrets.get(settings.readonlyPasswordSecretName);
      const opal = await opalClient();
      try {
        const connection = { host: db.host, port: db.port, database: db.database, username: settings.readonlyUsername, password: readonlyPassword };
        return { data_published: await provisionOpal(opal, { project, tables, connection }, log), warnings: [] };
      } finally {
        opal.close();
      }
    }, log)),
  };
}
