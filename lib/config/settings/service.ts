/** Where each service listens, how it finds the others, how it stops and logs. */
import { ALL_SERVICES, defineSettings, setting } from '../env.js';

const APPROVAL_PORT = { ...setting.port(8000), services: ['approval'], description: 'The port the gateway (approval service) listens on.' } as const;
const METADATA_CONTAINER_NAME = {
  ...setting.string('127.0.0.1'),
  services: ['approval'],
  description: 'The host the gateway calls the metadata service at (in Kubernetes its Service name).',
} as const;
const METADATA_CONTAINER_PORT = {
  ...setting.port(8002),
  services: ['approval', 'metadata'],
  description: 'The port the metadata service listens on, and the gateway calls it at.',
} as const;
const PUBLISH_CONTAINER_NAME = {
  ...setting.string('127.0.0.1'),
  services: ['approval'],
  description: 'The host the gateway calls the publish service at (in Kubernetes its Service name).',
} as const;
const PUBLISH_CONTAINER_PORT = {
  ...setting.port(8003),
  services: ['approval', 'publish'],
  description: 'The port the publish service listens on, and the gateway calls it at.',
} as const;

/** The gateway's port and where it finds the subgraphs. */
export const gatewaySettings = defineSettings({ APPROVAL_PORT, METADATA_CONTAINER_NAME, METADATA_CONTAINER_PORT, PUBLISH_CONTAINER_NAME, PUBLISH_CONTAINER_PORT });
/** The metadata service's port. */
export const metadataSettings = defineSettings({ METADATA_CONTAINER_PORT });
/** The publish service's port. */
export const publishPortSettings = defineSettings({ PUBLISH_CONTAINER_PORT });

/** Settings every service process reads at start. */
export const processSettings = defineSettings({
  BIND_HOST: { ...setting.string('0.0.0.0'), services: ALL_SERVICES, description: 'The address each service listens on.' },
  SHUTDOWN_GRACE_MS: {
    ...setting.positiveInt(30_000),
    services: ALL_SERVICES,
    description: 'How long running calls may finish after SIGTERM before the process exits (see docs/deployment.md, "Shutdown and long calls").',
  },
});

/** The logger's level. */
export const loggingSettings = defineSettings({
  LOG_LEVEL: {
    ...setting.choice(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    services: ALL_SERVICES,
    description: 'The least severe level written to the JSON log (pino levels; `silent` writes nothing).',
  },
});
