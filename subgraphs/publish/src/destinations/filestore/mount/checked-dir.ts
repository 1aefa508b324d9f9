import { constants, existsSync } from 'node:fs';
import { lstat, mkdir, open, readdir, readlink, realpath, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../../../../lib/errors.js';
import { insideMount } from './safe-paths.js';

/**
 * Folders under a destination mount, opened one name at a time without ever
 * following a symbolic link (issue #11 item 3).
 *
 * The mount root is resolved once per operation (realpath: an operator may
 * mount through a link). Below it, every folder is opened with
 * O_DIRECTORY|O_NOFOLLOW relative to its parent's open handle, and every
 * create, rename and delete names an entry relative to such a handle. On Linux
 * a path through `/proc/self/fd/{fd}` reaches the very folder that was opened
 * (Node has no openat(); this is its equivalent), so a link or rename planted
 * after a folder was checked cannot redirect what is done in it. Files are
 * opened with O_NOFOLLOW (O_CREAT|O_EXCL when new), trees are deleted by
 * unlinking names folder by folder (an unlink never follows a link).
 *
 * Left open to a process writing the mount at the same moment: the entry a
 * name points to can change between its lstat and the rename that moves it
 * (the rename then moves whatever is there, a link itself, never through it);
 * DuckDB opens its own database file by path. Where /proc/self/fd is missing
 * (not Linux), the paths are the checked absolute ones, so each check has
 * that window too.
 */

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;
const ANCHORED = process.platform === 'linux' && existsSync('/proc/self/fd');

/** What an entry is, as lstat sees it. */
export type EntryKind = 'missing' | 'folder' | 'file' | 'link' | 'other';

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** A folder opened without following links, and the names in it. */
export class CheckedDir {
  private constructor(
    private readonly handle: FileHandle,
    /** Relative to the mount, '/'-separated; '' for the mount itself. */
    readonly rel: string,
    /** The absolute path it was reached by: for the service log only. */
    readonly abs: string,
    /** Every handle opened from the same root, closed together by {@link closeAll}. */
    private readonly opened: Set<FileHandle>,
  ) {
    opened.add(handle);
  }

  /** Opens a mount's root folder, resolving any link in the configured path itself. */
  static async openMount(root: string): Promise<CheckedDir> {
    const real = await realpath(root);
    return new CheckedDir(await open(real, O_RDONLY | O_DIRECTORY), '', real, new Set());
  }

  /** A path reaching this very folder: `/proc/self/fd/{fd}` on Linux. */
  get path(): string {
    return ANCHORED ? `/proc/self/fd/${this.handle.fd}` : this.abs;
  }

  /** A path naming `name` in this folder; `name` must be one plain component. */
  at(name: string): string {
    if (name.includes('/')) throw new AppError('INTERNAL', `Refusing the filestore name ${JSON.stringify(name)}: not one plain name.`);
    return insideMount(this.path, name);
  }

  /** `name` in this folder, relative to the mount (a folder directly under the mount ends with '/'). */
  relOf(name: string): string {
    if (this.rel === '') return `${name}/`;
    return name === '' ? this.rel : `${this.rel}/${name}`;
  }

  /** `name` in this folder, absolute: for the service log only. */
  absOf(name: string): string {
    return path.join(this.abs, name);
  }

  /** What `name` is in this folder, without following it. */
  async kind(name: string): Promise<EntryKind> {
    try {
      const info = await lstat(this.at(name));
      if (info.isSymbolicLink()) return 'link';
      if (info.isDirectory()) return 'folder';
      return info.isFile() ? 'file' : 'other';
    } catch (error) {
      if (errno(error) === 'ENOENT') return 'missing';
      throw error;
    }
  }

  /** The names in this folder. */
  list(): Promise<string[]> {
    return readdir(this.path);
  }

  /**
   * Opens the folder `name` in this one; undefined when it does not exist
   * (created first when `create`). FILESTORE_PATH_REFUSED when it is a link or
   * not a folder.
   */
  async open(name: string, create = false): Promise<CheckedDir | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const handle = await open(this.at(name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        return new CheckedDir(handle, this.rel === '' ? name : `${this.rel}/${name}`, this.absOf(name), this.opened);
      } catch (error) {
        const code = errno(error);
        if (code === 'ENOTDIR' || code === 'ELOOP') throw await this.refusal(name, 'folder');
        if (code !== 'ENOENT') throw error;
        if (!create) return undefined;
      }
      await mkdir(this.at(name)).catch((error: unknown) => {
        if (errno(error) !== 'EEXIST') throw error;
      });
    }
    throw new AppError('INTERNAL', `${this.relOf(name)} kept disappearing while it was opened.`);
  }

  /** Opens `names` folder by folder below this one; undefined when one is missing (unless `create`). */
  async openPath(names: readonly string[], create = false): Promise<CheckedDir | undefined> {
    const [first, ...rest] = names;
    if (first === undefined) return this;
    return (await this.open(first, create))?.openPath(rest, create);
  }

  /** Creates the folder `name`, which must not exist (a name of this process's own), and opens it. */
  async create(name: string): Promise<CheckedDir> {
    await mkdir(this.at(name));
    return (await this.open(name))!;
  }

  /** Opens the regular file `name` to read; undefined when it does not exist; FILESTORE_PATH_REFUSED when it is anything else. */
  async readFile(name: string): Promise<FileHandle | undefined> {
    let handle: FileHandle;
    try {
      // O_NONBLOCK: a FIFO planted here must not hang the open; it is refused below.
      handle = await open(this.at(name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (error) {
      const code = errno(error);
      if (code === 'ENOENT') return undefined;
      if (code === 'ELOOP') throw await this.refusal(name, 'regular file');
      throw error;
    }
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw await this.refusal(name, 'regular file');
    }
    return handle;
  }

  /** Creates the file `name`, which must not exist, never through a link. */
  async newFile(name: string): Promise<FileHandle> {
    try {
      return await open(this.at(name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o666);
    } catch (error) {
      if (errno(error) === 'EEXIST' && (await this.kind(name)) !== 'file') throw await this.refusal(name, 'regular file');
      throw error;
    }
  }

  /** Throws FILESTORE_PATH_REFUSED when `name`, or anything under it, is a link or neither a folder nor a regular file. */
  async checkTree(name: string): Promise<void> {
    const kind = await this.kind(name);
    if (kind === 'missing' || kind === 'file') return;
    if (kind !== 'folder') throw await this.refusal(name, 'regular file or folder');
    const dir = await this.open(name);
    if (!dir) return;
    try {
      for (const entry of await dir.list()) await dir.checkTree(entry);
    } finally {
      await dir.close();
    }
  }

  /** Deletes `name` and everything under it, name by name: a link met is removed itself, never followed. */
  async removeTree(name: string): Promise<void> {
    const kind = await this.kind(name);
    if (kind === 'missing') return;
    if (kind !== 'folder') {
      await unlink(this.at(name)).catch((error: unknown) => {
        if (errno(error) !== 'ENOENT') throw error;
      });
      return;
    }
    const dir = await this.open(name);
    if (dir) {
      try {
        for (const entry of await dir.list()) await dir.removeTree(entry);
      } finally {
        await dir.close();
      }
    }
    await rmdir(this.at(name)).catch((error: unknown) => {
      if (errno(error) !== 'ENOENT') throw error;
    });
  }

  /** Flushes this folder's entries (new names, renames) to disk. */
  async sync(): Promise<void> {
    try {
      await this.handle.sync();
    } catch (error) {
      // Some filesystems (e.g. SMB/CIFS mounts) refuse fsync on a folder; the data files themselves were synced.
      const code = errno(error);
      if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EPERM' && code !== 'EBADF') throw error;
    }
  }

  /** Closes this folder's handle. */
  async close(): Promise<void> {
    if (!this.opened.delete(this.handle)) return;
    await this.handle.close();
  }

  /** Closes every folder opened from the same root (the root included). */
  async closeAll(): Promise<void> {
    const all = [...this.opened];
    this.opened.clear();
    await Promise.all(all.map((h) => h.close().catch(() => undefined)));
  }

  /** FILESTORE_PATH_REFUSED for `name`, saying what it is instead of the `expected` kind. */
  async refusal(name: string, expected: string): Promise<AppError> {
    const kind = await this.kind(name).catch(() => 'other' as const);
    const rel = this.relOf(name);
    if (kind === 'link') {
      const target = await readlink(this.at(name)).catch(() => '?');
      return new AppError('FILESTORE_PATH_REFUSED', `${rel} is a symbolic link; the filestore refuses links, and nothing was changed. An operator must remove it.`, {
        logDetail: `${this.absOf(name)} is a symbolic link to ${target}`,
      });
    }
    const article = /^[aeiou]/.test(expected) ? 'an' : 'a';
    return new AppError('FILESTORE_PATH_REFUSED', `${rel} is not ${article} ${expected}, as the filestore expects there; nothing was changed. An operator must move it away.`, {
      logDetail: `${this.absOf(name)} is not ${article} ${expected} (${kind})`,
    });
  }
}
