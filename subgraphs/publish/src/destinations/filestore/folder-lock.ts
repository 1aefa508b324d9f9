import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rename, rmdir, stat, unlink, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../../../../../lib/errors.js';
import { filestoreError, insideMount, type ProjectRef } from './safe-paths.js';

/**
 * One package or publish at a time per project folder, across every process
 * that shares the mount (replicas of the service, a restarted pod): the lock
 * is a file, `staging/.locks/{project}@{start_time}.lock`, created with O_EXCL.
 * A second call for the same project and start time answers PROJECT_BUSY (409)
 * at once rather than wait: it would otherwise redo hours of work the first
 * call is doing, or publish a package still being written. Calls for other
 * projects do not touch this lock and run in parallel.
 *
 * A lock left behind by a process that died is taken over: at once when its
 * holder ran on this host and is gone, otherwise once its holder has not
 * refreshed it (its mtime) for `staleMs`. The holder refreshes it every
 * `heartbeatMs` while it works.
 */

/** What a lock file holds: who took it, for what, and since when. */
interface Holder {
  token: string;
  action: string;
  host: string;
  pid: number;
  /** Distinguishes this process from an earlier one with the same host and pid (a restarted container). */
  instance: string;
  since: string;
}

export interface FolderLockOptions {
  /** How often the holder refreshes its lock (ms). */
  heartbeatMs?: number;
  /** A lock not refreshed for this long is abandoned (ms). */
  staleMs?: number;
}

const DEFAULTS = { heartbeatMs: 15_000, staleMs: 120_000 };
const INSTANCE = randomBytes(8).toString('hex');

/** The lock file of a project folder. */
export function lockPath(mountRoot: string, ref: ProjectRef): string {
  return insideMount(mountRoot, 'staging', '.locks', `${ref.project}@${ref.startTime}.lock`);
}

/**
 * Runs `work` holding the project's lock; PROJECT_BUSY naming the running
 * action when another call holds it. `ref` must have been checked (checkProjectRef).
 */
export async function withFolderLock<T>(
  mountRoot: string,
  ref: ProjectRef,
  action: 'package' | 'publish',
  work: () => Promise<T>,
  options: FolderLockOptions = {},
): Promise<T> {
  const { heartbeatMs, staleMs } = { ...DEFAULTS, ...options };
  const file = lockPath(mountRoot, ref);
  const mine = await acquire(file, ref, action, staleMs).catch((error: unknown) => {
    throw filestoreError('Locking the project folder', error);
  });
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(file, now, now).catch(() => undefined);
  }, heartbeatMs);
  heartbeat.unref();
  try {
    return await work();
  } finally {
    clearInterval(heartbeat);
    // Remove the lock only if it is still ours (it never is someone else's unless ours was judged stale).
    const current = await readHolder(file);
    if (current?.token === mine.token) await unlink(file).catch(() => undefined);
    // Leave staging as tidy as it was; fails harmlessly while another lock is held.
    await rmdir(path.dirname(file)).catch(() => undefined);
  }
}

async function acquire(file: string, ref: ProjectRef, action: string, staleMs: number): Promise<Holder> {
  const mine: Holder = { token: randomBytes(12).toString('hex'), action, host: os.hostname(), pid: process.pid, instance: INSTANCE, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      // The folder may have just been removed by a holder releasing the last lock.
      await mkdir(path.dirname(file), { recursive: true });
      const handle = await open(file, 'wx');
      try {
        await handle.writeFile(JSON.stringify(mine));
        await handle.sync();
        await handle.close();
      } catch (error) {
        await handle.close().catch(() => undefined);
        await unlink(file).catch(() => undefined);
        throw error;
      }
      return mine;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      if (code !== 'EEXIST') throw error;
    }
    const info = await stat(file).catch(() => undefined);
    if (!info) continue;
    const holder = await readHolder(file);
    if (!isAbandoned(holder, info.mtimeMs, staleMs)) throw busy(ref, action, holder);
    // Take the abandoned lock over: only one process can move the file aside;
    // whoever did checks it moved the lock it judged abandoned, not a new one.
    const aside = `${file}.stale-${randomBytes(6).toString('hex')}`;
    try {
      await rename(file, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const moved = await readHolder(aside);
    if (moved && moved.token !== holder?.token) await link(aside, file).catch(() => undefined);
    await unlink(aside).catch(() => undefined);
  }
  throw busy(ref, action, await readHolder(file));
}

/** The holder written in a lock file, or undefined when it is gone or unreadable (being written, or cut short by a crash). */
async function readHolder(file: string): Promise<Holder | undefined> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<Holder>;
    return typeof parsed.token === 'string' ? (parsed as Holder) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a lock's holder is gone: not refreshed for `staleMs`, or a process of this host that no longer runs. */
function isAbandoned(holder: Holder | undefined, mtimeMs: number, staleMs: number): boolean {
  const here = holder?.host === os.hostname();
  if (here && holder?.instance === INSTANCE) return false;
  if (Date.now() - mtimeMs > staleMs) return true;
  if (!holder || !here) return false;
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function busy(ref: ProjectRef, action: string, holder: Holder | undefined): AppError {
  const running = holder ? `A ${holder.action} of project '${ref.project}' (start time ${ref.startTime}) has been running since ${holder.since} (process ${holder.pid} on ${holder.host})` : `A package or publish of project '${ref.project}' (start time ${ref.startTime}) is running`;
  return new AppError('PROJECT_BUSY', `${running} on this destination; this ${action} was not started. Try again once it has finished.`);
}
