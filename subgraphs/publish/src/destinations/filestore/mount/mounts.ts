import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { readSettingFamily } from '../../../../../../lib/config/env.js';
import { destinationMounts } from '../../../../../../lib/config/settings/index.js';
import { AppError } from '../../../../../../lib/errors.js';
import { openMount } from './project-folders.js';

/** Codes of failures a filestore names a path of its mount in (relative): they are prefixed with the destination's name. */
const ABOUT_THE_MOUNT = new Set(['DESTINATION_NOT_READY', 'FILESTORE_PATH_REFUSED', 'ALREADY_PUBLISHED', 'PROJECT_SPELLING_CLASH']);

/** The variable that names a destination's mount: LSC → TARGET_STORAGE_ACCOUNT_LSC_SDE_MNT_PATH. */
export function mountVariable(destinationName: string): string {
  return `TARGET_STORAGE_ACCOUNT_${destinationName.toUpperCase()}_SDE_MNT_PATH`;
}

/**
 * The filestore mounts this service was configured with, one per destination
 * name, read once from the environment at start-up.
 */
export class StorageMounts {
  private readonly mounts: Map<string, string>;

  constructor(env?: NodeJS.ProcessEnv) {
    this.mounts = new Map();
    for (const [name, folder] of readSettingFamily(destinationMounts, env)) this.mounts.set(name, path.resolve(folder));
  }

  /** Destination names with a mount. */
  names(): string[] {
    return [...this.mounts.keys()].sort();
  }

  /** The absolute mount folder of a destination; DESTINATION_NOT_CONFIGURED when none is set. */
  root(destinationName: string): string {
    const root = this.mounts.get(destinationName.toUpperCase());
    if (!root) {
      const known = this.names();
      throw new AppError(
        'DESTINATION_NOT_CONFIGURED',
        `No filestore is configured for destination '${destinationName}': set ${mountVariable(destinationName)}. Configured destinations: ${known.length ? known.join(', ') : '(none)'}.`,
      );
    }
    return root;
  }

  /**
   * Runs `work` on a destination's mount; a failure about the mount is
   * prefixed with the destination's name for the caller (the paths in it are
   * relative to the mount), and its mount folder for the log.
   */
  async on<T>(destinationName: string, work: (root: string) => Promise<T>): Promise<T> {
    const root = this.root(destinationName);
    try {
      return await work(root);
    } catch (error) {
      if (error instanceof AppError && ABOUT_THE_MOUNT.has(error.code)) {
        throw new AppError(error.code, `Destination '${destinationName}': ${error.detail}`, {
          cause: error,
          logDetail: `mount ${root}${error.logDetail ? `: ${error.logDetail}` : ''}`,
        });
      }
      throw error;
    }
  }

  /**
   * Throws unless the mount's staging/ and production/ folders exist (not
   * through a link: FILESTORE_PATH_REFUSED) and are writable
   * (DESTINATION_NOT_READY).
   */
  checkReady(destinationName: string): Promise<void> {
    return this.on(destinationName, async (root) => {
      const { root: dir, staging, production } = await openMount(root);
      try {
        for (const area of [staging, production]) {
          await access(area.path, constants.R_OK | constants.W_OK | constants.X_OK).catch((error: unknown) => {
            throw new AppError('DESTINATION_NOT_READY', `The ${area.rel}/ folder is not writable by this service.`, { cause: error, logDetail: `${area.abs} is not writable` });
          });
        }
      } finally {
        await dir.closeAll();
      }
    });
  }
}
