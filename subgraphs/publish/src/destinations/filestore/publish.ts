import { lstat, mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../../../lib/errors.js';
import { writeBagTagFiles, type BagInfoFields, type PayloadEntry } from './bagit.js';
import { copyFileWithDigest, digestFile, type FileDigest } from './digest.js';
import { withFolderLock } from './folder-lock.js';
import {
  assertRealInside,
  checkProjectRef,
  filestoreError,
  fsyncDir,
  hiddenSibling,
  insideMount,
  removeLeftovers,
  requireArea,
  type ProjectRef,
} from './safe-paths.js';
import { OUTPUTS_PATH } from './staging.js';

/** The contract's message when staging holds nothing for the project. */
export const NOTHING_TO_PUBLISH_MESSAGE = 'No files found in Staging. Nothing to publish to Production.';

export interface PublishOptions extends ProjectRef {
  /** The destination's mount folder (StorageMounts.root(destination.name)). */
  mountRoot: string;
  /** Organisation fields for bag-info.txt (readFilestoreSettings().bagInfo). */
  bagInfo?: BagInfoFields;
  /**
   * Copy (then verify, then delete) instead of renaming, as happens anyway when
   * staging and production are different volumes (EXDEV). For tests.
   */
  forceCopy?: boolean;
  /** The Bagging-Date; now by default. */
  now?: Date;
}

/** One published file, as the contract answers it. */
export interface PublishedFile {
  /** Relative to `{project}/{start_time}/`: `data/outputs/…`. */
  file_path: string;
  /** SHA-512, lowercase hex. */
  hash_value: string;
  total_bytes: number;
}

export interface PublishResult {
  data_published: PublishedFile[];
  /** Problems after the publish was complete (staging not fully removed): for the service log. */
  warnings: string[];
}

/**
 * Publishes a project's staged files to `{mount}/production/{project}/{start_time}/`
 * as a BagIt 1.0 bag (payload under `data/outputs/`, SHA-512 manifests beside it).
 *
 * Files are renamed into a hidden bag folder beside the target
 * (`production/{project}/.{start_time}.partial-{random}/`) and hashed from there
 * in 1 MiB reads; when rename fails with EXDEV (staging and production on
 * different volumes, as on Kubernetes) a file is copied while hashed, flushed,
 * read back and compared, and its staging copy removed only once the bag is in
 * place. The tag files go in last, then the folder is renamed to
 * `{start_time}`: a bag appears complete or not at all.
 *
 * A previous publish of the same project and start time is replaced: the old
 * bag is renamed aside, the new one into place, then the old one deleted (a bag
 * cannot keep files its manifest does not list, and re-publishing after a
 * re-package is how a project corrects its data). On failure before the new bag
 * is in place, renamed files go back to staging and the old bag stays.
 *
 * Staging (`staging/{project}/{start_time}/`) is removed afterwards. Nothing in
 * staging fails with NOTHING_TO_PUBLISH and the contract's message. Files a
 * killed publish left in its hidden folder are taken back first (recoverInterrupted).
 */
export async function publishToProduction(options: PublishOptions): Promise<PublishResult> {
  checkProjectRef(options);
  const { mountRoot, project, startTime } = options;
  await requireArea(mountRoot, 'staging');
  await requireArea(mountRoot, 'production');
  return withFolderLock(mountRoot, options, 'publish', async () => {
    const stagingDir = insideMount(mountRoot, 'staging', project, startTime);
    const outputsDir = path.join(stagingDir, ...OUTPUTS_PATH);
    const productionProject = insideMount(mountRoot, 'production', project);
    const bagDir = insideMount(mountRoot, 'production', project, startTime);
    const tempBag = insideMount(mountRoot, 'production', project, hiddenSibling(startTime, 'partial'));

    let files: string[];
    try {
      await assertRealInside(mountRoot, outputsDir);
      await assertRealInside(mountRoot, bagDir);
      await recoverInterrupted(productionProject, startTime, outputsDir);
      files = await listPayload(outputsDir);
    } catch (error) {
      throw filestoreError('Reading the staging folder', error);
    }
    if (files.length === 0) {
      // A publish killed after its bag was in place but before staging was removed
      // leaves the emptied staging folder: clear it, so staging holds nothing of the project.
      await rm(stagingDir, { recursive: true, force: true }).catch(() => undefined);
      throw new AppError('NOTHING_TO_PUBLISH', NOTHING_TO_PUBLISH_MESSAGE);
    }

    const renamed: { from: string; to: string }[] = [];
    const payload: PayloadEntry[] = [];
    try {
      await mkdir(productionProject, { recursive: true });
      await removeLeftovers(productionProject, startTime);
      const tempOutputs = path.join(tempBag, ...OUTPUTS_PATH);
      await mkdir(tempOutputs, { recursive: true });
      for (const rel of files) {
        const from = path.join(outputsDir, ...rel.split('/'));
        const to = path.join(tempOutputs, ...rel.split('/'));
        await mkdir(path.dirname(to), { recursive: true });
        const digest = await moveOrCopy(from, to, options.forceCopy ?? false, renamed);
        payload.push({ path: [...OUTPUTS_PATH, rel].join('/'), ...digest });
      }
      await writeBagTagFiles(tempBag, payload, options.bagInfo ?? {}, { externalIdentifier: `${project}/${startTime}`, date: options.now });
      for (const dir of foldersOf(tempOutputs, files)) await fsyncDir(dir);
      await fsyncDir(path.join(tempBag, 'data'));
      await fsyncDir(tempBag);
      await swapInto(tempBag, bagDir, productionProject, startTime);
    } catch (error) {
      for (const { from, to } of renamed.reverse()) await rename(to, from).catch(() => undefined);
      await rm(tempBag, { recursive: true, force: true }).catch(() => undefined);
      throw filestoreError('Publishing to production', error);
    }

    const warnings: string[] = [];
    try {
      await rm(stagingDir, { recursive: true, force: true });
      await rmdir(path.dirname(stagingDir)).catch(() => undefined);
    } catch (error) {
      warnings.push(`The staging folder ${stagingDir} could not be removed after publishing: ${(error as Error).message}`);
    }
    return {
      data_published: payload.map((p) => ({ file_path: p.path, hash_value: p.sha512, total_bytes: p.bytes })),
      warnings,
    };
  });
}

/** Moves one file into the bag and answers its digest, reading every byte once (plus once more to verify a copy). */
async function moveOrCopy(from: string, to: string, forceCopy: boolean, renamed: { from: string; to: string }[]): Promise<FileDigest> {
  if (!forceCopy) {
    try {
      await rename(from, to);
      renamed.push({ from, to });
      return await digestFile(to);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    }
  }
  const copied = await copyFileWithDigest(from, to);
  const check = await digestFile(to);
  if (check.sha512 !== copied.sha512 || check.bytes !== copied.bytes) {
    throw new AppError('INTERNAL', `The copy of ${path.basename(from)} in production does not match its staging file (SHA-512 differs after the copy).`);
  }
  return copied;
}

/**
 * A publish interrupted (the process killed) after renaming files into its
 * hidden bag folder left them there and not in staging: put back into staging
 * every file staging lacks, so this publish includes them. (Copies, made across
 * volumes, have their original still in staging and are simply dropped.)
 */
async function recoverInterrupted(productionProject: string, startTime: string, outputsDir: string): Promise<void> {
  const entries = await readdir(productionProject).catch(() => [] as string[]);
  for (const entry of entries.filter((e) => e.startsWith(`.${startTime}.partial-`))) {
    const leftOutputs = path.join(productionProject, entry, ...OUTPUTS_PATH);
    for (const rel of await listPayload(leftOutputs).catch(() => [] as string[])) {
      const back = path.join(outputsDir, ...rel.split('/'));
      const present = await lstat(back).then(
        () => true,
        () => false,
      );
      if (present) continue;
      await mkdir(path.dirname(back), { recursive: true });
      await rename(path.join(leftOutputs, ...rel.split('/')), back);
    }
  }
}

/** Puts the finished bag in place of any previous one. */
async function swapInto(tempBag: string, bagDir: string, parent: string, startTime: string): Promise<void> {
  const previous = await lstat(bagDir).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
  const aside = path.join(parent, hiddenSibling(startTime, 'replaced'));
  if (previous) await rename(bagDir, aside);
  try {
    await rename(tempBag, bagDir);
  } catch (error) {
    if (previous) await rename(aside, bagDir).catch(() => undefined);
    throw error;
  }
  await fsyncDir(parent);
  if (previous) await rm(aside, { recursive: true, force: true });
}

/**
 * The files under `dir`, as '/'-separated paths relative to it, sorted; none
 * when it does not exist. Anything but folders and regular files (a symbolic
 * link could point outside the mount) fails, as does a name BagIt tools
 * cannot round-trip (`%`, CR, LF).
 */
async function listPayload(dir: string, prefix = ''): Promise<string[]> {
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
    if (/[%\r\n]/.test(entry.name)) {
      throw new AppError('INTERNAL', `Staging holds ${JSON.stringify(rel)}, whose name BagIt tools cannot list ('%', CR or LF); rename or remove it and publish again.`);
    }
    if (entry.isDirectory()) found.push(...(await listPayload(path.join(dir, entry.name), rel)));
    else if (entry.isFile()) found.push(rel);
    else throw new AppError('INTERNAL', `Staging holds ${JSON.stringify(rel)}, which is not a regular file or folder; only regular files are published.`);
  }
  return found.sort();
}

/** Every folder holding one of `files` (relative to `root`), deepest first, `root` included. */
function foldersOf(root: string, files: readonly string[]): string[] {
  const dirs = new Set<string>([root]);
  for (const rel of files) {
    let dir = path.dirname(path.join(root, ...rel.split('/')));
    while (dir.length > root.length) {
      dirs.add(dir);
      dir = path.dirname(dir);
    }
  }
  return [...dirs].sort((a, b) => b.length - a.length);
}
