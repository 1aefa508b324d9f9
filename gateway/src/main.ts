/** The approval service (the gateway) process: `npm run start:gateway`. */
import { readSettings } from '../../lib/config/env.js';
import { gatewaySettings } from '../../lib/config/settings/index.js';
import { readApiKey, runService } from '../../lib/service/run.js';
import { buildGatewayApp } from './app.js';

await runService(
  'approval',
  () => readSettings(gatewaySettings).APPROVAL_PORT,
  async (base) => {
    const s = readSettings(gatewaySettings);
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
