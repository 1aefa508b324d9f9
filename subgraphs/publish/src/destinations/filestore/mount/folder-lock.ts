import { randomBytes } from 'node:crypto';
import { link, lstat, lutimes, rename, rmdir, unlink } from 'node:fs/promises';
import os from 'node:os';
import { AppError } from '../../../../../../lib/errors.js';
import type { CheckedDir } from './checked-dir.js';
import { filestoreError, type ProjectRef } from './safe-paths.js';

/**
 * One package or publish at a time per project folder, across every process
 * that shares the mount (replicas of the service, a restarted pod): the lock
 * is a file, `staging/.locks/{project, lower-cased}@{start_time}.lock`, created
 * with O_EXCL (never through a link). Project names differing only in case
 * share it: on a case-insensitive share (Azure Files) they are one folder.
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
  /** The request the holder serves: the busy answer names it. */
  request_id?: string;
  host: string;
  pid: number;
  /** Distinguishes this process from an earlier one with the same host and pid (a restarted container). */
  instance: string;
  since: string;
}

/** The call taking the lock. */
export interface LockCall {
  action: 'package' | 'publish';
  /** Its request id, written into the lock so a refused call learns which request holds it. */
  requestId?: string | undefined;
}

export interface FolderLockOptions {
  /** How often the holder refreshes its lock (ms). */
  heartbeatMs?: number;
  /** A lock not refreshed for this long is abandoned (ms). */
  staleMs?: number;
}

const DEFAULTS = { heartbeatMs: 15_000, staleMs: 120_000 };
const INSTANCE = randomBytes(8).toString('hex');
const LOCKS = '.locks';

/** The lock file's name in `staging/.locks/`: the project lower-cased, so spellings differing in case share it. */
export function lockName(ref: ProjectRef): string {
  return `${ref.project.toLowerCase()}@${ref.startTime}.lock`;
}

/**
 * Runs `work` holding the project's lock; PROJECT_BUSY naming the running
 * action when another call holds it. `staging` is the mount's staging folder;
 * `ref` must have been checked (checkProjectRef).
 */
export async function withFolderLock<T>(staging: CheckedDir, ref: ProjectRef, call: LockCall, work: () => Promise<T>, options: FolderLockOptions = {}): Promise<T> {
  const { heartbeatMs, staleMs } = { ...DEFAULTS, ...options };
  const name = lockName(ref);
  const { mine, locks } = await acquire(staging, name, ref, call, staleMs).catch((error: unknown) => {
    throw filestoreError('Locking the project folder', error);
  });
  const heartbeat = setInterval(() => {
    const now = new Date();
    // lutimes: whatever is at the name is touched itself, never a link's target.
    lutimes(locks.at(name), now, now).catch(() => undefined);
  }, heartbeatMs);
  heartbeat.unref();
  try {
    return await work();
  } finally {
    clearInterval(heartbeat);
    // Remove the lock only if it is still ours (it never is someone else's unless ours was judged stale).
    const current = await readHolder(locks, name);
    if (current?.token === mine.token) await unlink(locks.at(name)).catch(() => undefined);
    await locks.close();
    // Leave staging as tidy as it was; fails harmlessly while another lock is held.
    await rmdir(staging.at(LOCKS)).catch(() => undefined);
  }
}

async function acquire(staging: CheckedDir, name: string, ref: ProjectRef, call: LockCall, staleMs: number): Promise<{ mine: Holder; locks: CheckedDir }> {
  const mine: Holder = {
    token: randomBytes(12).toString('hex'),
    action: call.action,
    ...(call.requestId ? { request_id: call.requestId } : {}),
    host: os.hostname(),
    pid: process.pid,
    instance: INSTANCE,
    since: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    // The folder may have just been removed by a holder releasing the last lock: opened (or made) afresh each time.
    const locks = (await staging.open(LOCKS, true))!;
    let handover = false;
    try {
      const handle = await locks.newFile(name);
      try {
        await handle.writeFile(JSON.stringify(mine));
        await handle.sync();
        await handle.close();
      } catch (error) {
        await handle.close().catch(() => undefined);
        await unlink(locks.at(name)).catch(() => undefined);
        throw error;
      }
      handover = true;
      return { mine, locks };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'EEXIST') throw error;
      if (code === 'EEXIST') await takeOverIfAbandoned(locks, name, ref, call, staleMs);
    } finally {
      if (!handover) await locks.close();
    }
  }
  const locks = await staging.open(LOCKS);
  throw busy(ref, call, locks ? await readHolder(locks, name).finally(() => locks.close()) : undefined);
}

/** The lock `name` exists: PROJECT_BUSY unless its holder is gone, in which case it is moved away (by one process only). */
async function takeOverIfAbandoned(locks: CheckedDir, name: string, ref: ProjectRef, call: LockCall, staleMs: number): Promise<void> {
  const info = await lstat(locks.at(name)).catch(() => undefined);
  if (!info) return;
  if (!info.isFile()) throw await locks.refusal(name, 'regular file');
  const holder = await readHolder(locks, name);
  if (!isAbandoned(holder, info.mtimeMs, staleMs)) throw busy(ref, call, holder);
  // Only one process can move the file aside; whoever did checks it moved the lock it judged abandoned, not a new one.
  const aside = `${name}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(locks.at(name), locks.at(aside));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = await readHolder(locks, aside);
  if (moved && moved.token !== holder?.token) await link(locks.at(aside), locks.at(name)).catch(() => undefined);
  await unlink(locks.at(aside)).catch(() => undefined);
}

/** The holder written in a lock file, or undefined when it is gone or unreadable (being written, or cut short by a crash). */
async function readHolder(locks: CheckedDir, name: string): Promise<Holder | undefined> {
  try {
    const handle = await locks.readFile(name);
    if (!handle) return undefined;
    const text = await handle.readFile('utf8').finally(() => handle.close());
    const parsed = JSON.parse(text) as Partial<Holder>;
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

/** PROJECT_BUSY: which call holds the project and since when; never where (no host or process id). */
function busy(ref: ProjectRef, call: LockCall, holder: Holder | undefined): AppError {
  const request = holder?.request_id ? ` (request ${holder.request_id})` : '';
  const running = holder
    ? `A ${holder.action} of project '${ref.project}' (start time ${ref.startTime}) has been running since ${holder.since}${request}`
    : `A package or publish of project '${ref.project}' (start time ${ref.startTime}) is running`;
  return new AppError('PROJECT_BUSY', `${running} on this destination; this ${call.action} was not started. Try again once it has finished.`, {
    ...(holder ? { logDetail: `the lock is held by process ${holder.pid} on ${holder.host}` } : {}),
  });
}
