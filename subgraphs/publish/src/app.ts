import type { FastifyInstance } from 'fastify';
import { AuditLog } from '../../../lib/audit/audit-log.js';
import type { ApiKeyVerifier } from '../../../lib/auth/api-key.js';
import type { ConnectorOptions } from '../../../lib/connectors/index.js';
import { mountSubgraph } from '../../../lib/graphql/subgraph.js';
import type { ConnectionLimits } from '../../../lib/http/plugins/timeouts.js';
import { createHttpService } from '../../../lib/http/service.js';
import type { Logger } from '../../../lib/logging/logger.js';
import { ServiceMetrics } from '../../../lib/metrics/metrics.js';
import { ProjectLog } from '../../../lib/project-log.js';
import type { SecretProvider } from '../../../lib/secrets/index.js';
import { readPackageDeadlineMs } from './deadline.js';
import type { PublishDeps, ValidationRecord } from './deps.js';
import { filestoreDestination } from './destinations/filestore/destination.js';
import { readFilestoreSettings, StorageMounts, type FilestoreSettings } from './destinations/filestore/index.js';
import { postgresqlDestination, readPostgresqlSettings, type PostgresqlSettings } from './destinations/postgresql/index.js';
import { publishResolvers } from './resolvers.js';
import { dataPublishRoutes } from './rest/data-publish.js';

export interface PublishAppOptions {
  log: Logger;
  secrets: SecretProvider;
  apiKey: ApiKeyVerifier;
  connectorOptions?: ConnectorOptions;
  /** The filestore mounts; read from the environment when absent. */
  mounts?: StorageMounts;
  /** Writer and bag settings; read from the environment when absent. */
  filestore?: FilestoreSettings;
  /** The audit trail; from AUDIT_LOG_PATH when absent. */
  audit?: AuditLog;
  /** Timeouts and the connection cap; from HTTP_* settings when absent. */
  limits?: ConnectionLimits;
  /**
   * The PostgreSQL destination's settings; read from the environment when
   * absent (undefined). null, or no DESTINATION_POSTGRESQL_HOST: not configured.
   */
  postgresql?: PostgresqlSettings | null;
  /** The longest a package may take, in ms; PACKAGE_DEADLINE_MS when absent. */
  packageDeadlineMs?: number;
}

/** The publish service: `/data-publish/*` and the publish subgraph at `/graphql`. */
export async function buildPublishApp(options: PublishAppOptions): Promise<FastifyInstance> {
  const metrics = new ServiceMetrics('publish');
  const mounts = options.mounts ?? new StorageMounts();
  const audit = options.audit ?? AuditLog.fromEnv();
  const deps: PublishDeps = {
    secrets: options.secrets,
    connectorOptions: options.connectorOptions ?? {},
    destinations: {
      filestore: filestoreDestination(mounts, options.filestore ?? readFilestoreSettings()),
    },
    validations: new ProjectLog<ValidationRecord>(),
    obs: { service: 'publish', audit, metrics },
    packageDeadlineMs: options.packageDeadlineMs ?? readPackageDeadlineMs(),
  };
  const postgresql = options.postgresql === undefined ? readPostgresqlSettings() : options.postgresql;
  if (postgresql) {
    deps.destinations.postgresql = postgresqlDestination({ settings: postgresql, secrets: options.secrets, log: options.log.child({ destination: 'postgresql' }) });
  }
  const app = createHttpService({ name: 'publish', description: 'Validates connections, extracts and packages approved data, publishes it with integrity hashes.', logger: options.log, apiKey: options.apiKey, trustForwardedCaller: true, audit, limits: options.limits, metrics,
    // Ready when secrets can be read and every configured filestore mount has writable staging/ and production/.
    readiness: [() => options.secrets.check(), ...mounts.names().map((name) => () => mounts.checkReady(name))],
  });
  dataPublishRoutes(app, deps);
  await mountSubgraph(app, 'publish', publishResolvers(deps), options.log, metrics);
  return app;
}
