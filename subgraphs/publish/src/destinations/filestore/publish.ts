import { lstat, mkdir, open, readFile, readdir, rename, rm, rmdir, unlink } from 'node:fs/promises';
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

/**
 * The publish receipt, `staging/{project}/{start_time}/.published-bag`: the
 * SHA-512 of the new bag's tagmanifest-sha512.txt (which pins every tag file,
 * and through manifest-sha512.txt every payload byte). A publish writes it just
 * before its bag goes into place and removes it, with the staging folder, as its
 * last step before answering (PublishResult.settle). A receipt matching the bag
 * in production therefore means: this staging folder's files are in that bag,
 * and the publish that put it there may not have answered.
 */
export const PUBLISH_RECEIPT = '.published-bag';

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
  /** What the service log should know (an answer repeated from the bag of an interrupted publish). */
  warnings: string[];
  /**
   * The publish's last step, to run once its outcome is recorded and just
   * before it answers: removes the receipt and the staging folder (under the
   * project's lock). Until then a repeat of the publish answers this bag again;
   * afterwards it answers the contract's nothing-to-publish. Never throws; it
   * answers problems for the service log.
   */
  settle(): Promise<string[]>;
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
 * place. The tag files go in last, then the receipt ({@link PUBLISH_RECEIPT})
 * into staging, then the folder is renamed to `{start_time}`: a bag appears
 * complete or not at all.
 *
 * A previous publish of the same project and start time is replaced: the old
 * bag is renamed aside, the new one into place, then the old one deleted (a bag
 * cannot keep files its manifest does not list, and re-publishing after a
 * re-package is how a project corrects its data). On failure before the new bag
 * is in place, renamed files go back to staging and the old bag stays.
 *
 * Staging (`staging/{project}/{start_time}/`) is removed by `settle()`, the last
 * step before the call answers. What a publish finds decides what it does:
 * - staged files: publish them (files a killed publish left in its hidden
 *   folder are taken back first, recoverInterrupted);
 * - a receipt matching the bag in production: the publish that put the bag
 *   there was stopped before it answered (killed, or its last steps failed).
 *   The bag is checked against its manifests, every payload byte hashed again,
 *   and answered as that publish would have answered; nothing is moved or
 *   written again. A bag that does not check out is NOTHING_TO_PUBLISH naming
 *   what is wrong;
 * - nothing staged and no such receipt (never packaged, or published and
 *   answered already): NOTHING_TO_PUBLISH with the contract's message, bag or not.
 */
export async function publishToProduction(options: PublishOptions): Promise<PublishResult> {
  checkProjectRef(options);
  const { mountRoot, project, startTime } = options;
  await requireArea(mountRoot, 'staging');
  await requireArea(mountRoot, 'production');
  const stagingDir = insideMount(mountRoot, 'staging', project, startTime);
  const receiptFile = path.join(stagingDir, PUBLISH_RECEIPT);
  const done = await withFolderLock(mountRoot, options, 'publish', async (): Promise<{ receipt: string; payload: PayloadEntry[]; repeated: boolean }> => {
    const outputsDir = path.join(stagingDir, ...OUTPUTS_PATH);
    const productionProject = insideMount(mountRoot, 'production', project);
    const bagDir = insideMount(mountRoot, 'production', project, startTime);
    const tempBag = insideMount(mountRoot, 'production', project, hiddenSibling(startTime, 'partial'));

    let files: string[];
    let receipt: string | undefined;
    try {
      await assertRealInside(mountRoot, outputsDir);
      await assertRealInside(mountRoot, bagDir);
      await recoverInterrupted(productionProject, startTime, outputsDir);
      receipt = await readReceipt(receiptFile);
      files = await listPayload(outputsDir);
    } catch (error) {
      throw filestoreError('Reading the staging folder', error);
    }

    if (receipt !== undefined) {
      let inPlace: string | undefined;
      try {
        inPlace = await tagManifestDigest(bagDir);
      } catch (error) {
        throw filestoreError('Reading the bag in production', error);
      }
      if (inPlace === receipt) {
        const payload = await verifiedPayload(bagDir, options);
        // Hidden folders the stopped publish may have left beside the bag (a previous bag renamed aside).
        await removeLeftovers(productionProject, startTime).catch(() => undefined);
        return { receipt, payload, repeated: true };
      }
      // The receipt of a publish stopped before its bag went into place: its files were taken back above.
      try {
        await unlink(receiptFile);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw filestoreError('Reading the staging folder', error);
      }
    }

    if (files.length === 0) {
      // A publish of an earlier version, killed after its bag was in place but before staging was
      // removed, left the emptied staging folder without a receipt: clear it, so staging holds nothing of the project.
      await rm(stagingDir, { recursive: true, force: true }).catch(() => undefined);
      await rmdir(path.dirname(stagingDir)).catch(() => undefined);
      throw new AppError('NOTHING_TO_PUBLISH', NOTHING_TO_PUBLISH_MESSAGE);
    }

    const renamed: { from: string; to: string }[] = [];
    const payload: PayloadEntry[] = [];
    let inPlace = false;
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
      const digest = (await tagManifestDigest(tempBag))!;
      await writeReceipt(receiptFile, digest);
      await swapInto(tempBag, bagDir, productionProject, startTime, () => (inPlace = true));
      return { receipt: digest, payload, repeated: false };
    } catch (error) {
      // Once the bag is in place its files stay there, and the receipt lets a repeat answer it.
      if (!inPlace) {
        for (const { from, to } of renamed.reverse()) await rename(to, from).catch(() => undefined);
        await rm(tempBag, { recursive: true, force: true }).catch(() => undefined);
        await unlink(receiptFile).catch(() => undefined);
      }
      throw filestoreError('Publishing to production', error);
    }
  });

  const settle = async (): Promise<string[]> => {
    try {
      await withFolderLock(mountRoot, options, 'publish', async () => {
        // A package since has replaced the staging folder (and the receipt with it): it is not ours to remove.
        if ((await readReceipt(receiptFile)) !== done.receipt) return;
        await rm(stagingDir, { recursive: true, force: true });
        await rmdir(path.dirname(stagingDir)).catch(() => undefined);
      });
      return [];
    } catch (error) {
      const why = error instanceof AppError ? error.detail : (error as Error).message;
      return [`The staging folder ${stagingDir} could not be removed after publishing (${why}); a repeat of this publish answers the same bag until it is.`];
    }
  };
  return {
    data_published: done.payload.map((p) => ({ file_path: p.path, hash_value: p.sha512, total_bytes: p.bytes })),
    warnings: done.repeated
      ? [`A publish of project '${project}' (start time ${startTime}) put its bag in production and stopped before it answered; the bag was checked against its manifests and answered again.`]
      : [],
    settle,
  };
}

/** The receipt in a staging folder (trimmed), or undefined when there is none. */
async function readReceipt(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/** Writes the receipt durably (file and folder entry flushed) before the bag goes into place. */
async function writeReceipt(file: string, digest: string): Promise<void> {
  const handle = await open(file, 'w');
  try {
    await handle.writeFile(`${digest}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsyncDir(path.dirname(file));
}

/** SHA-512 of a bag's tagmanifest-sha512.txt, or undefined when the bag (or that file) is not there. */
async function tagManifestDigest(bagDir: string): Promise<string | undefined> {
  try {
    return (await digestFile(path.join(bagDir, 'tagmanifest-sha512.txt'))).sha512;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
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
 * The payload of a bag this service put in place, checked as a BagIt validator
 * would check it: every tag file against tagmanifest-sha512.txt, the payload
 * files under data/ exactly those manifest-sha512.txt lists, each one's
 * SHA-512 recomputed (1 MiB reads), and Payload-Oxum. Anything wrong is
 * NOTHING_TO_PUBLISH naming it: the bag cannot be answered as published.
 */
async function verifiedPayload(bagDir: string, ref: ProjectRef): Promise<PayloadEntry[]> {
  const problems: string[] = [];
  const payload: PayloadEntry[] = [];
  try {
    const tags = parseManifest(await readFile(path.join(bagDir, 'tagmanifest-sha512.txt'), 'utf8'), 'tagmanifest-sha512.txt', problems);
    for (const name of ['bagit.txt', 'bag-info.txt', 'manifest-sha512.txt']) {
      const listed = tags.find((t) => t.path === name);
      if (!listed) problems.push(`tagmanifest-sha512.txt does not list ${name}`);
      else if ((await digestFile(path.join(bagDir, name)).catch(() => undefined))?.sha512 !== listed.sha512) problems.push(`${name} is missing or does not match tagmanifest-sha512.txt`);
    }
    const listed = parseManifest(await readFile(path.join(bagDir, 'manifest-sha512.txt'), 'utf8'), 'manifest-sha512.txt', problems);
    const onDisk = (await listPayload(path.join(bagDir, 'data'), 'The bag')).map((rel) => `data/${rel}`);
    const present = new Set(onDisk);
    const inManifest = new Set(listed.map((e) => e.path));
    for (const p of onDisk) if (!inManifest.has(p)) problems.push(`${p} is in the bag but not in manifest-sha512.txt`);
    for (const entry of listed) {
      if (!present.has(entry.path)) {
        problems.push(`${entry.path} is listed in manifest-sha512.txt but missing`);
        continue;
      }
      const digest = await digestFile(path.join(bagDir, ...entry.path.split('/')));
      if (digest.sha512 !== entry.sha512) problems.push(`${entry.path} does not match its SHA-512 in manifest-sha512.txt`);
      payload.push({ path: entry.path, bytes: digest.bytes, sha512: digest.sha512 });
    }
    const oxum = /^Payload-Oxum: (\d+)\.(\d+)$/m.exec(await readFile(path.join(bagDir, 'bag-info.txt'), 'utf8'));
    const octets = payload.reduce((n, p) => n + p.bytes, 0);
    if (!oxum) problems.push('bag-info.txt has no Payload-Oxum');
    else if (Number(oxum[1]) !== octets || Number(oxum[2]) !== payload.length) problems.push(`Payload-Oxum ${oxum[1]}.${oxum[2]} does not match the payload (${octets}.${payload.length})`);
  } catch (error) {
    problems.push(error instanceof AppError ? error.detail : (error as Error).message);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ') + (problems.length > 5 ? `; and ${problems.length - 5} more` : '');
    throw new AppError(
      'NOTHING_TO_PUBLISH',
      `Staging holds nothing to publish for project '${ref.project}' (start time ${ref.startTime}): its files went into the bag production/${ref.project}/${ref.startTime} by a publish that stopped before it answered, and that bag is not complete: ${shown}. Package the project again, then publish.`,
    );
  }
  return payload;
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

/** Puts the finished bag in place of any previous one; `swapped` is called the moment it is. */
async function swapInto(tempBag: string, bagDir: string, parent: string, startTime: string, swapped: () => void): Promise<void> {
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
  swapped();
  await fsyncDir(parent);
  if (previous) await rm(aside, { recursive: true, force: true });
}

/**
 * The files under `dir`, as '/'-separated paths relative to it, sorted; none
 * when it does not exist. Anything but folders and regular files (a symbolic
 * link could point outside the mount) fails, as does a name BagIt tools
 * cannot round-trip (`%`, CR, LF).
 */
async function listPayload(dir: string, where = 'Staging', prefix = ''): Promise<string[]> {
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
      throw new AppError('INTERNAL', `${where} holds ${JSON.stringify(rel)}, whose name BagIt tools cannot list ('%', CR or LF); rename or remove it and publish again.`);
    }
    if (entry.isDirectory()) found.push(...(await listPayload(path.join(dir, entry.name), where, rel)));
    else if (entry.isFile()) found.push(rel);
    else throw new AppError('INTERNAL', `${where} holds ${JSON.stringify(rel)}, which is not a regular file or folder; only regular files are published.`);
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
