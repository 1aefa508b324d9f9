/**
 * Crashes: the publish service, a real process on a real PostgreSQL source, is
 * killed with SIGKILL at chosen points of a package or a publish; the same
 * call is then repeated on a fresh process with the same mount. The end state
 * must equal an uninterrupted run's: the same payload files (names, sizes,
 * SHA-512) in a valid bag, every file in exactly one of staging or production,
 * nothing left in staging, no hidden work folder, no lock. A publish killed
 * after its bag went into place, before it answered, is answered in full by
 * the repeat: 200 with the bag's files, sizes and SHA-512.
 *
 * The source is three tables of 250,000 rows (about 200 MB of CSV, rotated
 * into 16 MiB files), so a package takes about a second and a publish (rename
 * and SHA-512 of every byte) about 400 ms. Where each kill landed is reported
 * with t.diagnostic. Each kill follows the moment it aims at by a poll of the
 * source (pg_stat_activity) or the filesystem; the rename windows are hit by
 * spinning without yielding, which lands in them most of the time, not always.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { validateBag } from '../../scripts/support/bag-validate.js';
import { publishToProduction } from '../../subgraphs/publish/src/destinations/filestore/publish.js';
import { createPgDatabase, type TestPgDatabase } from '../support/databases.js';
import { canMount, digestTree, listTree, mountTmpfs, namesIn, spinUntil, treeBytes, unmountQuietly, waitUntil, type FileDigest } from '../support/fault-fs.js';
import { createWorkspace, postJson, queryRunning, startPublishProcess, type FaultWorkspace, type PublishProcess } from '../support/fault-process.js';
import { dataset, publishRequest, sqlSource, transferRequest } from '../support/requests.js';

const KEY = 'publish-crash-key';
const TABLES = ['big_a', 'big_b', 'big_c'];
const ROWS = 250_000;
const DEST = { name: 'LSC', type: 'filestore', format: 'csv' };
const ENV = { DATA_WRITER__FILE_MAX_BYTES: String(16 * 2 ** 20) };
const REFERENCE = '20250601_000000';

let db: TestPgDatabase;
let ws: FaultWorkspace;
let svc: PublishProcess;
/** The payload of the uninterrupted run's bag (paths relative to the bag). */
let reference: FileDigest[];
let referenceBytes: number;

const packageBody = (startTime: string, tables = TABLES) => ({
  ...transferRequest(sqlSource('postgresql', db.database), dataset('public', tables), { project_start_time: startTime }),
  destination: DEST,
});
const publishBody = (startTime: string) => ({ ...publishRequest({ project_start_time: startTime }), destination: DEST });
const packageCall = (startTime: string, tables = TABLES) => postJson(`${svc.url}/data-publish/package`, packageBody(startTime, tables), KEY);
const publishCall = (startTime: string) => postJson(`${svc.url}/data-publish/publish`, publishBody(startTime), KEY);

function dirs(w: FaultWorkspace, startTime: string) {
  return {
    staging: path.join(w.staging, 'Pr004', startTime),
    stagingProject: path.join(w.staging, 'Pr004'),
    bag: path.join(w.production, 'Pr004', startTime),
    productionProject: path.join(w.production, 'Pr004'),
    lock: path.join(w.staging, '.locks', `pr004@${startTime}.lock`),
    receipt: path.join(w.staging, '.published', `pr004@${startTime}`),
  };
}

/** The bag's payload files (under data/), relative to the bag. */
async function payloadOf(bag: string): Promise<FileDigest[]> {
  return (await digestTree(path.join(bag, 'data'))).map((f) => ({ ...f, path: `data/${f.path}` }));
}

/** Hidden work folders (`.{start}.partial-…`, `.{start}.replaced-…`) left beside a project's folders. */
async function hiddenLeftovers(w: FaultWorkspace, startTime: string): Promise<string[]> {
  const d = dirs(w, startTime);
  const all = [...(await namesIn(d.stagingProject)).map((n) => `staging/Pr004/${n}`), ...(await namesIn(d.productionProject)).map((n) => `production/Pr004/${n}`)];
  return all.filter((n) => path.basename(n).startsWith(`.${startTime}.`));
}

/** The next process for the main workspace, started ahead so a restart does not wait for a start-up. */
let standby: Promise<PublishProcess> | undefined;

/** Restarts the service: the killed process's successor on the same mount. */
async function restart(w: FaultWorkspace = ws, env: NodeJS.ProcessEnv = ENV): Promise<void> {
  await svc?.kill();
  if (w === ws && standby) {
    svc = await standby;
    standby = startPublishProcess(ws, ENV);
  } else {
    svc = await startPublishProcess(w, env);
  }
}

/**
 * Asserts the end state of a project after its publish answered `published`:
 * the bag holds exactly the reference payload and validates, the answer lists
 * the same files and hashes, and nothing of the project is left in staging
 * (no folder, no hidden folder, no lock).
 */
async function assertSameEndState(w: FaultWorkspace, startTime: string, published: { status: number; body: any }): Promise<void> {
  assert.equal(published.status, 200, JSON.stringify(published.body));
  const d = dirs(w, startTime);
  const payload = await payloadOf(d.bag);
  assert.deepEqual(payload, reference, 'the bag holds exactly the uninterrupted run’s files, sizes and hashes');
  const answered = (published.body.payload.data_published as { file_path: string; hash_value: string; total_bytes: number }[])
    .map((f) => ({ path: f.file_path, bytes: f.total_bytes, sha512: f.hash_value }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  assert.deepEqual(answered, reference, 'the answer lists the same files and hashes');
  const bag = await validateBag(d.bag);
  assert.deepEqual(bag.problems, []);
  assert.equal(bag.valid, true);
  assert.deepEqual(await listTree(d.staging), [], 'nothing of the project is left in staging');
  assert.equal(existsSync(d.staging), false, 'the staging folder is removed');
  assert.deepEqual(await hiddenLeftovers(w, startTime), [], 'no hidden work folder is left');
  assert.equal(existsSync(d.lock), false, 'no lock is left');
  // The receipt goes once the answer has been written (just after it): looked for until it has.
  await waitUntil('the receipt is removed after the answer', async () => !existsSync(d.receipt) || undefined);
  // Every payload file is in exactly one place: production, and not in staging.
  const stagedNames = (await digestTree(w.staging)).filter((f) => f.path.includes(startTime));
  assert.deepEqual(stagedNames, []);
}

before(async () => {
  db = await createPgDatabase('crash');
  // Each COPY starts at the table's first block, so every run reads rows in the same order
  // (a synchronized scan could join a killed run's scan still running on the server).
  await db.client.query(`ALTER DATABASE "${db.database}" SET synchronize_seqscans = off`);
  for (const t of TABLES) {
    await db.client.query(`CREATE TABLE ${t} AS SELECT g AS id, repeat(md5(g::text || '${t}'), 8) AS payload FROM generate_series(1, ${ROWS}) AS g`);
  }
  ws = await createWorkspace('crash', KEY);
  standby = startPublishProcess(ws, ENV);
  svc = await startPublishProcess(ws, ENV);
  const packaged = await packageCall(REFERENCE);
  assert.equal(packaged.status, 200, JSON.stringify(packaged.body));
  const published = await publishCall(REFERENCE);
  assert.equal(published.status, 200, JSON.stringify(published.body));
  reference = await payloadOf(dirs(ws, REFERENCE).bag);
  referenceBytes = reference.reduce((n, f) => n + f.bytes, 0);
  assert.ok(reference.length >= 9, `the package is several files (${reference.length})`);
  assert.equal((await validateBag(dirs(ws, REFERENCE).bag)).valid, true);
});

after(async () => {
  await svc?.kill();
  await (await standby?.catch(() => undefined))?.kill();
  await ws?.remove();
  await db?.drop();
});

describe('SIGKILL during a package, then the package again on a fresh process', () => {
  test('killed while the source COPY runs: nothing finished-looking is left; the repeat ends as an uninterrupted run', async (t) => {
    const start = '20250601_000001';
    const pending = packageCall(start);
    await queryRunning(db.client, db.database, 'COPY%');
    await svc.kill();
    const answer = await pending;
    assert.equal(answer.status, 0, 'the caller sees the connection drop');
    const d = dirs(ws, start);
    assert.equal(existsSync(d.staging), false, 'no finished-looking staging folder');
    t.diagnostic(`left after the kill: ${(await namesIn(d.stagingProject)).join(', ') || '(nothing)'}; lock left: ${existsSync(d.lock)}`);

    await restart();
    const again = await packageCall(start);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    await assertSameEndState(ws, start, await publishCall(start));
  });

  test('killed once every byte is written, in the fsync-and-rename window: the repeat ends as an uninterrupted run', async (t) => {
    const start = '20250601_000002';
    const d = dirs(ws, start);
    const pending = packageCall(start);
    // The hidden folder holds every byte of the package: what remains is fsync, rename, answer.
    // (On a busy machine a poll can miss that short window: the renamed folder ends the wait too.)
    await waitUntil('the whole package in the hidden folder, or the folder renamed', async () => {
      if (existsSync(d.staging)) return true;
      const hidden = (await namesIn(d.stagingProject)).find((n) => n.startsWith(`.${start}.partial-`));
      return hidden !== undefined && (await treeBytes(path.join(d.stagingProject, hidden))) >= referenceBytes;
    }, { intervalMs: 1 });
    await svc.kill();
    await pending;
    const landed = existsSync(d.staging) ? 'after the rename (staging folder in place, answer not sent)' : 'before the rename (only the hidden folder)';
    t.diagnostic(`kill landed ${landed}; left: ${(await namesIn(d.stagingProject)).join(', ')}`);

    await restart();
    const again = await packageCall(start);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    await assertSameEndState(ws, start, await publishCall(start));
  });

  test('killed right after the staging folder appears, before the answer: the repeat ends as an uninterrupted run', async (t) => {
    const start = '20250601_000003';
    const d = dirs(ws, start);
    const pending = packageCall(start);
    await waitUntil('the hidden folder', async () => (await namesIn(d.stagingProject)).some((n) => n.startsWith(`.${start}.partial-`)), { intervalMs: 1 });
    spinUntil('the staging folder', () => existsSync(d.staging));
    await svc.kill();
    const answer = await pending;
    t.diagnostic(`the caller got ${answer.status === 0 ? 'no answer' : `HTTP ${answer.status}`}; lock left: ${existsSync(d.lock)}`);

    await restart();
    const again = await packageCall(start);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    await assertSameEndState(ws, start, await publishCall(start));
  });
});

describe('SIGKILL during a publish, then the publish again on a fresh process', () => {
  test('killed while files are moved and hashed: every file is in exactly one place, and the repeat ends as an uninterrupted run', async (t) => {
    const start = '20250601_000004';
    const d = dirs(ws, start);
    assert.equal((await packageCall(start)).status, 200);
    const pending = publishCall(start);
    const hidden = await waitUntil('files in the hidden bag folder', async () => {
      const name = (await namesIn(d.productionProject)).find((n) => n.startsWith(`.${start}.partial-`));
      if (!name) return undefined;
      const moved = await namesIn(path.join(d.productionProject, name, 'data', 'outputs'));
      return moved.length >= 2 ? name : undefined;
    }, { intervalMs: 1 });
    await svc.kill();
    await pending;
    // At the kill: each payload file is in staging or in the hidden bag, never both, never neither.
    const inStaging = await namesIn(path.join(d.staging, 'data', 'outputs'));
    const inHidden = await namesIn(path.join(d.productionProject, hidden, 'data', 'outputs'));
    t.diagnostic(`at the kill: ${inHidden.length} files moved, ${inStaging.length} still staged; bag in place: ${existsSync(d.bag)}`);
    assert.deepEqual([...inStaging, ...inHidden].sort(), reference.map((f) => path.basename(f.path)).sort());
    assert.equal(existsSync(d.bag), false, 'no bag appeared');

    await restart();
    await assertSameEndState(ws, start, await publishCall(start));
  });

  // A crash after the bag rename, before the answer: the bag is the publish's whole work, so the repeat answers it.
  test('killed after the bag is in place, before the answer: the repeat answers 200 with the bag’s files, sizes and SHA-512', async (t) => {
    const start = '20250601_000005';
    const d = dirs(ws, start);
    assert.equal((await packageCall(start)).status, 200);
    const pending = publishCall(start);
    await waitUntil('the hidden bag folder', async () => (await namesIn(d.productionProject)).some((n) => n.startsWith(`.${start}.partial-`)), { intervalMs: 1 });
    // After the rename come the folder fsync, the audit event (fsynced) and the removal of
    // staging, then the answer: spin without yielding so the kill follows the rename at once.
    spinUntil('the bag', () => existsSync(d.bag));
    await svc.kill();
    const answer = await pending;
    t.diagnostic(`the caller got ${answer.status || 'no answer'}; left in staging: ${(await listTree(d.staging)).join(', ') || '(nothing)'}`);

    await restart();
    const again = await publishCall(start);
    t.diagnostic(`the repeated publish answered ${again.status}: ${JSON.stringify(again.body).slice(0, 200)}`);
    if (answer.status === 0) {
      // The caller never heard: the repeat answers what the killed publish put in place, in full.
      await assertSameEndState(ws, start, again);
    } else {
      // The kill came after the answer (the window was missed): that publish was whole and answered.
      await assertSameEndState(ws, start, answer);
      if (again.status === 200) {
        // Killed between writing the answer and removing the receipt: the repeat answers the same bag.
        await assertSameEndState(ws, start, again);
      } else {
        assert.equal(again.status, 409, JSON.stringify(again.body));
        assert.equal(again.body.payload.detail, 'No files found in Staging. Nothing to publish to Production.');
      }
    }
  });

  // The kill above lands in its window almost always, not always: this builds what such a kill
  // leaves, every time, by running the real publish up to its answer without its last step.
  test('the state that kill leaves (bag in place, its receipt in staging): the repeat answers 200 with the bag; a further repeat is the contract’s nothing-to-publish', async () => {
    const start = '20250601_000008';
    const d = dirs(ws, start);
    assert.equal((await packageCall(start)).status, 200);
    await publishToProduction({ mountRoot: ws.mount, project: 'Pr004', startTime: start });
    assert.ok(existsSync(d.bag) && existsSync(d.receipt), 'the bag is in place and its receipt still there');
    assert.equal(existsSync(d.staging), false, 'the staging folder went before the answer');
    const again = await publishCall(start);
    await assertSameEndState(ws, start, again);
    const further = await publishCall(start);
    assert.equal(further.status, 409, JSON.stringify(further.body));
    assert.equal(further.body.payload.detail, 'No files found in Staging. Nothing to publish to Production.');
    assert.deepEqual(await payloadOf(d.bag), reference, 'the bag is untouched');
  });
});

describe('a publish killed, then a different package, then publish', () => {
  // A new package supersedes what an interrupted publish had moved: those files must never be published with it.
  test('files the killed publish had moved do not come back into the new package’s bag', async (t) => {
    const start = '20250601_000006';
    const d = dirs(ws, start);
    assert.equal((await packageCall(start)).status, 200);
    const pending = publishCall(start);
    await waitUntil('files in the hidden bag folder', async () => {
      const name = (await namesIn(d.productionProject)).find((n) => n.startsWith(`.${start}.partial-`));
      return name !== undefined && (await namesIn(path.join(d.productionProject, name, 'data', 'outputs'))).length >= 2;
    }, { intervalMs: 1 });
    await svc.kill();
    await pending;
    await restart();
    // The project packages again, now only big_c (say, the approval changed), and publishes.
    const repackaged = await packageCall(start, ['big_c']);
    assert.equal(repackaged.status, 200, JSON.stringify(repackaged.body));
    const published = await publishCall(start);
    assert.equal(published.status, 200, JSON.stringify(published.body));
    const files = (await payloadOf(d.bag)).map((f) => f.path);
    t.diagnostic(`bag holds: ${files.join(', ')}`);
    assert.deepEqual(files, reference.map((f) => f.path).filter((p) => p.includes('big_c')), 'only the new package’s files are published');
  });
});

describe('staging and production on different volumes (copy, verify, delete)', () => {
  let cross: FaultWorkspace | undefined;
  let mounted = false;

  before(async () => {
    if (!(await canMount())) return;
    cross = await createWorkspace('crash-xdev', KEY);
    mountTmpfs(cross.production, 1024 * 2 ** 20);
    mounted = true;
  });

  after(async () => {
    if (mounted && cross) unmountQuietly(cross.production);
    await cross?.remove();
  });

  test('a publish killed mid-copy: staging keeps every file, and the repeat ends as an uninterrupted run', async (t: TestContext) => {
    if (!cross) return t.skip('this process may not mount a tmpfs (needs root with CAP_SYS_ADMIN)');
    const start = '20250601_000007';
    const d = dirs(cross, start);
    await restart(cross);
    assert.equal((await packageCall(start)).status, 200);
    const pending = publishCall(start);
    await waitUntil('copies in the hidden bag folder', async () => {
      const name = (await namesIn(d.productionProject)).find((n) => n.startsWith(`.${start}.partial-`));
      return name !== undefined && (await namesIn(path.join(d.productionProject, name, 'data', 'outputs'))).length >= 2;
    }, { intervalMs: 1 });
    await svc.kill();
    await pending;
    const staged = await namesIn(path.join(d.staging, 'data', 'outputs'));
    t.diagnostic(`at the kill: ${staged.length} of ${reference.length} files still in staging`);
    assert.equal(staged.length, reference.length, 'a copy never removes its staging original before the bag is in place');

    await restart(cross);
    await assertSameEndState(cross, start, await publishCall(start));
  });
});
