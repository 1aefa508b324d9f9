import { randomBytes } from 'node:crypto';
import { rename, rmdir, unlink } from 'node:fs/promises';
import type { PublishedFile } from '../../../../../lib/contract/index.js';
import { AppError } from '../../../../../lib/errors.js';
import { compareStaged, FolderCache, listPayload, readBag, summarise, tagManifestDigest } from './bag/verify.js';
import { moveOrCopy, OUTPUTS_PATH, writeBagTagFiles, type BagInfoFields, type Move, type PayloadEntry } from './bag/write.js';
import type { CheckedDir } from './mount/checked-dir.js';
import type { FolderLockOptions } from './mount/folder-lock.js';
import { openMount, withProjectFolders, type MountFolders } from './mount/project-folders.js';
import { checkProjectRef, filestoreError, hiddenSibling, isHiddenSibling, projectEntryName, type ProjectRef } from './mount/safe-paths.js';
import { refuseIfPublished } from './staging.js';

/** The contract's message when staging holds nothing for the project. */
export const NOTHING_TO_PUBLISH_MESSAGE = 'No files found in Staging. Nothing to publish to Production.';

/** The folder in `staging/` holding publish receipts (hidden; removed when it holds none, as `.locks` is). */
export const RECEIPTS = '.published';

/**
 * A publish receipt's name in `staging/.published/`:
 * `{project, lower-cased}@{start_time}` (spellings differing in case are one
 * project, as for its lock), holding the SHA-512 of the new bag's
 * tagmanifest-sha512.txt (which pins every tag file, and through
 * manifest-sha512.txt every payload byte). A publish writes it just before its
 * bag goes into place and removes `staging/{project}/{start_time}/` just after,
 * before it answers; the receipt itself is removed only once the answer has
 * reached the caller ({@link settlePublished}). A receipt matching the bag in
 * production therefore means: the staged files went into that bag, and the
 * publish that put it there may not have been heard.
 */
export function publishReceipt(ref: ProjectRef): string {
  return projectEntryName(ref);
}

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
  /** The request publishing: a call refused as busy is told which one holds the project. */
  requestId?: string | undefined;
  /** The job publishing, when it runs as one (recorded in the project's lock). */
  jobId?: string | undefined;
  /** How the project's lock is held (this replica's name on the mount). */
  lock?: FolderLockOptions | undefined;
}

/** One published file, as the contract answers it (`file_path` relative to `{project}/{start_time}/`). */
export type { PublishedFile };

export interface PublishResult {
  data_published: PublishedFile[];
  /** What the service log should know (an answer repeated from a bag already in place). */
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
 * place. The tag files go in last, then the receipt ({@link publishReceipt})
 * into staging, then the folder is renamed to `{start_time}`: a bag appears
 * complete or not at all. On failure before it is in place, renamed files go
 * back to staging.
 *
 * A bag in production is never replaced or deleted. Staging
 * (`staging/{project}/{start_time}/`) is removed once the bag is in place,
 * before the answer; the receipt stays until {@link settlePublished}, once
 * the answer has reached the caller. What a publish finds decides what it does:
 * - no bag, staged files: publish them (files a killed publish left in its
 *   hidden folder are taken back first, recoverInterrupted);
 * - a bag, and a receipt naming it: the publish that put the bag there was
 *   stopped before it answered. The bag is checked against its manifests,
 *   every payload byte hashed again, and answered as that publish would have
 *   answered; nothing is moved or written. A bag that does not check out is
 *   NOTHING_TO_PUBLISH naming what is wrong;
 * - a bag, and staged files equal to its payload (same paths, sizes, SHA-512):
 *   answered with the bag's hashes, and staging cleared (an idempotent retry);
 * - a bag, and staged files that differ: ALREADY_PUBLISHED naming the bag;
 *   nothing changes, staging keeps the files;
 * - nothing staged, no receipt naming the bag in place (never packaged, or
 *   published and answered already): NOTHING_TO_PUBLISH with the contract's message.
 * Every folder and file on the way is opened without following links (mount/checked-dir.ts).
 */
export async function publishToProduction(options: PublishOptions): Promise<PublishResult> {
  const { mountRoot, project, startTime } = options;
  const call = { action: 'publish' as const, requestId: options.requestId, jobId: options.jobId };
  const done = await withProjectFolders(mountRoot, options, call, async (folders): Promise<Outcome & { left: string[] }> => {
    let found: Found;
    try {
      found = await inspect(folders, options);
    } catch (error) {
      throw filestoreError('Reading the staging folder', error);
    }
    const outcome = found.bag ? await answerPublished(folders, { ...found, bag: found.bag }, options) : await publishNew(folders, found, options);
    // The bag is in place: the staging folder goes before the answer (the receipt beside it stays until the answer is heard).
    return { ...outcome, left: await removeStaged(folders, options) };
  }, options.lock);

  const where = `production/${project}/${startTime}`;
  const warnings = {
    new: [],
    repeated: [`A publish of project '${project}' (start time ${startTime}) put its bag in production and stopped before it answered; the bag was checked against its manifests and answered again.`],
    identical: [`The files staged for project '${project}' (start time ${startTime}) equal the bag already published in ${where}; its hashes were answered and staging is cleared.`],
  };
  return {
    data_published: done.payload.map((p) => ({ file_path: p.path, hash_value: p.sha512, total_bytes: p.bytes })),
    warnings: [...warnings[done.how], ...done.left],
  };
}

/** What a publish put in place or answered, and how. */
interface Outcome {
  payload: PayloadEntry[];
  how: 'new' | 'repeated' | 'identical';
}

/** What a publish found of its project on the mount, every part checked for links. */
interface Found {
  /** `staging/{project}/{start_time}/`. */
  staged: CheckedDir | undefined;
  /** Its `data/outputs/`. */
  outputs: CheckedDir | undefined;
  productionProject: CheckedDir | undefined;
  /** `production/{project}/{start_time}/`: the bag. */
  bag: CheckedDir | undefined;
  /** Hidden bag folders (`.{start_time}.partial-*`) left in production by interrupted publishes. */
  partials: string[];
  /** The digest in the project's receipt for this start time, if there is one. */
  receipt: string | undefined;
  /** The staged payload, relative to `data/outputs/`. */
  files: string[];
}

async function inspect({ staging, production }: MountFolders, { project, startTime }: ProjectRef): Promise<Found> {
  const stagingProject = await staging.open(project);
  const staged = await stagingProject?.open(startTime);
  const productionProject = await production.open(project);
  const bag = await productionProject?.open(startTime);
  const partials = productionProject ? (await productionProject.list()).filter((n) => isHiddenSibling(n, startTime)) : [];
  for (const name of partials) await productionProject!.checkTree(name);
  const receipt = await readReceipt(staging, { project, startTime });
  const outputs = await staged?.openPath(OUTPUTS_PATH);
  const files = outputs ? await listPayload(outputs) : [];
  return { staged, outputs, productionProject, bag, partials, receipt, files };
}

/** A bag is in place: answer it again (a stopped publish, or the same files staged), or refuse. Nothing in production changes. */
async function answerPublished(folders: MountFolders, found: Found & { bag: CheckedDir }, ref: ProjectRef): Promise<Outcome> {
  const where = found.bag.rel;
  let inPlace: string | undefined;
  const read = async () => {
    try {
      return await readBag(found.bag);
    } catch (error) {
      throw filestoreError('Reading the bag in production', error);
    }
  };
  try {
    inPlace = await tagManifestDigest(found.bag);
  } catch (error) {
    throw filestoreError('Reading the bag in production', error);
  }
  if (found.receipt !== undefined && found.receipt === inPlace) {
    const { payload, problems } = await read();
    if (problems.length > 0) {
      throw new AppError(
        'NOTHING_TO_PUBLISH',
        `Staging holds nothing to publish for project '${ref.project}' (start time ${ref.startTime}): its files went into the bag ${where} by a publish that stopped before it answered, and that bag is not complete: ${summarise(problems)}. Package the project again, then publish.`,
      );
    }
    await removePartials(found);
    return { payload, how: 'repeated' };
  }
  if (found.files.length === 0) {
    // A publish killed after its bag was in place but before staging was removed, by an earlier version,
    // left the emptied staging folder without a receipt: clear it, so staging holds nothing of the project.
    await clearStaging(folders.staging, ref).catch(() => undefined);
    throw new AppError('NOTHING_TO_PUBLISH', NOTHING_TO_PUBLISH_MESSAGE);
  }
  const { payload, problems } = await read();
  const never = `${where} already holds the published bag of project '${ref.project}' (start time ${ref.startTime}), and published data is never replaced`;
  if (problems.length > 0) {
    throw new AppError('ALREADY_PUBLISHED', `${never}; that bag does not check out (${summarise(problems)}), so an operator must look at it. Nothing was changed; staging keeps its files.`);
  }
  let differences: string[];
  try {
    differences = await compareStaged(found.outputs!, found.files, payload);
    if (differences.length === 0) await writeReceipt(folders.staging, ref, inPlace!);
  } catch (error) {
    throw filestoreError('Comparing the staged files with the bag', error);
  }
  if (differences.length > 0) {
    throw new AppError('ALREADY_PUBLISHED', `${never}: the staged files differ from it (${summarise(differences)}). Nothing was changed; staging keeps them. Package the project under a new start time to publish different data.`);
  }
  await removePartials(found);
  return { payload, how: 'identical' };
}

/** No bag in place: move the staged files into a new one. */
async function publishNew(folders: MountFolders, found: Found, options: PublishOptions): Promise<Outcome> {
  const { project, startTime } = options;
  let { staged, outputs, files } = found;
  try {
    if (found.partials.length > 0) {
      ({ staged, outputs } = await recoverInterrupted(folders.staging, found, options));
      files = await listPayload(outputs);
    }
    // The receipt of a publish stopped before its bag went into place: its files were taken back above.
    if (found.receipt !== undefined) await removeReceipt(folders.staging, options);
  } catch (error) {
    throw filestoreError('Reading the staging folder', error);
  }
  if (!staged || !outputs || files.length === 0) {
    // An emptied staging folder (a publish of an earlier version, killed after its bag was in place but
    // before staging was removed, left one without a receipt): clear it, so staging holds nothing of the project.
    await clearStaging(folders.staging, options).catch(() => undefined);
    throw new AppError('NOTHING_TO_PUBLISH', NOTHING_TO_PUBLISH_MESSAGE);
  }

  const renamed: Move[] = [];
  const payload: PayloadEntry[] = [];
  const tempName = hiddenSibling(startTime);
  let productionProject: CheckedDir | undefined;
  let inPlace = false;
  try {
    productionProject = found.productionProject ?? (await folders.production.open(project, true))!;
    for (const name of found.partials) await productionProject.removeTree(name);
    const temp = await productionProject.create(tempName);
    const data = await temp.create(OUTPUTS_PATH[0]);
    const from = new FolderCache(outputs);
    const to = new FolderCache(await data.create(OUTPUTS_PATH[1]));
    for (const rel of files) {
      const source = await from.parentOf(rel);
      const target = await to.parentOf(rel, true);
      const digest = await moveOrCopy(source.dir!, target.dir!, source.name, options.forceCopy ?? false, renamed);
      payload.push({ path: [...OUTPUTS_PATH, rel].join('/'), ...digest });
    }
    await writeBagTagFiles(temp, payload, options.bagInfo ?? {}, { externalIdentifier: `${project}/${startTime}`, date: options.now });
    await to.syncAll();
    await data.sync();
    await temp.sync();
    const digest = (await tagManifestDigest(temp))!;
    await writeReceipt(folders.staging, options, digest);
    // Never over anything (rename would replace an empty folder): under the lock nothing else puts a bag here.
    await refuseIfPublished(productionProject, options);
    await rename(productionProject.at(tempName), productionProject.at(startTime));
    inPlace = true;
    await productionProject.sync();
    return { payload, how: 'new' };
  } catch (error) {
    // Once the bag is in place its files stay there, and the receipt lets a repeat answer it.
    if (!inPlace) {
      for (const { from, to, name } of renamed.reverse()) await rename(to.at(name), from.at(name)).catch(() => undefined);
      await productionProject?.removeTree(tempName).catch(() => undefined);
      await removeReceipt(folders.staging, options).catch(() => undefined);
    }
    throw filestoreError('Publishing to production', error);
  }
}

/**
 * A publish's last step, once its answer has reached the caller (or, for a job
 * nobody waits on, once its end is recorded): removes the project's receipt
 * when it names the bag in production (the staging folder went before the
 * answer). No lock is taken: once a bag is in place nothing writes another
 * receipt for it but a repeat naming the same bag. Anything else (no receipt:
 * settled already; a receipt naming no bag in place) is left alone. Until it
 * runs, a repeat of the publish answers the bag again; afterwards it answers
 * the contract's nothing-to-publish. Never throws: it answers problems for the
 * service log.
 */
export async function settlePublished(options: Pick<PublishOptions, 'mountRoot' | 'project' | 'startTime'>): Promise<string[]> {
  const { mountRoot, project, startTime } = options;
  try {
    checkProjectRef(options);
    const folders = await openMount(mountRoot);
    try {
      const receipt = await readReceipt(folders.staging, options);
      if (receipt === undefined) return [];
      const bag = await (await folders.production.open(project))?.open(startTime);
      if (!bag || (await tagManifestDigest(bag)) !== receipt) return [];
      await removeReceipt(folders.staging, options);
      return [];
    } finally {
      await folders.root.closeAll();
    }
  } catch (error) {
    const why = error instanceof AppError ? error.detail : (error as Error).message;
    return [`The receipt staging/${RECEIPTS}/${publishReceipt(options)} could not be removed after the publish was answered (${why}); a repeat of this publish answers the same bag until it is.`];
  }
}

/**
 * {@link clearStaging} once the bag is in place: answers a warning for the
 * service log when it cannot, the publish itself standing.
 */
async function removeStaged({ staging }: MountFolders, { project, startTime }: ProjectRef): Promise<string[]> {
  try {
    await clearStaging(staging, { project, startTime });
    return [];
  } catch (error) {
    // Part of the answer (GraphQL's warnings): the system's code, never its message, which names paths on the service.
    const why = error instanceof AppError ? error.detail : ((error as NodeJS.ErrnoException).code ?? 'an unexpected error');
    return [`The staging folder staging/${project}/${startTime} could not be removed after publishing (${why}); a repeat of this publish answers the same bag and removes it.`];
  }
}

/** The project's receipt (trimmed), or undefined when there is none; a link there is refused. */
async function readReceipt(staging: CheckedDir, ref: ProjectRef): Promise<string | undefined> {
  const receipts = await staging.open(RECEIPTS);
  if (!receipts) return undefined;
  try {
    const handle = await receipts.readFile(publishReceipt(ref));
    if (!handle) return undefined;
    return (await handle.readFile('utf8').finally(() => handle.close())).trim();
  } finally {
    await receipts.close();
  }
}

/**
 * Writes the receipt durably (through a fresh name renamed over it, file and
 * folder entry flushed). The folder is made when missing, afresh when another
 * project's settle has just removed it.
 */
async function writeReceipt(staging: CheckedDir, ref: ProjectRef, digest: string): Promise<void> {
  const name = publishReceipt(ref);
  for (let attempt = 1; ; attempt++) {
    const receipts = (await staging.open(RECEIPTS, true))!;
    const temp = `${name}.tmp-${randomBytes(6).toString('hex')}`;
    try {
      const handle = await receipts.newFile(temp);
      try {
        await handle.writeFile(`${digest}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(receipts.at(temp), receipts.at(name));
      await receipts.sync();
      await staging.sync();
      return;
    } catch (error) {
      await unlink(receipts.at(temp)).catch(() => undefined);
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw error;
    } finally {
      await receipts.close();
    }
  }
}

/** Removes the project's receipt, and the receipts folder when that leaves it empty (fails harmlessly while it holds others). */
async function removeReceipt(staging: CheckedDir, ref: ProjectRef): Promise<void> {
  const receipts = await staging.open(RECEIPTS);
  if (!receipts) return;
  try {
    await receipts.removeTree(publishReceipt(ref));
  } finally {
    await receipts.close();
  }
  await rmdir(staging.at(RECEIPTS)).catch(() => undefined);
}

/** Removes the project's staging folder for this start time, and the project folder when that leaves it empty. */
async function clearStaging(staging: CheckedDir, { project, startTime }: ProjectRef): Promise<void> {
  const stagingProject = await staging.open(project);
  if (!stagingProject) return;
  await stagingProject.removeTree(startTime);
  await rmdir(staging.at(project)).catch(() => undefined);
}

/** Removes hidden bag folders an interrupted publish left beside a bag that is complete (best effort). */
async function removePartials(found: Found): Promise<void> {
  for (const name of found.partials) await found.productionProject?.removeTree(name).catch(() => undefined);
}

/**
 * A publish interrupted (the process killed) after renaming files into its
 * hidden bag folder left them there and not in staging: put back into staging
 * every file staging lacks, so this publish includes them. (Copies, made across
 * volumes, have their original still in staging and are simply dropped.)
 */
async function recoverInterrupted(staging: CheckedDir, found: Found, ref: ProjectRef): Promise<{ staged: CheckedDir; outputs: CheckedDir }> {
  const staged = found.staged ?? (await staging.openPath([ref.project, ref.startTime], true))!;
  const outputs = found.outputs ?? (await staged.openPath(OUTPUTS_PATH, true))!;
  const present = new Set(found.files);
  const back = new FolderCache(outputs);
  for (const partial of found.partials) {
    const left = await found.productionProject!.openPath([partial, ...OUTPUTS_PATH]);
    if (!left) continue;
    const from = new FolderCache(left);
    for (const rel of await listPayload(left, 'A hidden bag folder')) {
      if (present.has(rel)) continue;
      const source = await from.parentOf(rel);
      const target = await back.parentOf(rel, true);
      await rename(source.dir!.at(source.name), target.dir!.at(target.name));
      present.add(rel);
    }
  }
  return { staged, outputs };
}
