/** The metadata service process: `npm run start:metadata`. */
import { serviceConnectorOptions } from '../../../lib/config/connector-settings.js';
import { readEnv, setting } from '../../../lib/config/env.js';
import { runService } from '../../../lib/service/run.js';
import { buildMetadataApp } from './app.js';

await runService(
  'metadata',
  (env) => readEnv({ METADATA_CONTAINER_PORT: setting.port(8002) }, env).METADATA_CONTAINER_PORT,
  async (base) => buildMetadataApp({ ...base, connectorOptions: serviceConnectorOptions(base.log) }),
);
