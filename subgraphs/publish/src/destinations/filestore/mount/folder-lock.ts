import { randomBytes } from 'node:crypto';
import { link, lstat, lutimes, rename, rmdir, unlink } from 'node:fs/promises';
import os from 'node:os';
import { AppError, appError } from '../../../../../../lib/errors.js';
import type { CheckedDir } from './checked-dir.js';
import { filestoreError, projectEntryName, type ProjectRef } from './safe-paths.js';

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
 * `heartbeatMs` while it works, and only while it is still its own: a holder
 * whose lock was released for it (its job declared abandoned,
 * {@link releaseAbandonedLock}) stops refreshing and is told through the
 * `lost` signal its work gets, never touching the next holder's lock.
 * "This host" is the `host` option (the publish replica's name, PUBLISH_REPLICA_NAME,
 * else the host name): two replicas on one machine with their own names do not
 * judge each other's processes.
 */

/** What a lock file holds: who took it, for what, and since when. */
interface Holder {
  token: string;
  action: string;
  /** The request the holder serves: the busy answer names it. */
  request_id?: string;
  /** The durable job doing the work, when it runs as one: a job declared abandoned frees only its own lock. */
  job?: string;
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
  /** The job doing the work, written into the lock so that it can be freed when that job is declared abandoned. */
  jobId?: string | undefined;
}

export interface FolderLockOptions {
  /** How often the holder refreshes its lock (ms). */
  heartbeatMs?: number;
  /** A lock not refreshed for this long is abandoned (ms). */
  staleMs?: number;
  /** Who this process is on the mount: the same name means the same host, whose processes can be asked whether they run (default: the host name). */
  host?: string;
}

const DEFAULTS = { heartbeatMs: 15_000, staleMs: 120_000 };
const hostOf = (options: FolderLockOptions) => options.host ?? os.hostname();
const INSTANCE = randomBytes(8).toString('hex');
const LOCKS = '.locks';

/** The lock file's name in `staging/.locks/`: the project lower-cased, so spellings differing in case share it. */
export function lockName(ref: ProjectRef): string {
  return `${projectEntryName(ref)}.lock`;
}

/**
 * Runs `work` holding the project's lock; PROJECT_BUSY naming the running
 * action when another call holds it. `staging` is the mount's staging folder;
 * `ref` must have been checked (checkProjectRef).
 */
export async function withFolderLock<T>(staging: CheckedDir, ref: ProjectRef, call: LockCall, work: (lost: AbortSignal) => Promise<T>, options: FolderLockOptions = {}): Promise<T> {
  const { heartbeatMs, staleMs } = { ...DEFAULTS, ...options };
  const host = hostOf(options);
  const name = lockName(ref);
  const { mine, locks } = await acquire(staging, name, ref, call, staleMs, host).catch((error: unknown) => {
    throw filestoreError('Locking the project folder', error);
  });
  const lost = new AbortController();
  const heartbeat = setInterval(() => {
    void (async () => {
      // Refreshed only while it is still ours: a lock freed for us (our job declared abandoned) and taken by the next call is never kept alive by us.
      const current = await readHolder(locks, name);
      // Unreadable for a moment (a share's hiccup, a new holder still writing it): looked at again at the next refresh.
      if (!current && !(await isGone(locks, name))) return;
      if (current?.token !== mine.token) {
        clearInterval(heartbeat);
        if (!lost.signal.aborted) lost.abort(appError('JOB_INTERRUPTED', { kind: call.action, id: call.jobId ?? '(none)', why: 'its project lock was freed for the next call (the job had been declared abandoned)' }));
        return;
      }
      const now = new Date();
      // lutimes: whatever is at the name is touched itself, never a link's target.
      await lutimes(locks.at(name), now, now);
    })().catch(() => undefined);
  }, heartbeatMs);
  heartbeat.unref();
  try {
    return await work(lost.signal);
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

async function acquire(staging: CheckedDir, name: string, ref: ProjectRef, call: LockCall, staleMs: number, host: string): Promise<{ mine: Holder; locks: CheckedDir }> {
  const mine: Holder = {
    token: randomBytes(12).toString('hex'),
    action: call.action,
    ...(call.requestId ? { request_id: call.requestId } : {}),
    ...(call.jobId ? { job: call.jobId } : {}),
    host,
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
      if (code === 'EEXIST') await takeOverIfAbandoned(locks, name, ref, call, staleMs, host);
    } finally {
      if (!handover) await locks.close();
    }
  }
  const locks = await staging.open(LOCKS);
  throw busy(ref, call, locks ? await readHolder(locks, name).finally(() => locks.close()) : undefined);
}

/** The lock `name` exists: PROJECT_BUSY unless its holder is gone, in which case it is moved away (by one process only). */
async function takeOverIfAbandoned(locks: CheckedDir, name: string, ref: ProjectRef, call: LockCall, staleMs: number, host: string): Promise<void> {
  const info = await lstat(locks.at(name)).catch(() => undefined);
  if (!info) return;
  if (!info.isFile()) throw await locks.refusal(name, 'regular file');
  const holder = await readHolder(locks, name);
  if (!isAbandoned(holder, info.mtimeMs, staleMs, host)) throw busy(ref, call, holder);
  await moveAside(locks, name, holder);
}

/**
 * Removes the lock `name` that `holder` was read from: only one process can
 * move the file aside; whoever did checks it moved that holder's lock, not a
 * new one (which it puts back). Answers whether it removed the holder's lock.
 */
async function moveAside(locks: CheckedDir, name: string, holder: Holder | undefined): Promise<boolean> {
  const aside = `${name}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(locks.at(name), locks.at(aside));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  const moved = await readHolder(locks, aside);
  const same = !moved || moved.token === holder?.token;
  if (!same) await link(locks.at(aside), locks.at(name)).catch(() => undefined);
  await unlink(locks.at(aside)).catch(() => undefined);
  return same;
}

/**
 * Frees the project's lock if, and only if, it is held by `jobId` (a job the
 * job engine declared abandoned: its replica stopped sending heartbeats), so
 * the next call need not wait `staleMs`. A lock held by any other call, or by
 * no job, is left alone. Answers whether a lock was freed. Should the job's
 * replica be slow rather than dead, its refresh finds the lock no longer its
 * own and stops (see {@link withFolderLock}).
 */
export async function releaseAbandonedLock(staging: CheckedDir, ref: ProjectRef, jobId: string): Promise<boolean> {
  const locks = await staging.open(LOCKS);
  if (!locks) return false;
  try {
    const name = lockName(ref);
    const holder = await readHolder(locks, name);
    if (holder?.job !== jobId) return false;
    return await moveAside(locks, name, holder);
  } finally {
    await locks.close();
    await rmdir(staging.at(LOCKS)).catch(() => undefined);
  }
}

/** Whether nothing is at `name` any more (as opposed to a file that cannot be read just now). */
async function isGone(locks: CheckedDir, name: string): Promise<boolean> {
  return lstat(locks.at(name)).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
  );
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
function isAbandoned(holder: Holder | undefined, mtimeMs: number, staleMs: number, host: string): boolean {
  const here = holder?.host === host;
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
