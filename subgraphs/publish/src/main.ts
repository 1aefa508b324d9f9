/** The publish service process: `npm run start:publish`. */
import { serviceConnectorOptions } from '../../../lib/config/connector-settings.js';
import { readSettings } from '../../../lib/config/env.js';
import { publishPortSettings } from '../../../lib/config/settings/index.js';
import { runService } from '../../../lib/service/run.js';
import { buildPublishApp } from './app.js';

await runService(
  'publish',
  () => readSettings(publishPortSettings).PUBLISH_CONTAINER_PORT,
  async (base) => buildPublishApp({ ...base, connectorOptions: serviceConnectorOptions(base.log) }),
);
