import type { FastifyInstance } from 'fastify';
import type { ApiKeyVerifier } from '../../../lib/auth/api-key.js';
import type { ConnectorOptions } from '../../../lib/connectors/index.js';
import { mountSubgraph } from '../../../lib/graphql/subgraph.js';
import { createHttpService } from '../../../lib/http/service.js';
import type { Logger } from '../../../lib/logging/logger.js';
import { ProjectLog } from '../../../lib/project-log.js';
import type { SecretProvider } from '../../../lib/secrets/index.js';
import type { MetadataReport } from './describe-dataset.js';
import { metadataResolvers } from './resolvers.js';
import { metadataProjectRoute } from './rest/metadata-project.js';

export interface MetadataAppOptions {
  log: Logger;
  secrets: SecretProvider;
  apiKey: ApiKeyVerifier;
  connectorOptions?: ConnectorOptions;
}

/** The metadata service: `POST /metadata/project` and the metadata subgraph at `/graphql`. */
export async function buildMetadataApp(options: MetadataAppOptions): Promise<FastifyInstance> {
  const deps = { secrets: options.secrets, connectorOptions: options.connectorOptions ?? {}, reports: new ProjectLog<MetadataReport>() };
  const app = createHttpService({ name: 'metadata', logger: options.log, apiKey: options.apiKey, readiness: [() => options.secrets.check()] });
  metadataProjectRoute(app, deps);
  await mountSubgraph(app, 'metadata', metadataResolvers(deps), options.log);
  return app;
}
