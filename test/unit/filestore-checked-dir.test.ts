/**
 * The filestore's safe paths: insideMount (the lexical layer) and CheckedDir,
 * which opens every folder under a mount without following a symbolic link.
 * A link or a non-folder where a folder is expected is FILESTORE_PATH_REFUSED
 * naming the path relative to the mount; files are read and created never
 * through a link; a tree is deleted name by name, a link in it removed itself,
 * never followed; and on Linux a folder once opened stays the folder acted in,
 * even when it is swapped for a link afterwards.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';
import { AppError } from '../../lib/errors.js';
import { CheckedDir } from '../../subgraphs/publish/src/destinations/filestore/mount/checked-dir.js';
import { insideMount } from '../../subgraphs/publish/src/destinations/filestore/mount/safe-paths.js';
import { tempFolder, treeState } from '../support/filestore-fs.js';

let root: string;
let outside: string;
const cleanups: Array<() => Promise<void>> = [];
const open: CheckedDir[] = [];

beforeEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  for (const d of open.splice(0)) await d.closeAll();
  const a = await tempFolder('cr8tor-checked-');
  const b = await tempFolder('cr8tor-outside-');
  cleanups.push(a.cleanup, b.cleanup);
  root = a.dir;
  outside = b.dir;
  await mkdir(path.join(root, 'staging', 'Pr004', '20250101_000000', 'data', 'outputs'), { recursive: true });
  await writeFile(path.join(outside, 'secret.txt'), 'outside\n');
});

after(async () => {
  for (const d of open) await d.closeAll();
  for (const c of cleanups) await c();
});

async function mountRoot(at = root): Promise<CheckedDir> {
  const dir = await CheckedDir.openMount(at);
  open.push(dir);
  return dir;
}

/** Asserts FILESTORE_PATH_REFUSED whose detail starts with `start`. */
function refused(start: string) {
  return (e: unknown) => {
    assert.ok(e instanceof AppError, String(e));
    assert.equal(e.code, 'FILESTORE_PATH_REFUSED');
    assert.equal(e.status, 409);
    assert.ok(e.detail.startsWith(start), e.detail);
    assert.ok(!e.detail.includes(root), 'no absolute path for the caller');
    return true;
  };
}

describe('insideMount (lexical)', () => {
  test('refuses any path that leaves the mount', () => {
    assert.equal(insideMount('/m', 'staging', 'p', 't'), path.resolve('/m/staging/p/t'));
    for (const parts of [['..'], ['staging', '..', '..', 'x'], ['/etc'], ['a\0b'], [''], ['.']]) {
      assert.throws(() => insideMount('/m', ...parts), AppError, JSON.stringify(parts));
    }
  });
});

describe('CheckedDir', () => {
  test('opens folder by folder and names paths relative to the mount', async () => {
    const m = await mountRoot();
    const outputs = await m.openPath(['staging', 'Pr004', '20250101_000000', 'data', 'outputs']);
    assert.equal(outputs?.rel, 'staging/Pr004/20250101_000000/data/outputs');
    assert.equal(outputs?.relOf('x.csv'), 'staging/Pr004/20250101_000000/data/outputs/x.csv');
    assert.equal(m.relOf('staging'), 'staging/');
    assert.equal(await m.openPath(['staging', 'Nope']), undefined, 'a missing folder is undefined');
    const made = await m.openPath(['staging', 'Pr005', 'a'], true);
    assert.equal(made?.rel, 'staging/Pr005/a');
    assert.ok(existsSync(path.join(root, 'staging', 'Pr005', 'a')));
  });

  test('the mount itself may be reached through a link (the operator’s choice)', async () => {
    const via = path.join(outside, 'mount');
    await symlink(root, via);
    const m = await mountRoot(via);
    assert.equal(m.abs, root);
    assert.ok(await m.open('staging'));
  });

  test('a link where a folder is expected is refused, even a dangling one, even with create', async () => {
    await symlink(outside, path.join(root, 'staging', 'ProjA'));
    await symlink(path.join(outside, 'nothing'), path.join(root, 'staging', 'Dangling'));
    const before = await treeState(outside);
    const staging = (await (await mountRoot()).open('staging'))!;
    await assert.rejects(staging.open('ProjA'), refused('staging/ProjA is a symbolic link; the filestore refuses links'));
    await assert.rejects(staging.open('Dangling', true), refused('staging/Dangling is a symbolic link'));
    await assert.rejects(staging.openPath(['ProjA', 'x'], true), refused('staging/ProjA is a symbolic link'));
    assert.equal(existsSync(path.join(outside, 'nothing')), false);
    assert.deepEqual(await treeState(outside), before);
  });

  test('a file where a folder is expected, and an area that is a link, are refused', async () => {
    await writeFile(path.join(root, 'staging', 'Pr004', 'file'), 'x');
    const m = await mountRoot();
    await assert.rejects(m.openPath(['staging', 'Pr004', 'file']), refused('staging/Pr004/file is not a folder'));
    await rename(path.join(root, 'staging'), path.join(root, 'real-staging'));
    await symlink('real-staging', path.join(root, 'staging'));
    await assert.rejects(m.open('staging'), refused('staging/ is a symbolic link'));
  });

  test('files are read and created never through a link; a FIFO is refused without hanging', async () => {
    const dir = (await (await mountRoot()).openPath(['staging', 'Pr004']))!;
    await symlink(path.join(outside, 'secret.txt'), path.join(root, 'staging', 'Pr004', 'read-me'));
    await symlink(path.join(outside, 'new.txt'), path.join(root, 'staging', 'Pr004', 'write-me'));
    await assert.rejects(dir.readFile('read-me'), refused('staging/Pr004/read-me is a symbolic link'));
    await assert.rejects(dir.newFile('write-me'), refused('staging/Pr004/write-me is a symbolic link'));
    assert.equal(existsSync(path.join(outside, 'new.txt')), false, 'nothing created where the dangling link points');
    assert.equal(await dir.readFile('missing'), undefined);
    execFileSync('mkfifo', [path.join(root, 'staging', 'Pr004', 'fifo')]);
    await assert.rejects(dir.readFile('fifo'), refused('staging/Pr004/fifo is not a regular file'));
    const handle = await dir.newFile('fresh');
    await handle.writeFile('ok');
    await handle.close();
    await assert.rejects(dir.newFile('fresh'), (e: any) => e.code === 'EEXIST', 'an existing file is never overwritten');
  });

  test('checkTree refuses a link anywhere below; removeTree removes links themselves and never what they point at', async () => {
    const project = path.join(root, 'staging', 'Pr004');
    await writeFile(path.join(project, '20250101_000000', 'data', 'outputs', 'a.csv'), 'a\n');
    await symlink(outside, path.join(project, '20250101_000000', 'data', 'outputs', 'out'));
    await symlink(path.join(outside, 'secret.txt'), path.join(project, '20250101_000000', 'data', 'secret.csv'));
    const dir = (await (await mountRoot()).openPath(['staging', 'Pr004']))!;
    await assert.rejects(dir.checkTree('20250101_000000'), refused('staging/Pr004/20250101_000000/data/outputs/out is a symbolic link'));
    const before = await treeState(outside);
    await dir.removeTree('20250101_000000');
    assert.equal(existsSync(path.join(project, '20250101_000000')), false);
    assert.deepEqual(await treeState(outside), before, 'nothing outside was touched');
    assert.equal(await readFile(path.join(outside, 'secret.txt'), 'utf8'), 'outside\n');
  });

  test('names are single plain components', async () => {
    const m = await mountRoot();
    for (const name of ['..', '.', 'a/b', '', 'x\0y']) assert.throws(() => m.at(name), AppError, JSON.stringify(name));
  });

  test('on Linux, a folder swapped for a link after it was opened is still the folder acted in (/proc/self/fd anchoring)', async (t) => {
    if (process.platform !== 'linux' || !existsSync('/proc/self/fd')) return t.skip('needs /proc/self/fd');
    const project = path.join(root, 'staging', 'Pr004');
    const dir = (await (await mountRoot()).openPath(['staging', 'Pr004']))!;
    // A concurrent writer moves the checked folder away and plants a link to outside in its place.
    await rename(project, path.join(root, 'staging', 'moved'));
    await symlink(outside, project);
    const handle = await dir.newFile('written.txt');
    await handle.close();
    await mkdir(dir.at('made'));
    assert.equal(existsSync(path.join(outside, 'written.txt')), false, 'nothing reached the link target');
    assert.equal(existsSync(path.join(outside, 'made')), false);
    assert.ok(existsSync(path.join(root, 'staging', 'moved', 'written.txt')), 'the file is in the folder that was checked');
    await dir.removeTree('made');
    assert.equal(existsSync(path.join(root, 'staging', 'moved', 'made')), false);
  });
});
