/** The platform's own database: where the services keep their state (lib/store). */
import { defineSettings, setting } from '../env.js';

const STORE_SERVICES = ['metadata', 'publish'] as const;
const WITH_HOST = 'Used with `PLATFORM_DATABASE_HOST`.';

export const platformStoreSettings = defineSettings({
  PLATFORM_DATABASE_URL: {
    // Read as text and checked by lib/store/settings.ts: a bad URL is reported without its password.
    ...setting.optionalString(),
    type: 'URL',
    services: STORE_SERVICES,
    description:
      'The platform\'s own PostgreSQL database, as a `postgresql://user@host:port/database` URL (libpq parameters such as `sslmode` allowed; `sslmode=prefer`, `require` and `verify-ca` check the server\'s certificate and host name as `verify-full` does, unless the URL also says `uselibpqcompat=true`). The services create and migrate their schema (`cr8tor_platform`) there at start-up and keep project records in it, so they survive restarts and every replica answers the same. Put the password in the secret store (`PLATFORM_DATABASE_PASSWORD_SECRET_NAME`), not in the URL. Without this and without `PLATFORM_DATABASE_HOST`, records are kept in memory only and lost on restart.',
  },
  PLATFORM_DATABASE_HOST: {
    ...setting.optionalString(),
    type: 'host',
    services: STORE_SERVICES,
    description: 'The platform\'s own database by its parts instead of `PLATFORM_DATABASE_URL` (set one or the other): its host. With it, `PLATFORM_DATABASE_NAME` and `PLATFORM_DATABASE_USERNAME` are required.',
  },
  PLATFORM_DATABASE_PORT: { ...setting.port(5432), services: STORE_SERVICES, description: `The platform database's port. ${WITH_HOST}` },
  PLATFORM_DATABASE_NAME: { ...setting.optionalString(), services: STORE_SERVICES, description: `The platform database. ${WITH_HOST}` },
  PLATFORM_DATABASE_USERNAME: {
    ...setting.optionalString(),
    services: STORE_SERVICES,
    description: `The services' user (needs \`CREATE\` on the database for its first start; see docs/deployment.md). ${WITH_HOST}`,
  },
  PLATFORM_DATABASE_SSL: { ...setting.bool(false), services: STORE_SERVICES, description: `True connects with TLS, verifying the server's certificate. ${WITH_HOST}` },
  PLATFORM_DATABASE_PASSWORD_SECRET_NAME: {
    ...setting.optionalString(),
    type: 'secret name',
    secretName: true,
    services: STORE_SERVICES,
    description: 'The secret holding the platform database user\'s password, with either `PLATFORM_DATABASE_URL` or `PLATFORM_DATABASE_HOST` (it wins over a password in the URL). Never usable as a source credential.',
  },
  PLATFORM_DATABASE_CONNECT_TIMEOUT_MS: { ...setting.positiveInt(10_000), services: STORE_SERVICES, description: 'Connection timeout for the platform database.' },
});
