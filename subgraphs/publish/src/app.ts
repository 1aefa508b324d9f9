import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { AuditLog } from '../../../lib/audit/audit-log.js';
import { readSettings } from '../../../lib/config/env.js';
import { jobObservabilitySettings, jobSettings } from '../../../lib/config/settings/index.js';
import { apiKeySecretNames, type ApiKeyVerifier } from '../../../lib/auth/api-key.js';
import type { ConnectorOptions } from '../../../lib/connectors/index.js';
import { mountSubgraph } from '../../../lib/graphql/subgraph.js';
import type { ConnectionLimits } from '../../../lib/http/plugins/timeouts.js';
import { createHttpService } from '../../../lib/http/service.js';
import type { Logger } from '../../../lib/logging/logger.js';
import { ServiceMetrics } from '../../../lib/metrics/metrics.js';
import type { SecretProvider } from '../../../lib/secrets/index.js';
import { openJobEngine, type JobEngine } from '../../../lib/jobs/index.js';
import { projectRecords, serviceStore, type PlatformStore } from '../../../lib/store/index.js';
import { readPackageDeadlineMs } from './deadline.js';
import { readCatalogApprovalSettings, type CatalogApprovalSettings } from './approvals/guard.js';
import { approvalStore } from './approvals/store.js';
import { readProjectLogLimits } from '../../../lib/project-log.js';
import { validationRecordSchema } from '../../../lib/contract/index.js';
import type { PublishDeps } from './deps.js';
import { StorageMounts } from './destinations/filestore/mount/mounts.js';
import { readFilestoreSettings, type FilestoreSettings } from './destinations/filestore/settings.js';
import type { PostgresqlSettings } from './destinations/postgresql/settings.js';
import { openDestinations } from './destinations/registry.js';
import { publishJobHandler, releaseAbandoned } from './jobs/handler.js';
import { Settlements } from './jobs/settlements.js';
import { ObservedJobEngine } from './jobs/observed.js';
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
   * The platform database project records are kept in. Absent: opened (and
   * migrated) from the PLATFORM_DATABASE_* settings, closed with the app; null,
   * or none configured: records are kept in memory.
   */
  store?: PlatformStore | null;
  /**
   * The PostgreSQL destination's settings; read from the environment when
   * absent (undefined). null, or no DESTINATION_POSTGRESQL_HOST: not configured.
   */
  postgresql?: PostgresqlSettings | null;
  /** The longest a package may take, in ms; PACKAGE_DEADLINE_MS when absent. */
  packageDeadlineMs?: number;
  /** This replica's name in job records; the host name (the pod's name) when absent. */
  replica?: string;
  /** How often a running job logs its progress, in ms; JOB_PROGRESS_LOG_INTERVAL_MS when absent. */
  jobProgressLogIntervalMs?: number;
  /** How packages treat validations' approvals; PACKAGE_ALLOW_CATALOG_DRIFT and PACKAGE_REQUIRE_VALIDATION when absent. */
  catalogApproval?: CatalogApprovalSettings;
  /** The engine jobs run in (a test keeps it); opened from the settings when absent (openJobEngine). The app starts it with its handler and closes it. */
  jobs?: JobEngine;
  /** How long running jobs may finish when the app closes, in ms; JOBS_SHUTDOWN_GRACE_MS when absent. */
  jobsShutdownGraceMs?: number;
}

/** The publish service: `/data-publish/*` and the publish subgraph at `/graphql`. */
export async function buildPublishApp(options: PublishAppOptions): Promise<FastifyInstance> {
  const metrics = new ServiceMetrics('publish');
  const audit = options.audit ?? AuditLog.fromEnv();
  const store = await serviceStore(options);
  const replica = options.replica ?? readSettings(jobSettings).PUBLISH_REPLICA_NAME ?? hostname();
  const destinations = await openDestinations(
    // Project locks on a shared mount name this replica, as its jobs do.
    { filestore: { mounts: options.mounts ?? new StorageMounts(), settings: options.filestore ?? readFilestoreSettings(), lock: { host: replica } }, postgresql: options.postgresql },
    { secrets: options.secrets, log: options.log },
  );
  const jobs: JobEngine = new ObservedJobEngine(options.jobs ?? (await openJobEngine({ store: store.store, log: options.log, replica })), {
    service: 'publish',
    audit,
    metrics,
    log: options.log,
    progressLogIntervalMs: options.jobProgressLogIntervalMs ?? readSettings(jobObservabilitySettings).JOB_PROGRESS_LOG_INTERVAL_MS,
  });
  const jobsGraceMs = options.jobsShutdownGraceMs ?? readSettings(jobSettings).JOBS_SHUTDOWN_GRACE_MS;
  const deps: PublishDeps = {
    secrets: options.secrets,
    connectorOptions: options.connectorOptions ?? {},
    destinations,
    validations: projectRecords(store.store, 'validation', validationRecordSchema),
    approvals: { store: approvalStore(store.store, readProjectLogLimits().maxBytes), ...(options.catalogApproval ?? readCatalogApprovalSettings()) },
    obs: { service: 'publish', audit, metrics },
    packageDeadlineMs: options.packageDeadlineMs ?? readPackageDeadlineMs(),
    jobs,
    settlements: new Settlements(options.log),
  };
  await jobs.start(publishJobHandler(deps), { onAbandoned: releaseAbandoned(destinations, options.log) });
  const app = createHttpService({ name: 'publish', description: 'Validates connections, extracts and packages approved data, publishes it with integrity hashes.', logger: options.log, apiKey: options.apiKey, trustForwardedCaller: true, audit, limits: options.limits, metrics,
    // Ready when its own API key can be read from the secret store (Get only, no List) and every destination's own checks pass (a filestore's mounts).
    readiness: [() => options.secrets.check(apiKeySecretNames.publish), ...Object.values(destinations).flatMap((d) => d.readiness ?? []), ...store.readiness],
  });
  dataPublishRoutes(app, deps);
  // Jobs get their grace as soon as the close starts: the calls waiting for them hold the HTTP server's
  // close until they are answered (finished, or JOB_INTERRUPTED). They end before the store they are
  // kept in closes (onClose hooks run in order).
  let jobsClosed: Promise<void> | undefined;
  const closeJobs = () => (jobsClosed ??= jobs.close(jobsGraceMs));
  app.addHook('preClose', async () => void closeJobs().catch((error: unknown) => options.log.error({ err: error }, 'closing the jobs failed')));
  app.addHook('onClose', () => closeJobs());
  // Publishes answered just before the close finish their last step (bounded: a settle left undone is answered by a repeat).
  app.addHook('onClose', () => deps.settlements.drain(10_000));
  app.addHook('onClose', store.close);
  await mountSubgraph(app, 'publish', publishResolvers(deps), options.log, metrics);
  return app;
}
