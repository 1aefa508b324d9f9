import type { DestinationFactory } from '../factory.js';
import { FILESTORE_WRITER_FORMATS } from './formats/writer.js';
import type { FolderLockOptions } from './mount/folder-lock.js';
import { mountVariable, StorageMounts } from './mount/mounts.js';
import { FILESTORE_SETTING_NAMES, readFilestoreSettings, type FilestoreSettings } from './settings.js';

/** What the filestore destination is opened with: its mounts by destination name, and its writer and bag settings. */
export interface FilestoreConfig {
  mounts: StorageMounts;
  settings: FilestoreSettings;
  /** How project locks are held on the mounts (this replica's name there); the host name when absent. */
  lock?: FolderLockOptions;
}

/**
 * The filestore: packages into `{mount}/staging/` in one of formats/, publishes
 * to `{mount}/production/` as a BagIt bag (bag/). Always configured; a request
 * naming a destination without a mount is refused by checkReady.
 */
export const filestoreFactory: DestinationFactory<FilestoreConfig> = {
  type: 'filestore',
  settings: [mountVariable('{NAME}'), ...FILESTORE_SETTING_NAMES],
  formats: FILESTORE_WRITER_FORMATS,
  readSettings: (env) => ({ mounts: new StorageMounts(env), settings: readFilestoreSettings(env) }),
  load: async ({ mounts, settings, lock }) => (await import('./destination.js')).filestoreDestination(mounts, settings, lock),
};
