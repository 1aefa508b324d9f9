import type { FastifyInstance } from 'fastify';
import { AuditLog } from '../../../lib/audit/audit-log.js';
import type { ApiKeyVerifier } from '../../../lib/auth/api-key.js';
import type { ConnectorOptions } from '../../../lib/connectors/index.js';
import { mountSubgraph } from '../../../lib/graphql/subgraph.js';
import { createHttpService } from '../../../lib/http/service.js';
import type { Logger } from '../../../lib/logging/logger.js';
import { ServiceMetrics } from '../../../lib/metrics/metrics.js';
import { ProjectLog } from '../../../lib/project-log.js';
import type { SecretProvider } from '../../../lib/secrets/index.js';
import type { PublishDeps, ValidationRecord } from './deps.js';
import { filestoreDestination } from './destinations/filestore/destination.js';
import { readFilestoreSettings, StorageMounts, type FilestoreSettings } from './destinations/filestore/index.js';
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
}

/** The publish service: `/data-publish/*` and the publish subgraph at `/graphql`. */
export async function buildPublishApp(options: PublishAppOptions): Promise<FastifyInstance> {
  const metrics = new ServiceMetrics('publish');
  const audit = options.audit ?? AuditLog.fromEnv();
  const deps: PublishDeps = {
    secrets: options.secrets,
    connectorOptions: options.connectorOptions ?? {},
    destinations: {
      filestore: filestoreDestination(options.mounts ?? new StorageMounts(), options.filestore ?? readFilestoreSettings()),
    },
    validations: new ProjectLog<ValidationRecord>(),
    obs: { service: 'publish', audit, metrics },
  };
  const app = createHttpService({ name: 'publish', logger: options.log, apiKey: options.apiKey, metrics, readiness: [() => options.secrets.check()] });
  app.addHook('onClose', () => audit.close());
  dataPublishRoutes(app, deps);
  await mountSubgraph(app, 'publish', publishResolvers(deps), options.log, metrics);
  return app;
}
