import type { FastifyInstance } from 'fastify';
import { AuditLog } from '../../../lib/audit/audit-log.js';
import { apiKeySecretNames, type ApiKeyVerifier } from '../../../lib/auth/api-key.js';
import { catalogPoolSettingsFromEnv } from '../../../lib/config/connector-settings.js';
import { CatalogPools, type CatalogPoolSettings } from '../../../lib/connectors/index.js';
import type { ConnectorOptions } from '../../../lib/connectors/index.js';
import { mountSubgraph } from '../../../lib/graphql/subgraph.js';
import type { ConnectionLimits } from '../../../lib/http/plugins/timeouts.js';
import { createHttpService } from '../../../lib/http/service.js';
import type { Logger } from '../../../lib/logging/logger.js';
import { ServiceMetrics } from '../../../lib/metrics/metrics.js';
import type { SecretProvider } from '../../../lib/secrets/index.js';
import { projectRecords, serviceStore, type PlatformStore } from '../../../lib/store/index.js';
import { metadataReportSchema } from '../../../lib/contract/index.js';
import type { MetadataDeps } from './describe-dataset.js';
import { metadataResolvers } from './resolvers.js';
import { metadataProjectRoute } from './rest/metadata-project.js';

export interface MetadataAppOptions {
  log: Logger;
  secrets: SecretProvider;
  apiKey: ApiKeyVerifier;
  connectorOptions?: ConnectorOptions;
  /** The audit trail; from AUDIT_LOG_PATH when absent. */
  audit?: AuditLog;
  /** Timeouts and the connection cap; from HTTP_* settings when absent. */
  limits?: ConnectionLimits;
  /** Bounds of the catalog connection pools, `false` for none; from the SOURCE_METADATA_POOL* settings when absent. */
  catalogPool?: CatalogPoolSettings | false;
  /**
   * The platform database project records are kept in. Absent: opened (and
   * migrated) from the PLATFORM_DATABASE_* settings, closed with the app; null,
   * or none configured: records are kept in memory.
   */
  store?: PlatformStore | null;
}

/** The metadata service: `POST /metadata/project` and the metadata subgraph at `/graphql`. */
export async function buildMetadataApp(options: MetadataAppOptions): Promise<FastifyInstance> {
  const metrics = new ServiceMetrics('metadata');
  const audit = options.audit ?? AuditLog.fromEnv();
  const store = await serviceStore(options);
  const poolSettings = options.catalogPool === undefined ? catalogPoolSettingsFromEnv() : options.catalogPool || undefined;
  const catalogPools = poolSettings ? new CatalogPools(poolSettings) : undefined;
  const deps: MetadataDeps = {
    secrets: options.secrets,
    connectorOptions: { ...options.connectorOptions, ...(catalogPools ? { catalogPools } : {}) },
    reports: projectRecords(store.store, 'metadata_report', metadataReportSchema),
    obs: { service: 'metadata', audit, metrics },
  };
  const app = createHttpService({ name: 'metadata', description: 'Reads table and column metadata from sources, never rows.', logger: options.log, apiKey: options.apiKey, trustForwardedCaller: true, audit, limits: options.limits, metrics, readiness: [() => options.secrets.check(apiKeySecretNames.metadata), ...store.readiness] });
  // After the calls in flight have ended (Fastify closes the server first): the pools' connections close with the service.
  if (catalogPools) app.addHook('onClose', () => catalogPools.close());
  metadataProjectRoute(app, deps);
  app.addHook('onClose', store.close);
  await mountSubgraph(app, 'metadata', metadataResolvers(deps), options.log, metrics);
  return app;
}
