/** The platform's own state in PostgreSQL: settings, migrations, and what is kept there. */
import type { Logger } from '../logging/logger.js';
import type { SecretProvider } from '../secrets/index.js';
import { openPlatformStore, type PlatformStore } from './store.js';

export { openPlatformStore, type PlatformStore } from './store.js';
export { readPlatformStoreSettings, type PlatformStoreSettings } from './settings.js';
export { projectRecords, StoredProjectRecords, type ProjectRecordKind } from './project-records.js';

/** A service's store, as its app uses it. */
export interface ServiceStore {
  /** undefined: no platform database; state is kept in memory. */
  store: PlatformStore | undefined;
  /** Readiness checks: the database answers. */
  readiness: Array<() => Promise<void>>;
  /** Closes the store if the service opened it. */
  close: () => Promise<void>;
}

/**
 * The store a service's app uses: the one given (null: none), or the one its
 * settings name, opened and migrated now and closed with the app.
 */
export async function serviceStore(options: { store?: PlatformStore | null; secrets: SecretProvider; log: Logger }): Promise<ServiceStore> {
  const opened = options.store === undefined ? await openPlatformStore(options) : undefined;
  const store = opened ?? options.store ?? undefined;
  return {
    store,
    readiness: store ? [async () => void (await store.pool.query('SELECT 1'))] : [],
    close: async () => opened?.close(),
  };
}
