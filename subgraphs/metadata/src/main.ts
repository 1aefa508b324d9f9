/** The metadata service process: `npm run start:metadata`. */
import { serviceConnectorOptions } from '../../../lib/config/connector-settings.js';
import { readSettings } from '../../../lib/config/env.js';
import { metadataSettings } from '../../../lib/config/settings/index.js';
import { runService } from '../../../lib/service/run.js';
import { buildMetadataApp } from './app.js';

await runService(
  'metadata',
  () => readSettings(metadataSettings).METADATA_CONTAINER_PORT,
  async (base) => buildMetadataApp({ ...base, connectorOptions: serviceConnectorOptions(base.log) }),
);
