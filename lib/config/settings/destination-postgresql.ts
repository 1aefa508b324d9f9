/** The publish service's PostgreSQL destination and the OPAL server it publishes to. */
import { defineSettings, setting } from '../env.js';

const PUBLISH = ['publish'] as const;
const REQUIRED_WITH_HOST = 'Required when `DESTINATION_POSTGRESQL_HOST` is set.';

export const postgresqlDestinationSettings = defineSettings({
  DESTINATION_POSTGRESQL_HOST: {
    ...setting.optionalString(),
    type: 'host',
    services: PUBLISH,
    description: 'The destination database\'s host. Without it the PostgreSQL destination is off (a `postgresql` request is a 422); with it, every destination setting without a default is required.',
  },
  DESTINATION_POSTGRESQL_PORT: { ...setting.port(5432), services: PUBLISH, description: 'The destination database\'s port.' },
  DESTINATION_POSTGRESQL_DATABASE: { ...setting.optionalString(), services: PUBLISH, description: `The destination database. ${REQUIRED_WITH_HOST}` },
  DESTINATION_POSTGRESQL_USERNAME: {
    ...setting.optionalString(),
    services: PUBLISH,
    description: `The loading user (needs \`CREATE\` on the database; see docs/deployment.md). ${REQUIRED_WITH_HOST}`,
  },
  DESTINATION_POSTGRESQL_PASSWORD_SECRET_NAME: {
    ...setting.optionalString(),
    type: 'secret name',
    secretName: true,
    services: PUBLISH,
    description: `The secret holding the loading user's password. ${REQUIRED_WITH_HOST}`,
  },
  DESTINATION_POSTGRESQL_OPAL_READONLY_USERNAME: {
    ...setting.optionalString(),
    services: PUBLISH,
    description: `The role OPAL reads the loaded tables as (granted read-only access; not the loading user). ${REQUIRED_WITH_HOST}`,
  },
  DESTINATION_POSTGRESQL_OPAL_READONLY_PASSWORD_SECRET_NAME: {
    ...setting.optionalString(),
    type: 'secret name',
    secretName: true,
    services: PUBLISH,
    description: `The secret holding that role's password (written into OPAL's resources). ${REQUIRED_WITH_HOST}`,
  },
  DESTINATION_POSTGRESQL_CONNECT_TIMEOUT_MS: { ...setting.positiveInt(30_000), services: PUBLISH, description: 'Connection timeout for the destination database.' },
  DESTINATION_POSTGRESQL_SWAP_LOCK_TIMEOUT_MS: {
    ...setting.positiveInt(120_000),
    services: PUBLISH,
    description: 'How long replacing a project\'s schema waits for its readers\' locks before the package fails.',
  },
  DESTINATION_OPAL_HOST: { ...setting.optionalUrl(), services: PUBLISH, description: `The OPAL server publish provisions (base URL; the REST API is under \`/ws\`). ${REQUIRED_WITH_HOST}` },
  DESTINATION_OPAL_USERNAME: { ...setting.optionalString(), services: PUBLISH, description: `The OPAL user. ${REQUIRED_WITH_HOST}` },
  DESTINATION_OPAL_PASSWORD_SECRET_NAME: {
    ...setting.optionalString(),
    type: 'secret name',
    secretName: true,
    services: PUBLISH,
    description: `The secret holding the OPAL user's password. ${REQUIRED_WITH_HOST}`,
  },
  DESTINATION_OPAL_NO_SSL_VERIFY: { ...setting.bool(false), services: PUBLISH, description: 'True skips TLS certificate verification for OPAL only.' },
  DESTINATION_OPAL_REQUEST_TIMEOUT_MS: { ...setting.positiveInt(60_000), services: PUBLISH, description: 'Longest one OPAL call may take.' },
});
