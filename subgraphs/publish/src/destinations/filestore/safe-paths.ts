import { randomBytes } from 'node:crypto';
import { open, readdir, realpath, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { PROJECT_NAME } from '../../../../../lib/contract/requests.js';
import { AppError } from '../../../../../lib/errors.js';

const START_TIME = /^\d{8}_\d{6}$/;

/** The mount's two areas. */
export type Area = 'staging' | 'production';

/** A project's folder names, checked again here so no caller can build a path from an unchecked name. */
export interface ProjectRef {
  project: string;
  startTime: string;
}

/** Throws INVALID_REQUEST unless the project name and start time are the contract's safe forms. */
export function checkProjectRef(ref: ProjectRef): void {
  if (!PROJECT_NAME.test(ref.project)) {
    throw new AppError('INVALID_REQUEST', `Invalid request body: project_name '${ref.project}' is not a safe folder name.`);
  }
  if (!START_TIME.test(ref.startTime)) {
    throw new AppError('INVALID_REQUEST', `Invalid request body: project_start_time '${ref.startTime}' must be YYYYMMDD_HHMMSS.`);
  }
}

/**
 * Joins `parts` under `root` and throws unless the result stays strictly inside
 * `root` (no `..`, no absolute part, no NUL). Lexical check; see {@link assertRealInside}
 * for symbolic links.
 */
export function insideMount(root: string, ...parts: string[]): string {
  const base = path.resolve(root);
  for (const part of parts) {
    if (part === '' || part.includes('\0') || path.isAbsolute(part)) throw escapeError(root, parts);
  }
  const full = path.resolve(base, ...parts);
  const rel = path.relative(base, full);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw escapeError(root, parts);
  return full;
}

function escapeError(root: string, parts: string[]): AppError {
  return new AppError('INTERNAL', `Refusing a filestore path outside the mount ${root}: ${JSON.stringify(parts)}.`);
}

/**
 * Throws unless `target`, with every symbolic link in its existing part resolved,
 * is inside `root` (also resolved). Guards against a link planted in the mount
 * redirecting a write or a delete elsewhere.
 */
export async function assertRealInside(root: string, target: string): Promise<void> {
  const realRoot = await realpath(root);
  let existing = path.resolve(target);
  let rest = '';
  for (;;) {
    try {
      const real = await realpath(existing);
      const full = rest ? path.join(real, rest) : real;
      const rel = path.relative(realRoot, full);
      if (rel.startsWith('..') || path.isAbsolute(rel)) {
        throw new AppError('INTERNAL', `Refusing a filestore path that leaves the mount ${root} through a symbolic link: ${target}.`);
      }
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const parent = path.dirname(existing);
      if (parent === existing) throw error;
      rest = rest ? path.join(path.basename(existing), rest) : path.basename(existing);
      existing = parent;
    }
  }
}

/** Throws DESTINATION_NOT_READY unless `{root}/{area}` is an existing folder. */
export async function requireArea(root: string, area: Area): Promise<string> {
  const dir = insideMount(root, area);
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new AppError('DESTINATION_NOT_READY', `The ${area} folder of the filestore (${dir}) does not exist.`);
  }
  return dir;
}

/** A fresh hidden name beside `{name}` for work in progress: `.{name}.{kind}-{random}`. */
export function hiddenSibling(name: string, kind: 'partial' | 'replaced'): string {
  return `.${name}.${kind}-${randomBytes(6).toString('hex')}`;
}

/** Removes hidden work folders `.{name}.partial-*` / `.{name}.replaced-*` left in `dir` by an interrupted run. */
export async function removeLeftovers(dir: string, name: string): Promise<void> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  const prefixes = [`.${name}.partial-`, `.${name}.replaced-`];
  await Promise.all(
    entries.filter((e) => prefixes.some((p) => e.startsWith(p))).map((e) => rm(path.join(dir, e), { recursive: true, force: true })),
  );
}

/** Flushes a folder's entries (new names, renames) to disk. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some filesystems (e.g. SMB/CIFS mounts) refuse fsync on a folder; the data files themselves were synced.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EPERM' && code !== 'EBADF') throw error;
  } finally {
    await handle.close();
  }
}

/** Turns a filesystem failure into an AppError an operator can act on; AppErrors pass through. */
export function filestoreError(action: string, error: unknown): AppError {
  if (error instanceof AppError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new AppError('DESTINATION_NOT_READY', `${action} failed: no space left on the filestore volume.`, { cause: error });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new AppError('DESTINATION_NOT_READY', `${action} failed: the filestore is not writable by this service (${message}).`, { cause: error });
  }
  return new AppError('INTERNAL', `${action} failed: ${message}`, { cause: error });
}
