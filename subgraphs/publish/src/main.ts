/** The publish service process: `npm run start:publish`. */
import { serviceConnectorOptions } from '../../../lib/config/connector-settings.js';
import { readEnv, setting } from '../../../lib/config/env.js';
import { runService } from '../../../lib/service/run.js';
import { buildPublishApp } from './app.js';

await runService(
  'publish',
  (env) => readEnv({ PUBLISH_CONTAINER_PORT: setting.port(8003) }, env).PUBLISH_CONTAINER_PORT,
  async (base) => buildPublishApp({ ...base, connectorOptions: serviceConnectorOptions(base.log) }),
);
