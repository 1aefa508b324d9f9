import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { PROJECT_NAME } from '../../../../../../lib/contract/requests.js';
import { AppError } from '../../../../../../lib/errors.js';

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
 * `root` (no `..`, no absolute part, no NUL). The lexical layer; symbolic links
 * are refused by checked-dir.ts, which opens every folder without following one.
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
  return new AppError('INTERNAL', `Refusing a filestore path outside the mount: ${JSON.stringify(parts)}.`, { logDetail: `outside ${root}: ${JSON.stringify(parts)}` });
}

/**
 * The name a project's entry takes in a shared folder of `staging/` (its lock
 * in `.locks/`, its publish receipt in `.published/`): `{project,
 * lower-cased}@{start_time}`, so that spellings differing only in case share it.
 */
export function projectEntryName(ref: ProjectRef): string {
  return `${ref.project.toLowerCase()}@${ref.startTime}`;
}

/** A fresh hidden name beside `{name}` for work in progress: `.{name}.partial-{random}`. */
export function hiddenSibling(name: string): string {
  return `.${name}.partial-${randomBytes(6).toString('hex')}`;
}

/** Whether `entry` is a hidden work folder beside `{name}` (see {@link hiddenSibling}). */
export function isHiddenSibling(entry: string, name: string): boolean {
  return entry.startsWith(`.${name}.partial-`);
}

/**
 * Turns a filesystem failure into an AppError an operator can act on; AppErrors
 * pass through. The caller reads the kind of failure; the OS message, which
 * names paths, goes to the service log only.
 */
export function filestoreError(action: string, error: unknown): AppError {
  if (error instanceof AppError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const logDetail = `${action} failed: ${error instanceof Error ? error.message : String(error)}`;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new AppError('DESTINATION_NOT_READY', `${action} failed: no space left on the filestore volume.`, { cause: error, logDetail });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new AppError('DESTINATION_NOT_READY', `${action} failed: the filestore is not writable by this service (${code}).`, { cause: error, logDetail });
  }
  return new AppError('INTERNAL', `${action} failed${code ? ` (${code})` : ''}; the service log has the details.`, { cause: error, logDetail });
}
