/** What the services keep of what they did: the audit file and the in-memory project records (the platform database's settings: store.ts). */
import { z } from 'zod';
import { ALL_SERVICES, defineSettings, setting } from '../env.js';

export const auditSettings = defineSettings({
  AUDIT_LOG_PATH: {
    ...setting.optionalString(),
    type: 'file path',
    services: ALL_SERVICES,
    description: 'Also append audit events (fsynced JSON lines) to this file, besides stdout; the gateway writes refused calls only.',
  },
});

/** The setting behind ProjectLogLimits.maxBytes (lib/project-log.ts). */
export const projectLogSettings = defineSettings({
  PROJECT_RECORDS_MAX_BYTES: {
    schema: z.coerce
      .number({ message: 'must be a number of bytes' })
      .int('must be a whole number')
      .min(0, 'must be 0 (keep nothing) or more')
      .default(16 * 1024 * 1024),
    type: 'bytes',
    services: ['metadata', 'publish'],
    description:
      'Without a platform database (`PLATFORM_DATABASE_URL`): most bytes (UTF-8 JSON) of the in-memory project records (metadata reports, validations) a service keeps, all projects together, and as many again for the catalogs validations approved (publish); the least recently written projects go first; 0 keeps none. They are lost when the service restarts (see docs/behaviour.md, "Memory bounds").',
  },
});
