import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../../../lib/errors.js';

const MOUNT_VARIABLE = /^TARGET_STORAGE_ACCOUNT_([A-Za-z0-9_]+)_SDE_MNT_PATH$/;

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

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.mounts = new Map();
    for (const [key, value] of Object.entries(env)) {
      const match = MOUNT_VARIABLE.exec(key);
      if (match && value && value.trim() !== '') this.mounts.set(match[1]!.toUpperCase(), path.resolve(value.trim()));
    }
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

  /** Throws DESTINATION_NOT_READY unless the mount's staging/ and production/ folders exist and are writable. */
  async checkReady(destinationName: string): Promise<void> {
    const root = this.root(destinationName);
    for (const area of ['staging', 'production']) {
      const dir = path.join(root, area);
      const problem = await folderProblem(dir);
      if (problem) throw new AppError('DESTINATION_NOT_READY', `The ${area} folder of destination '${destinationName}' (${dir}) ${problem}.`);
    }
  }
}

async function folderProblem(dir: string): Promise<string | undefined> {
  try {
    if (!(await stat(dir)).isDirectory()) return 'is not a folder';
  } catch {
    return 'does not exist';
  }
  try {
    await access(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch {
    return 'is not writable by this service';
  }
  return undefined;
}
