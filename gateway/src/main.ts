/** The approval service (the gateway) process: `npm run start:gateway`. */
import { readEnv, setting } from '../../lib/config/env.js';
import { readApiKey, runService } from '../../lib/service/run.js';
import { buildGatewayApp } from './app.js';

const gatewaySettings = {
  APPROVAL_PORT: setting.port(8000),
  METADATA_CONTAINER_NAME: setting.string('127.0.0.1'),
  METADATA_CONTAINER_PORT: setting.port(8002),
  PUBLISH_CONTAINER_NAME: setting.string('127.0.0.1'),
  PUBLISH_CONTAINER_PORT: setting.port(8003),
};

await runService(
  'approval',
  (env) => readEnv(gatewaySettings, env).APPROVAL_PORT,
  async (base) => {
    const s = readEnv(gatewaySettings);
    // The gateway holds every service's key and sends each subgraph its own.
    const [metadataKey, publishKey] = await Promise.all([readApiKey(base.secrets, 'metadata'), readApiKey(base.secrets, 'publish')]);
    return buildGatewayApp({
      ...base,
      subgraphs: {
        metadata: { url: `http://${s.METADATA_CONTAINER_NAME}:${s.METADATA_CONTAINER_PORT}/graphql`, apiKey: metadataKey },
        publish: { url: `http://${s.PUBLISH_CONTAINER_NAME}:${s.PUBLISH_CONTAINER_PORT}/graphql`, apiKey: publishKey },
      },
    });
  },
);
