/**
 * The BagIt validator (`npm run verify-bag`, the demo, the tests). It checks what bagit-python's `Bag(path).validate()` checks
 * (LibraryOfCongress/bagit-python, src/bagit/__init__.py; docs/performance.md, "What the BagIt validator checks"),
 * in the same order, since bagit-python itself cannot be installed here:
 *
 * open:     bagit.txt exists; BagIt-Version and Tag-File-Character-Encoding present;
 *           version MAJOR.MINOR in [0.93, 2.0); encoding known; bag-info.txt read if
 *           present; payload manifests, plus tag manifests from 0.97, parsed (first
 *           whitespace splits hash and path, a leading `*` dropped, %0D/%0A decoded,
 *           unsafe paths and duplicate entries refused — duplicates with the same hash
 *           only from 1.0).
 * validate: data/ is a folder, a manifest-*.txt exists, bagit.txt present; no BOM in
 *           bagit.txt; fetch.txt URLs well formed; Payload-Oxum (when present) matches
 *           the bytes and count of every file under data/; payload files on disk and in
 *           the manifests match exactly (NFC-normalised), every tag-manifest entry
 *           exists; every entry's checksum recomputed (tag files included).
 */
import { createHash, getHashes } from 'node:crypto';
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

export interface BagValidation {
  valid: boolean;
  /** Payload files found under data/. */
  files: number;
  /** Their total size. */
  bytes: number;
  /** Why the bag is invalid; empty when valid. */
  problems: string[];
}

class BagError extends Error {}

/** hashlib.algorithms_guaranteed names → Node's names (the shake variants need a length and are left out). */
const ALGORITHMS: Record<string, string> = {
  md5: 'md5',
  sha1: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  sha3_224: 'sha3-224',
  sha3_256: 'sha3-256',
  sha3_384: 'sha3-384',
  sha3_512: 'sha3-512',
  blake2b: 'blake2b512',
  blake2s: 'blake2s256',
};

async function isFile(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** RFC 2822-style tags with folding, as bagit-python's _parse_tags reads them. */
function parseTags(text: string, name: string): Map<string, string[]> {
  const tags = new Map<string, string[]>();
  let tagName: string | undefined;
  let value: string | undefined;
  const flush = () => {
    if (tagName) tags.set(tagName, [...(tags.get(tagName) ?? []), value!.trim()]);
  };
  for (const line of text.split(/(?<=\n)/)) {
    if (line.length === 0 || /^\s*$/.test(line)) continue;
    if (/^\s/.test(line) && value !== undefined) {
      value += line;
      continue;
    }
    flush();
    if (!line.includes(':')) throw new BagError(`${name} contains invalid tag: ${line.trim()}`);
    const [label, ...rest] = line.trim().split(':');
    tagName = label!.trim();
    value = rest.join(':');
  }
  flush();
  return tags;
}

function decodeTagText(bytes: Buffer, encoding: string, stripBom: boolean): string {
  let text = new TextDecoder(encoding).decode(bytes);
  if (stripBom && text.startsWith('\ufeff')) text = text.slice(1);
  return text;
}

/** bagit-python's _decode_filename: only %0D and %0A (not %25). */
function decodeFilename(p: string): string {
  return p.replace(/%0D/g, '\r').replace(/%0A/g, '\n');
}

async function pathIsDangerous(bagDir: string, p: string): Promise<boolean> {
  if (path.isAbsolute(p) || p.startsWith('~')) return true;
  const bagReal = path.normalize(await realpath(bagDir));
  let real: string;
  try {
    real = await realpath(path.join(bagDir, p));
  } catch {
    real = path.resolve(bagReal, p);
  }
  const rel = path.relative(bagReal, path.normalize(real));
  return rel.startsWith('..') || path.isAbsolute(rel);
}

async function walkFiles(dir: string, base: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walkFiles(full, base)));
    else out.push(path.relative(base, full).split(path.sep).join('/'));
  }
  return out;
}

async function hashFile(file: string, algorithm: string): Promise<string> {
  try {
    return createHash(algorithm).update(await readFile(file)).digest('hex');
  } catch (error) {
    return `Could not read ${file}: ${(error as Error).message}`;
  }
}

/** Validates the bag at `bagDir` as bagit-python's validate() would. */
export async function validateBag(bagDir: string): Promise<BagValidation> {
  const problems: string[] = [];
  let files = 0;
  let bytes = 0;
  const dataDir = path.join(bagDir, 'data');
  if (await isDir(dataDir)) {
    for (const f of await walkFiles(dataDir, bagDir)) {
      files++;
      bytes += (await stat(path.join(bagDir, f))).size;
    }
  }
  try {
    await validate(bagDir, problems);
  } catch (error) {
    if (!(error instanceof BagError)) throw error;
    problems.push(error.message);
  }
  return { valid: problems.length === 0, files, bytes, problems };
}

async function validate(bagDir: string, problems: string[]): Promise<void> {
  // --- open ---
  const bagitPath = path.join(bagDir, 'bagit.txt');
  if (!(await isFile(bagitPath))) throw new BagError(`Expected bagit.txt does not exist: ${bagitPath}`);
  const bagitBytes = await readFile(bagitPath);
  const tags = parseTags(decodeTagText(bagitBytes, 'utf-8', true), 'bagit.txt');
  const missing = ['BagIt-Version', 'Tag-File-Character-Encoding'].filter((t) => !tags.has(t));
  if (missing.length) throw new BagError(`Missing required tag in bagit.txt: ${missing.join(', ')}`);
  const version = tags.get('BagIt-Version')![0]!;
  const parts = version.split('.', 2).map((v) => (/^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : NaN));
  if (version.split('.').length !== 2 || parts.some(Number.isNaN)) throw new BagError(`Bag version numbers must be MAJOR.MINOR numbers, not ${version}`);
  const [major, minor] = parts as [number, number];
  const at = (a: number, b: number) => major > a || (major === a && minor >= b);
  let infoName: string;
  if (at(0, 93) && !at(0, 96)) infoName = 'package-info.txt';
  else if (at(0, 96) && major < 2) infoName = 'bag-info.txt';
  else throw new BagError(`Unsupported bag version: ${version}`);
  const encoding = tags.get('Tag-File-Character-Encoding')![0]!;
  try {
    new TextDecoder(encoding);
  } catch {
    throw new BagError(`Unsupported encoding: ${encoding}`);
  }
  let info = new Map<string, string[]>();
  const infoPath = path.join(bagDir, infoName);
  if (await isFile(infoPath)) info = parseTags(decodeTagText(await readFile(infoPath), encoding, false), infoName);

  const entries = new Map<string, Map<string, string>>();
  const manifests: { file: string; alg: string }[] = [];
  const supported = new Set(getHashes());
  for (const alg of Object.keys(ALGORITHMS)) {
    if (!supported.has(ALGORITHMS[alg]!)) continue;
    if (await isFile(path.join(bagDir, `manifest-${alg}.txt`))) manifests.push({ file: `manifest-${alg}.txt`, alg });
  }
  const payloadManifests = manifests.length;
  if (at(0, 97)) {
    for (const alg of Object.keys(ALGORITHMS)) {
      if (!supported.has(ALGORITHMS[alg]!)) continue;
      if (await isFile(path.join(bagDir, `tagmanifest-${alg}.txt`))) manifests.push({ file: `tagmanifest-${alg}.txt`, alg });
    }
  }
  for (const { file, alg } of manifests) {
    let text = decodeTagText(await readFile(path.join(bagDir, file)), encoding, false);
    if (text.startsWith('\ufeff')) text = text.slice(1);
    for (const raw of text.split(/\r\n|\r|\n/)) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const match = /^(\S+)\s+(.+)$/.exec(line);
      if (!match) continue;
      const hash = match[1]!;
      const entryPath = decodeFilename(path.posix.normalize(match[2]!.replace(/^\*+/, '')).replace(/\/$/, ''));
      if (await pathIsDangerous(bagDir, entryPath)) throw new BagError(`Path "${entryPath}" in manifest "${file}" is unsafe`);
      const hashes = entries.get(entryPath) ?? new Map<string, string>();
      entries.set(entryPath, hashes);
      const previous = hashes.get(alg);
      if (previous !== undefined) {
        if (previous !== hash) throw new BagError(`${alg} manifest lists ${entryPath} multiple times with conflicting values`);
        if (major >= 1) throw new BagError(`${alg} manifest lists ${entryPath} multiple times with the same value`);
      }
      hashes.set(alg, hash);
    }
  }

  // --- validate: structure ---
  if (!(await isDir(path.join(bagDir, 'data')))) throw new BagError(`Expected data directory ${path.join(bagDir, 'data')} does not exist`);
  if (payloadManifests === 0) throw new BagError('No manifest files found');
  if (!(await readdir(bagDir)).includes('bagit.txt')) throw new BagError(`Expected ${bagDir} to contain "bagit.txt"`);
  // --- bagit.txt ---
  if (bagitBytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))) throw new BagError('bagit.txt must not contain a byte-order mark');
  // --- fetch.txt ---
  const fetchPath = path.join(bagDir, 'fetch.txt');
  if (await isFile(fetchPath)) {
    for (const line of decodeTagText(await readFile(fetchPath), encoding, false).split('\n')) {
      if (line.trim() === '') continue;
      const [url = '', , filename = ''] = line.trim().split(/\s+/, 3);
      if (await pathIsDangerous(bagDir, filename)) throw new BagError(`Path "${filename}" in "${fetchPath}" is unsafe`);
      let ok = false;
      try {
        const u = new URL(url);
        ok = u.protocol === 'file:' || (u.protocol !== '' && u.host !== '');
      } catch {
        ok = false;
      }
      if (!ok) throw new BagError(`Malformed URL in fetch.txt: ${url}`);
    }
  }
  // --- contents: Oxum first ---
  const payloadOnDisk = await walkFiles(path.join(bagDir, 'data'), bagDir);
  const oxum = info.get('Payload-Oxum')?.[0];
  if (oxum !== undefined) {
    const [octets = '', streams = ''] = oxum.split(/\.(.*)/s);
    if (!/^\d+$/.test(octets) || !/^\d+$/.test(streams)) throw new BagError(`Malformed Payload-Oxum value: ${oxum}`);
    let total = 0;
    for (const f of payloadOnDisk) total += (await stat(path.join(bagDir, f))).size;
    if (Number(streams) !== payloadOnDisk.length || Number(octets) !== total) {
      throw new BagError(
        `Payload-Oxum validation failed. Expected ${streams} files and ${octets} bytes but found ${payloadOnDisk.length} files and ${total} bytes`,
      );
    }
  }
  // --- completeness ---
  const onFs = new Map(payloadOnDisk.map((f) => [f.normalize('NFC'), f]));
  const inManifest = new Map<string, string>();
  for (const key of entries.keys()) if (key.startsWith('data/')) inManifest.set(key.normalize('NFC'), key);
  if (at(0, 97)) {
    for (const key of entries.keys()) {
      if (!key.startsWith('data/') && !(await isFile(path.join(bagDir, key)))) inManifest.set(key.normalize('NFC'), key);
    }
  }
  const incomplete: string[] = [];
  for (const [n, original] of inManifest) if (!onFs.has(n)) incomplete.push(`${original} exists in manifest but was not found on filesystem`);
  for (const [n, original] of onFs) if (!inManifest.has(n)) incomplete.push(`${original} exists on filesystem but is not in the manifest`);
  if (incomplete.length) throw new BagError(`Bag is incomplete: ${incomplete.join('; ')}`);
  // --- entries ---
  for (const [rel, hashes] of entries) {
    const onDisk = onFs.get(rel.normalize('NFC')) ?? rel;
    for (const [alg, stored] of hashes) {
      const computed = await hashFile(path.join(bagDir, onDisk), ALGORITHMS[alg]!);
      if (stored.toLowerCase() !== computed) problems.push(`${rel} ${alg} validation failed: expected="${stored.toLowerCase()}" found="${computed}"`);
    }
  }
  if (problems.length) problems.unshift('Bag validation failed');
}
