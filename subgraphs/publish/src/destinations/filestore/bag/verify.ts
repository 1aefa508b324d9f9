import path from 'node:path';
import { AppError } from '../../../../../../lib/errors.js';
import { digestHandle, type FileDigest } from '../digest.js';
import type { CheckedDir } from '../mount/checked-dir.js';
import { OUTPUTS_PATH, type PayloadEntry } from './write.js';

/**
 * Reading payload trees and bags on the mount without following links: the
 * files under a folder, a file's digest by its '/'-separated path, and a bag
 * checked as a BagIt validator would check it; staged files compared with a bag.
 */

/** Folders below one base folder, opened once each (without links) and reused: `''` is the base itself. */
export class FolderCache {
  private readonly dirs = new Map<string, Promise<CheckedDir | undefined>>();

  constructor(private readonly base: CheckedDir) {}

  /** The folder holding the '/'-separated `file`, and the file's own name; undefined when a folder is missing (unless `create`). */
  async parentOf(file: string, create = false): Promise<{ dir: CheckedDir | undefined; name: string }> {
    const parts = file.split('/');
    const name = parts.pop()!;
    const key = parts.join('/');
    let dir = this.dirs.get(key);
    if (!dir || (create && !(await dir))) {
      dir = this.base.openPath(parts, create);
      this.dirs.set(key, dir);
    }
    return { dir: await dir, name };
  }

  /** Flushes every folder opened so far to disk (their new entries). */
  async syncAll(): Promise<void> {
    for (const dir of this.dirs.values()) await (await dir)?.sync();
  }

  /** SHA-512 and size of the regular file at '/'-separated `file`; undefined when it is missing. */
  async digest(file: string): Promise<FileDigest | undefined> {
    const { dir, name } = await this.parentOf(file);
    const handle = await dir?.readFile(name);
    if (!handle) return undefined;
    try {
      return await digestHandle(handle);
    } finally {
      await handle.close();
    }
  }

  /** The text of the regular file at `file`; undefined when it is missing. */
  async text(file: string): Promise<string | undefined> {
    const { dir, name } = await this.parentOf(file);
    const handle = await dir?.readFile(name);
    return handle ? handle.readFile('utf8').finally(() => handle.close()) : undefined;
  }
}

/**
 * The files under `dir`, as '/'-separated paths relative to it, sorted.
 * A link or anything but folders and regular files is FILESTORE_PATH_REFUSED;
 * a name BagIt tools cannot round-trip (`%`, CR, LF) fails.
 */
export async function listPayload(dir: CheckedDir, where = 'Staging', prefix = ''): Promise<string[]> {
  const found: string[] = [];
  for (const name of await dir.list()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    if (/[%\r\n]/.test(name)) {
      throw new AppError('INTERNAL', `${where} holds ${JSON.stringify(rel)}, whose name BagIt tools cannot list ('%', CR or LF); rename or remove it and publish again.`);
    }
    const kind = await dir.kind(name);
    if (kind === 'file') found.push(rel);
    else if (kind === 'folder') {
      const sub = await dir.open(name);
      if (sub) found.push(...(await listPayload(sub, where, rel).finally(() => sub.close())));
    } else if (kind !== 'missing') throw await dir.refusal(name, 'regular file or folder');
  }
  return found.sort();
}

/** SHA-512 of a bag's tagmanifest-sha512.txt, or undefined when that file is not there. */
export async function tagManifestDigest(bag: CheckedDir): Promise<string | undefined> {
  return (await new FolderCache(bag).digest('tagmanifest-sha512.txt'))?.sha512;
}

/** The `{hash}  {path}` lines of a manifest this service wrote (paths decoded as encodeManifestPath encoded them). */
function parseManifest(text: string, name: string, problems: string[]): { path: string; sha512: string }[] {
  const entries: { path: string; sha512: string }[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const match = /^([0-9a-f]{128}) {2}(.+)$/.exec(line);
    if (!match) {
      problems.push(`${name} has a line that is not '{sha512}  {path}': ${JSON.stringify(line.slice(0, 200))}`);
      continue;
    }
    const entry = match[2]!.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
    if (path.posix.normalize(entry) !== entry || entry.startsWith('/') || entry.startsWith('../')) {
      problems.push(`${name} lists an unsafe path ${JSON.stringify(entry)}`);
      continue;
    }
    entries.push({ path: entry, sha512: match[1]! });
  }
  return entries;
}

/**
 * A bag's payload, checked as a BagIt validator would check it: every tag file
 * against tagmanifest-sha512.txt, the payload files under data/ exactly those
 * manifest-sha512.txt lists, each one's SHA-512 recomputed (1 MiB reads), and
 * Payload-Oxum. Answers the payload (in manifest order) and what is wrong; a
 * link in the bag is FILESTORE_PATH_REFUSED.
 */
export async function readBag(bag: CheckedDir): Promise<{ payload: PayloadEntry[]; problems: string[] }> {
  const problems: string[] = [];
  const payload: PayloadEntry[] = [];
  const files = new FolderCache(bag);
  const text = async (name: string) => {
    const found = await files.text(name);
    if (found === undefined) problems.push(`${name} is missing`);
    return found ?? '';
  };
  try {
    const tags = parseManifest(await text('tagmanifest-sha512.txt'), 'tagmanifest-sha512.txt', problems);
    for (const name of ['bagit.txt', 'bag-info.txt', 'manifest-sha512.txt']) {
      const listed = tags.find((t) => t.path === name);
      if (!listed) problems.push(`tagmanifest-sha512.txt does not list ${name}`);
      else if ((await files.digest(name))?.sha512 !== listed.sha512) problems.push(`${name} is missing or does not match tagmanifest-sha512.txt`);
    }
    const listed = parseManifest(await text('manifest-sha512.txt'), 'manifest-sha512.txt', problems);
    const data = await bag.open('data');
    const onDisk = data ? (await listPayload(data, 'The bag')).map((rel) => `data/${rel}`) : [];
    const present = new Set(onDisk);
    const inManifest = new Set(listed.map((e) => e.path));
    for (const p of onDisk) if (!inManifest.has(p)) problems.push(`${p} is in the bag but not in manifest-sha512.txt`);
    for (const entry of listed) {
      const digest = present.has(entry.path) ? await files.digest(entry.path) : undefined;
      if (!digest) {
        problems.push(`${entry.path} is listed in manifest-sha512.txt but missing`);
        continue;
      }
      if (digest.sha512 !== entry.sha512) problems.push(`${entry.path} does not match its SHA-512 in manifest-sha512.txt`);
      payload.push({ path: entry.path, bytes: digest.bytes, sha512: digest.sha512 });
    }
    const oxum = /^Payload-Oxum: (\d+)\.(\d+)$/m.exec(await text('bag-info.txt'));
    const octets = payload.reduce((n, p) => n + p.bytes, 0);
    if (!oxum) problems.push('bag-info.txt has no Payload-Oxum');
    else if (Number(oxum[1]) !== octets || Number(oxum[2]) !== payload.length) problems.push(`Payload-Oxum ${oxum[1]}.${oxum[2]} does not match the payload (${octets}.${payload.length})`);
  } catch (error) {
    if (error instanceof AppError && error.code === 'FILESTORE_PATH_REFUSED') throw error;
    problems.push(error instanceof AppError ? error.detail : `the bag could not be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return { payload, problems };
}

/** Problems as one short clause: the first five, and how many more. */
export function summarise(problems: readonly string[]): string {
  return problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
}

/** How the staged files differ from a bag's payload (paths, sizes, SHA-512); none when they are the same. */
export async function compareStaged(outputs: CheckedDir, files: readonly string[], payload: readonly PayloadEntry[]): Promise<string[]> {
  const inBag = new Map(payload.map((p) => [p.path, p]));
  const staged = new Set(files.map((rel) => [...OUTPUTS_PATH, rel].join('/')));
  const differences = [...inBag.keys()].filter((p) => !staged.has(p)).map((p) => `${p} is in the bag but not staged`);
  const cache = new FolderCache(outputs);
  for (const rel of files) {
    const p = [...OUTPUTS_PATH, rel].join('/');
    const expected = inBag.get(p);
    if (!expected) {
      differences.push(`${p} is staged but not in the bag`);
      continue;
    }
    const digest = await cache.digest(rel);
    if (digest?.bytes !== expected.bytes || digest.sha512 !== expected.sha512) differences.push(`${p} differs`);
  }
  return differences;
}
