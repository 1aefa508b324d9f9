import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { AppError } from '../../../../../../lib/errors.js';
import { fromRoot } from '../../../../../../lib/paths.js';
import { copyFileWithDigest, digestFile, type FileDigest } from '../digest.js';
import type { CheckedDir } from '../mount/checked-dir.js';

/**
 * Writing a BagIt 1.0 (RFC 8493) bag: payload files moved (or copied and
 * verified) into it, then its tag files, with SHA-512 only. The tests check
 * every bag with an independent validator (scripts/support/bag-validate.ts).
 */

/** Where payload files live inside a project folder, in staging and production alike (the BagIt payload). */
export const OUTPUTS_PATH = ['data', 'outputs'] as const;

/** Organisation fields for bag-info.txt (BAGIT_SOURCE_ORGANIZATION, BAGIT_ORGANIZATION_ADDRESS, BAGIT_CONTACT_NAME, BAGIT_CONTACT_EMAIL, BAGIT_EXTERNAL_DESCRIPTION). */
export interface BagInfoFields {
  sourceOrganization?: string | undefined;
  organizationAddress?: string | undefined;
  contactName?: string | undefined;
  contactEmail?: string | undefined;
  externalDescription?: string | undefined;
}

/** One payload file of the bag. */
export interface PayloadEntry {
  /** Relative to the bag root, '/'-separated, under `data/`. */
  path: string;
  bytes: number;
  sha512: string;
}

export const BAGIT_TXT = 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n';

const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { version?: string }).version ?? '0';
  } catch {
    return '0';
  }
})();

/** The Bag-Software-Agent value. */
export const SOFTWARE_AGENT = `cr8tor-publisher v${VERSION}`;

/** A manifest path as RFC 8493 §2.1.3 wants it: `%`, CR and LF percent-encoded (and only those). */
export function encodeManifestPath(p: string): string {
  return p.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A tag value on one line: CR and LF would break the `Label: value` format. */
function oneLine(value: string): string {
  return value.replace(/\r\n|\r|\n/g, ' ').trim();
}

/** The text of bag-info.txt. */
export function bagInfoText(payload: readonly PayloadEntry[], info: BagInfoFields, extra: { externalIdentifier?: string; date: Date }): string {
  const octets = payload.reduce((sum, f) => sum + f.bytes, 0);
  const fields: [string, string | undefined][] = [
    ['Source-Organization', info.sourceOrganization],
    ['Organization-Address', info.organizationAddress],
    ['Contact-Name', info.contactName],
    ['Contact-Email', info.contactEmail],
    ['External-Description', info.externalDescription],
    ['External-Identifier', extra.externalIdentifier],
    ['Bagging-Date', extra.date.toISOString().slice(0, 10)],
    ['Bag-Software-Agent', SOFTWARE_AGENT],
    ['Payload-Oxum', `${octets}.${payload.length}`],
  ];
  return fields
    .filter((f): f is [string, string] => f[1] != null && oneLine(f[1]) !== '')
    .map(([label, value]) => `${label}: ${oneLine(value)}\n`)
    .join('');
}

/** The text of a manifest: `{hash}  {path}` lines, sorted by path. */
export function manifestText(entries: readonly { path: string; sha512: string }[]): string {
  return [...entries]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((e) => `${e.sha512}  ${encodeManifestPath(e.path)}\n`)
    .join('');
}

/** Writes a file through a temporary name and a rename, flushed to disk, so it is either whole or absent. */
async function writeWhole(dir: CheckedDir, name: string, text: string): Promise<string> {
  const bytes = Buffer.from(text, 'utf8');
  const temp = `.${name}.tmp`;
  const handle = await dir.newFile(temp);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(dir.at(temp), dir.at(name));
  return createHash('sha512').update(bytes).digest('hex');
}

/**
 * Writes the tag files of a bag rooted at `bagDir`: manifest-sha512.txt,
 * bag-info.txt, bagit.txt, then tagmanifest-sha512.txt (which lists the other
 * three) last. Each goes through a temporary name, so an interrupted run never
 * leaves a tag file cut short.
 */
export async function writeBagTagFiles(
  bagDir: CheckedDir,
  payload: readonly PayloadEntry[],
  info: BagInfoFields,
  extra: { externalIdentifier?: string; date?: Date } = {},
): Promise<void> {
  const tags: { path: string; sha512: string }[] = [];
  tags.push({ path: 'manifest-sha512.txt', sha512: await writeWhole(bagDir, 'manifest-sha512.txt', manifestText(payload)) });
  const infoText = bagInfoText(payload, info, { externalIdentifier: extra.externalIdentifier, date: extra.date ?? new Date() });
  tags.push({ path: 'bag-info.txt', sha512: await writeWhole(bagDir, 'bag-info.txt', infoText) });
  tags.push({ path: 'bagit.txt', sha512: await writeWhole(bagDir, 'bagit.txt', BAGIT_TXT) });
  await writeWhole(bagDir, 'tagmanifest-sha512.txt', manifestText(tags));
}

/** A file renamed into the bag: where it came from, for putting it back. */
export interface Move {
  from: CheckedDir;
  to: CheckedDir;
  name: string;
}

/** Moves one file into the bag and answers its digest, reading every byte once (plus once more to verify a copy). */
export async function moveOrCopy(from: CheckedDir, to: CheckedDir, name: string, forceCopy: boolean, renamed: Move[]): Promise<FileDigest> {
  if (!forceCopy) {
    try {
      await rename(from.at(name), to.at(name));
      renamed.push({ from, to, name });
      return await digestFile(to.at(name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    }
  }
  const copied = await copyFileWithDigest(from.at(name), to.at(name));
  const check = await digestFile(to.at(name));
  if (check.sha512 !== copied.sha512 || check.bytes !== copied.bytes) {
    throw new AppError('INTERNAL', `The copy of ${name} in production does not match its staging file (SHA-512 differs after the copy).`);
  }
  return copied;
}
