import { AppError } from '../../../../../../lib/errors.js';
import { CheckedDir } from './checked-dir.js';
import { releaseAbandonedLock, withFolderLock, type FolderLockOptions, type LockCall } from './folder-lock.js';
import { checkProjectRef, filestoreError, type Area, type ProjectRef } from './safe-paths.js';

/** A mount opened for one operation: its root and its two areas, none reached through a link. */
export interface MountFolders {
  root: CheckedDir;
  staging: CheckedDir;
  production: CheckedDir;
}

/**
 * Opens a mount and its areas; DESTINATION_NOT_READY when one is missing,
 * FILESTORE_PATH_REFUSED when one is a link. The caller closes `root.closeAll()`.
 */
export async function openMount(mountRoot: string): Promise<MountFolders> {
  let root: CheckedDir;
  try {
    root = await CheckedDir.openMount(mountRoot);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const problem = code === 'ENOENT' ? 'does not exist' : 'is not a folder';
      throw new AppError('DESTINATION_NOT_READY', `The filestore mount ${problem}.`, { logDetail: `${mountRoot} ${problem}` });
    }
    throw filestoreError('Opening the filestore mount', error);
  }
  try {
    return { root, staging: await openArea(root, 'staging'), production: await openArea(root, 'production') };
  } catch (error) {
    await root.closeAll();
    throw filestoreError('Opening the filestore mount', error);
  }
}

async function openArea(root: CheckedDir, area: Area): Promise<CheckedDir> {
  const dir = await root.open(area);
  if (!dir) throw new AppError('DESTINATION_NOT_READY', `The ${area}/ folder does not exist.`, { logDetail: `${root.absOf(area)} does not exist` });
  return dir;
}

/**
 * Runs `work` on a mount for one project: the mount opened without links, the
 * project's lock held, and any other spelling of its name refused first.
 * `lost` aborts should the lock be freed for another call while `work` runs
 * (its job declared abandoned): `work` checks it before making anything visible.
 */
export async function withProjectFolders<T>(
  mountRoot: string,
  ref: ProjectRef,
  call: LockCall,
  work: (folders: MountFolders, lost: AbortSignal) => Promise<T>,
  lockOptions?: FolderLockOptions,
): Promise<T> {
  checkProjectRef(ref);
  const folders = await openMount(mountRoot);
  try {
    return await withFolderLock(folders.staging, ref, call, async (lost) => {
      await refuseOtherSpellings(folders, ref, call.action);
      return work(folders, lost);
    }, lockOptions);
  } finally {
    await folders.root.closeAll();
  }
}

/** Frees the project's lock on a mount if the job `jobId` (declared abandoned) holds it; answers whether it did (folder-lock.ts, releaseAbandonedLock). */
export async function releaseAbandonedProject(mountRoot: string, ref: ProjectRef, jobId: string): Promise<boolean> {
  checkProjectRef(ref);
  const folders = await openMount(mountRoot);
  try {
    return await releaseAbandonedLock(folders.staging, ref, jobId);
  } finally {
    await folders.root.closeAll();
  }
}

/**
 * PROJECT_SPELLING_CLASH when staging/ or production/ holds the project under
 * a spelling that differs only in case (`Pr004` for `pr004`): on a
 * case-insensitive share (Azure Files) those are one folder, so two projects
 * could otherwise write into each other's. (Start times hold no letters.)
 */
async function refuseOtherSpellings({ staging, production }: MountFolders, ref: ProjectRef, action: string): Promise<void> {
  const wanted = ref.project.toLowerCase();
  for (const area of [staging, production]) {
    let names: string[];
    try {
      names = await area.list();
    } catch (error) {
      throw filestoreError(`Reading the ${area.rel}/ folder`, error);
    }
    const other = names.find((n) => n !== ref.project && n.toLowerCase() === wanted);
    if (other !== undefined) {
      throw new AppError(
        'PROJECT_SPELLING_CLASH',
        `${area.relOf(other)} exists, a spelling of project '${ref.project}' that differs only in case; folder names are not case-sensitive on the filestore, so this ${action} was refused and nothing was changed.`,
      );
    }
  }
}
