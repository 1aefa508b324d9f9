/**
 * Filesystem tools for the crash and fault tests: what a folder holds (every
 * entry, hidden ones included, and each payload file's size and SHA-512), a
 * poller, and the mounts that simulate storage faults (a small tmpfs that
 * fills up, a read-only bind mount). The tests run as root, for whom mode bits
 * do not stop writes: only a read-only mount does.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

/** One file as the comparison of end states sees it. */
export interface FileDigest {
  /** Relative to the folder digested, '/'-separated. */
  path: string;
  bytes: number;
  sha512: string;
}

async function sha512Of(file: string): Promise<string> {
  const hash = createHash('sha512');
  await pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), hash);
  return hash.digest('hex');
}

/** Every regular file under `dir` (hidden ones included), sorted by path, with size and SHA-512; none when `dir` is absent. */
export async function digestTree(dir: string): Promise<FileDigest[]> {
  const out: FileDigest[] = [];
  for (const rel of await listTree(dir)) {
    const full = path.join(dir, ...rel.split('/'));
    const info = await stat(full);
    if (info.isFile()) out.push({ path: rel, bytes: info.size, sha512: await sha512Of(full) });
  }
  return out;
}

/** Every entry under `dir` (folders and files, hidden ones included), '/'-separated and sorted; none when `dir` is absent. */
export async function listTree(dir: string, prefix = ''): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const found: string[] = [];
  for (const entry of entries) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    found.push(rel);
    if (entry.isDirectory()) found.push(...(await listTree(path.join(dir, entry.name), rel)));
  }
  return found.sort();
}

/** The total size of the regular files under `dir` (0 when absent); never throws (files come and go while it reads). */
export async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await treeBytes(full);
    else total += await stat(full).then((s) => s.size, () => 0);
  }
  return total;
}

/** Names in `dir` (not recursive), sorted; none when absent. */
export async function namesIn(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

/**
 * Polls `check` every `intervalMs` until it answers a value other than
 * undefined/false, and gives that value; fails naming `what` after `timeoutMs`.
 */
export async function waitUntil<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 5));
  }
}

/**
 * Checks `check` without yielding to the event loop until it is true, so that
 * what follows (a SIGKILL) comes within a fraction of a millisecond of the
 * change; fails naming `what` after `timeoutMs`. Between checks the thread
 * sleeps 0.1 ms (Atomics.wait: no event loop turn, no CPU): a spinner that
 * never sleeps takes, on a loaded 2-vCPU machine, the CPU the process it
 * waits for needs (a CI run waited over 20 s for a package of one second).
 * It blocks this process: only for the moment before a kill.
 */
export function spinUntil(what: string, check: () => boolean, timeoutMs = 120_000): void {
  const deadline = Date.now() + timeoutMs;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    Atomics.wait(nap, 0, 0, 0.1);
  }
}

function run(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Whether this process may mount filesystems (root with CAP_SYS_ADMIN, as in the test container): tries a tiny tmpfs. */
export async function canMount(): Promise<boolean> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cr8tor-mountcheck-'));
  try {
    run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    run('umount', [dir]);
    return true;
  } catch {
    return false;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Mounts a tmpfs of `bytes` on `dir` (which must exist): a small volume that fills up. */
export function mountTmpfs(dir: string, bytes: number): void {
  run('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir]);
}

/** Grows or shrinks the tmpfs on `dir` (frees space without touching its files). */
export function resizeTmpfs(dir: string, bytes: number): void {
  run('mount', ['-o', `remount,size=${bytes}`, dir]);
}

/** Makes `dir` read-only in place: a bind mount of itself, remounted read-only. */
export function bindReadOnly(dir: string): void {
  run('mount', ['--bind', dir, dir]);
  run('mount', ['-o', 'remount,bind,ro', dir]);
}

/** Undoes {@link mountTmpfs} or {@link bindReadOnly}; lazily, so an open handle cannot make it fail. */
export function unmount(dir: string): void {
  run('umount', ['-l', dir]);
}

/** Unmounts `dir` if something is mounted on it; never throws (for `after` hooks). */
export function unmountQuietly(dir: string): void {
  try {
    unmount(dir);
  } catch {
    // nothing mounted there
  }
}
