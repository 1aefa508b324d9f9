/**
 * Publishing from staging to production: the files move (or, across volumes,
 * are copied and verified), each answered with its SHA-512 and size, staging is
 * removed, and production holds a BagIt 1.0 bag that a bagit-python-equivalent
 * validator accepts, and rejects once tampered with. A bag in place is never
 * replaced: a package for its start time is refused, staged files equal to it
 * are answered with its hashes, different ones are refused. A publish stopped after
 * its bag went into place but before it answered (its last step, settle, not
 * run) is answered in full by the repeat, from the checked bag.
 */
import { appendFile, cp, mkdir, readFile, rename, rm, stat, symlink, truncate, unlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { packageToStaging } from '../../../../subgraphs/publish/src/destinations/filestore/staging.js';
import { NOTHING_TO_PUBLISH_MESSAGE, publishReceipt, publishToProduction, RECEIPTS, settlePublished, type PublishOptions } from '../../../../subgraphs/publish/src/destinations/filestore/publish.js';
import { AppError, publicError } from '../../../../lib/errors.js';
import { validateBag } from '../../../../scripts/support/bag-validate.js';
import { bindReadOnly, canMount, unmount } from '../../../support/fault-fs.js';
import { columns, listTree, sha512Of, tableOf, tempFolder, tempMount, treeState } from '../../../support/filestore-fs.js';

let mount: string;
let cleanupMount: () => Promise<void>;
let work: string;
let cleanupWork: () => Promise<void>;

before(async () => {
  ({ root: mount, cleanup: cleanupMount } = await tempMount());
  ({ dir: work, cleanup: cleanupWork } = await tempFolder('cr8tor-work-'));
});
after(async () => {
  await cleanupMount();
  await cleanupWork();
});
beforeEach(async () => {
  for (const area of ['staging', 'production']) {
    await rm(path.join(mount, area), { recursive: true, force: true });
    await mkdir(path.join(mount, area));
  }
});

const project = { project: 'Pr004', startTime: '20250205_010101' };
const stagingDir = () => path.join(mount, 'staging', 'Pr004', '20250205_010101');
/** The publish receipt, beside the staging folder: it outlives that folder until the publish's answer is heard. */
const receiptFile = () => path.join(mount, 'staging', RECEIPTS, publishReceipt(project));
const bagDir = () => path.join(mount, 'production', 'Pr004', '20250205_010101');
const person = columns({ person_id: { kind: 'int64' }, name: { kind: 'text' } }, ['person_id']);

async function stage(format: 'csv' | 'duckdb', rows: string[][] = [['1', 'Ada'], ['2', 'Grace']], maxFileBytes = Infinity): Promise<void> {
  await packageToStaging({
    mountRoot: mount,
    ...project,
    format,
    schemaName: 'public',
    tables: [tableOf('person', person, rows), tableOf('visit', columns({ visit_id: { kind: 'int32' } }), [['7']])],
    settings: { csv: { maxFileBytes, gzipLevel: null }, workingDir: work },
  });
}

/** A publish up to its answer, without its last step (settle): what a process stopped just before answering leaves. */
function publishUnsettled(over: Partial<PublishOptions> = {}) {
  return publishToProduction({
    mountRoot: mount,
    ...project,
    bagInfo: { sourceOrganization: 'Lancashire & South Cumbria SDE', contactEmail: 'sde@example.org' },
    now: new Date('2025-02-05T12:00:00Z'),
    ...over,
  });
}

/** A publish as the service runs it: then its last step, once it has answered. */
async function publish(over: Partial<PublishOptions> = {}) {
  const result = await publishUnsettled(over);
  return { ...result, warnings: [...result.warnings, ...(await settlePublished({ mountRoot: mount, ...project, ...over }))] };
}

describe('publishing to production', () => {
  for (const forceCopy of [false, true]) {
    const how = forceCopy ? 'copy (as across volumes)' : 'rename (same volume)';
    test(`${how}: hashes equal an independent SHA-512, staging is removed, the bag is valid`, async () => {
      await stage('csv', [['1', 'Ada'], ['2', 'Grace'], ['3', 'Edsger']], 20);
      const staged = (await listTree(path.join(stagingDir(), 'data', 'outputs'))).filter((f) => !f.endsWith('/'));
      const { data_published, warnings } = await publish({ forceCopy });
      assert.deepEqual(warnings, []);
      assert.deepEqual(
        data_published.map((f) => f.file_path),
        staged.map((f) => `data/outputs/${f}`),
      );
      assert.ok(data_published.length > 2, 'rotation made several person files');
      for (const file of data_published) {
        const onDisk = path.join(bagDir(), file.file_path);
        assert.equal(file.hash_value, await sha512Of(onDisk), file.file_path);
        assert.equal(file.total_bytes, (await readFile(onDisk)).length);
      }
      assert.deepEqual(await listTree(path.join(mount, 'staging')), [], 'staging removed (the emptied project folder too)');
      const check = await validateBag(bagDir());
      assert.deepEqual(check.problems, []);
      assert.equal(check.valid, true);
      assert.equal(check.files, data_published.length);
    });
  }

  test('the bag: bagit.txt, bag-info.txt, manifests, nothing hidden', async () => {
    await stage('duckdb');
    const { data_published } = await publish();
    assert.deepEqual(await listTree(bagDir()), [
      'bag-info.txt',
      'bagit.txt',
      'data/',
      'data/outputs/',
      'data/outputs/database.duckdb',
      'manifest-sha512.txt',
      'tagmanifest-sha512.txt',
    ]);
    assert.deepEqual(await listTree(path.join(mount, 'production', 'Pr004')), [
      '20250205_010101/',
      ...(await listTree(bagDir())).map((p) => `20250205_010101/${p}`),
    ]);
    const bagit = await readFile(path.join(bagDir(), 'bagit.txt'));
    assert.equal(bagit.toString('utf8'), 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n');
    assert.notEqual(bagit[0], 0xef, 'no byte-order mark');
    const db = data_published[0]!;
    assert.equal(await readFile(path.join(bagDir(), 'manifest-sha512.txt'), 'utf8'), `${db.hash_value}  data/outputs/database.duckdb\n`);
    const info = await readFile(path.join(bagDir(), 'bag-info.txt'), 'utf8');
    assert.match(info, /^Source-Organization: Lancashire & South Cumbria SDE\n/);
    assert.match(info, /\nContact-Email: sde@example\.org\n/);
    assert.match(info, /\nExternal-Identifier: Pr004\/20250205_010101\n/);
    assert.match(info, /\nBagging-Date: 2025-02-05\n/);
    assert.match(info, /\nBag-Software-Agent: cr8tor-publisher v\S+\n/);
    assert.match(info, new RegExp(`\\nPayload-Oxum: ${db.total_bytes}\\.1\\n$`));
    const tagLines = (await readFile(path.join(bagDir(), 'tagmanifest-sha512.txt'), 'utf8')).trim().split('\n');
    assert.deepEqual(tagLines.map((l) => l.split('  ')[1]), ['bag-info.txt', 'bagit.txt', 'manifest-sha512.txt']);
    for (const line of tagLines) {
      const [hash, file] = line.split('  ') as [string, string];
      assert.equal(hash, await sha512Of(path.join(bagDir(), file)));
    }
  });

  test('publishing with an empty or missing staging folder fails with the contract message', async () => {
    for (const prepare of [async () => undefined, async () => mkdir(path.join(stagingDir(), 'data', 'outputs'), { recursive: true })]) {
      await prepare();
      await assert.rejects(publish(), (e: unknown) => {
        assert.ok(e instanceof AppError);
        assert.equal(e.code, 'NOTHING_TO_PUBLISH');
        assert.equal(e.message, 'No files found in Staging. Nothing to publish to Production.');
        assert.equal(publicError(e).detail, NOTHING_TO_PUBLISH_MESSAGE);
        return true;
      });
    }
    assert.deepEqual(await listTree(path.join(mount, 'production')), []);
  });

  test('a package for a start time already published is refused (409 naming the bag); the bag and staging stay as they were', async () => {
    await stage('csv', [['1', 'first']]);
    await publish();
    const bag = await treeState(bagDir());
    await assert.rejects(stage('duckdb', [['1', 'second']]), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'ALREADY_PUBLISHED');
      assert.equal(e.status, 409);
      assert.match(e.detail, /^production\/Pr004\/20250205_010101 already holds the published bag of project 'Pr004' \(start time 20250205_010101\), and published data is never replaced: nothing was changed\./);
      return true;
    });
    assert.deepEqual(await treeState(bagDir()), bag, 'the bag is byte-identical');
    assert.deepEqual(await listTree(path.join(mount, 'staging')), [], 'nothing was staged');
  });

  test('staged files equal to the bag in place (paths, sizes, SHA-512): the bag\'s hashes are answered, staging cleared, the bag untouched', async () => {
    await stage('csv');
    const first = await publish();
    const bag = await treeState(bagDir());
    await cp(path.join(bagDir(), 'data'), path.join(stagingDir(), 'data'), { recursive: true });
    const again = await publish();
    assert.deepEqual(again.data_published, first.data_published);
    assert.match(again.warnings.join('\n'), /equal the bag already published in production\/Pr004\/20250205_010101; its hashes were answered/);
    assert.deepEqual(await treeState(bagDir()), bag, 'the bag is byte-identical');
    assert.deepEqual(await listTree(path.join(mount, 'staging')), [], 'staging cleared');
  });

  test('a repeat of that publish stopped before it answered (receipt written, staging not cleared) answers the bag again', async () => {
    await stage('csv');
    const first = await publish();
    await cp(path.join(bagDir(), 'data'), path.join(stagingDir(), 'data'), { recursive: true });
    await publishUnsettled();
    assert.ok(existsSync(receiptFile()), 'the identical publish wrote a receipt');
    assert.equal(existsSync(stagingDir()), false, 'and cleared staging before it answered');
    const again = await publish();
    assert.deepEqual(again.data_published, first.data_published);
    assert.deepEqual(await listTree(path.join(mount, 'staging')), []);
  });

  const changes: Array<[string, (outputs: string) => Promise<void>, RegExp]> = [
    ['a changed byte', (o) => appendFile(path.join(o, 'person.csv'), '3,Edsger\n'), /data\/outputs\/person\.csv differs/],
    ['an extra file', (o) => writeFile(path.join(o, 'extra.csv'), 'x\n'), /data\/outputs\/extra\.csv is staged but not in the bag/],
    ['a missing file', (o) => unlink(path.join(o, 'visit.csv')), /data\/outputs\/visit\.csv is in the bag but not staged/],
  ];
  for (const [what, change, difference] of changes) {
    test(`staged files that differ from the bag in place (${what}): 409 naming the bag; nothing changes, staging keeps them`, async () => {
      await stage('csv');
      await publish();
      const outputs = path.join(stagingDir(), 'data', 'outputs');
      await cp(path.join(bagDir(), 'data'), path.join(stagingDir(), 'data'), { recursive: true });
      await change(outputs);
      const before = await treeState(mount);
      await assert.rejects(publish(), (e: unknown) => {
        assert.ok(e instanceof AppError);
        assert.equal(e.code, 'ALREADY_PUBLISHED');
        assert.equal(e.status, 409);
        assert.match(e.detail, /^production\/Pr004\/20250205_010101 already holds the published bag of project 'Pr004' \(start time 20250205_010101\), and published data is never replaced: the staged files differ from it \(/);
        assert.match(e.detail, difference);
        assert.match(e.detail, /Nothing was changed; staging keeps them\./);
        return true;
      });
      assert.deepEqual(await treeState(mount), before, 'the bag and staging are exactly as they were');
    });
  }

  test('a mount configured through a symbolic link works (the root is resolved once; links below it are refused)', async () => {
    const { dir, cleanup } = await tempFolder('cr8tor-via-');
    try {
      const via = path.join(dir, 'mount');
      await symlink(mount, via);
      await packageToStaging({ mountRoot: via, ...project, format: 'csv', schemaName: 'public', tables: [tableOf('person', person, [['1', 'Ada']])], settings: { csv: { maxFileBytes: Infinity, gzipLevel: null }, workingDir: work } });
      const { data_published } = await publish({ mountRoot: via });
      assert.deepEqual(data_published.map((f) => f.file_path), ['data/outputs/person.csv']);
      assert.equal((await validateBag(bagDir())).valid, true);
    } finally {
      await cleanup();
    }
  });

  test('a failure after the files moved gives them back to staging and leaves production as it was', async () => {
    await stage('csv');
    const before = await listTree(stagingDir());
    const hashes = await Promise.all(['person.csv', 'visit.csv'].map((f) => sha512Of(path.join(stagingDir(), 'data', 'outputs', f))));
    // An invalid Bagging-Date makes writing bag-info.txt throw, after every file was renamed into the new bag.
    await assert.rejects(publish({ now: new Date(Number.NaN) }), /Publishing to production failed/);
    assert.deepEqual(await listTree(stagingDir()), before);
    assert.deepEqual(await Promise.all(['person.csv', 'visit.csv'].map((f) => sha512Of(path.join(stagingDir(), 'data', 'outputs', f)))), hashes);
    assert.deepEqual(await listTree(path.join(mount, 'production')), ['Pr004/']);
    const { data_published } = await publish();
    assert.equal(data_published.length, 2, 'a retry publishes');
  });

  test('files left in the hidden bag folder of an interrupted publish are taken back and published', async () => {
    await stage('csv');
    const expected = await sha512Of(path.join(stagingDir(), 'data', 'outputs', 'person.csv'));
    const left = path.join(mount, 'production', 'Pr004', '.20250205_010101.partial-0badc0ffee00', 'data', 'outputs');
    await mkdir(left, { recursive: true });
    await rename(path.join(stagingDir(), 'data', 'outputs', 'person.csv'), path.join(left, 'person.csv'));
    const { data_published } = await publish();
    assert.deepEqual(data_published.map((f) => [f.file_path, f.hash_value === expected]), [
      ['data/outputs/person.csv', true],
      ['data/outputs/visit.csv', false],
    ]);
    assert.deepEqual((await listTree(path.join(mount, 'production', 'Pr004'))).filter((p) => p.startsWith('.')), []);
    assert.equal((await validateBag(bagDir())).valid, true);
  });

  test('a symbolic link in staging is refused (409, naming it relative to the mount) and staging is left as it was', async () => {
    await stage('csv');
    const { dir: outside, cleanup } = await tempFolder('cr8tor-outside-');
    try {
      await writeFile(path.join(outside, 'secret.txt'), 'not for publishing');
      await symlink(path.join(outside, 'secret.txt'), path.join(stagingDir(), 'data', 'outputs', 'sneaky.csv'));
      await assert.rejects(publish(), (e: unknown) => {
        assert.ok(e instanceof AppError);
        assert.equal(e.code, 'FILESTORE_PATH_REFUSED');
        assert.equal(e.status, 409);
        assert.match(e.detail, /^staging\/Pr004\/20250205_010101\/data\/outputs\/sneaky\.csv is a symbolic link; the filestore refuses links, and nothing was changed\./);
        assert.ok(e.logDetail?.includes(outside), 'the log learns where it points');
        return true;
      });
      assert.deepEqual(await listTree(path.join(stagingDir(), 'data', 'outputs')), ['person.csv', 'sneaky.csv', 'visit.csv']);
      assert.deepEqual(await listTree(path.join(mount, 'production')), []);
    } finally {
      await cleanup();
    }
  });

  test('staging that cannot be removed after the bag is in place: the publish stands, and its warning names the folder and the system code, never a path on the service', async (t) => {
    if (!(await canMount())) return t.skip('needs mount (a read-only bind mount)');
    await stage('csv');
    // A staging folder on a read-only mount: its files are copied into the bag (across mounts), then cannot be removed.
    bindReadOnly(stagingDir());
    try {
      const result = await publishUnsettled({ forceCopy: true });
      assert.deepEqual(result.data_published.map((f) => f.file_path), ['data/outputs/person.csv', 'data/outputs/visit.csv']);
      assert.deepEqual(result.warnings, [
        'The staging folder staging/Pr004/20250205_010101 could not be removed after publishing (EROFS); a repeat of this publish answers the same bag and removes it.',
      ]);
      assert.equal((await validateBag(bagDir())).valid, true);
    } finally {
      unmount(stagingDir());
    }
  });

  test('a file name BagIt tools cannot list is refused before anything moves', async () => {
    await stage('csv');
    await writeFile(path.join(stagingDir(), 'data', 'outputs', '100%.csv'), 'x\n');
    await assert.rejects(publish(), /BagIt tools cannot list/);
    assert.deepEqual(await listTree(path.join(stagingDir(), 'data', 'outputs')), ['100%.csv', 'person.csv', 'visit.csv']);
  });
});

describe('a publish stopped after its bag went into place, before it answered', () => {
  /** Every file of the bag with its inode and mtime: a bag written again would differ. */
  async function bagIdentity(): Promise<string[]> {
    const out: string[] = [];
    for (const rel of await listTree(bagDir())) {
      if (rel.endsWith('/')) continue;
      const info = await stat(path.join(bagDir(), rel));
      out.push(`${rel} ${info.ino} ${info.mtimeMs} ${info.size}`);
    }
    return out;
  }

  for (const forceCopy of [false, true]) {
    const how = forceCopy ? 'copy (as across volumes)' : 'rename (same volume)';
    test(`${how}: the repeat answers the bag (files, sizes, SHA-512 equal to an independent hash), writes nothing, then clears staging`, async () => {
      await stage('csv', [['1', 'Ada'], ['2', 'Grace'], ['3', 'Edsger']], 20);
      const first = await publishUnsettled({ forceCopy });
      assert.deepEqual(await listTree(path.join(mount, 'staging')), [`${RECEIPTS}/`, `${RECEIPTS}/pr004@20250205_010101`], 'the staging folder went before the answer; the receipt stays until the answer is heard');
      const bag = await bagIdentity();
      const again = await publish({ forceCopy });
      assert.deepEqual(again.data_published, first.data_published, 'the same answer as the stopped publish would have given');
      for (const file of again.data_published) {
        const onDisk = path.join(bagDir(), file.file_path);
        assert.equal(file.hash_value, await sha512Of(onDisk), file.file_path);
        assert.equal(file.total_bytes, (await stat(onDisk)).size, file.file_path);
      }
      assert.match(again.warnings.join('\n'), /stopped before it answered; the bag was checked against its manifests and answered again/);
      assert.deepEqual(await bagIdentity(), bag, 'nothing in the bag was written again');
      assert.equal((await validateBag(bagDir())).valid, true);
      assert.deepEqual(await listTree(path.join(mount, 'staging')), [], 'staging removed');
      assert.deepEqual((await listTree(path.join(mount, 'production', 'Pr004'))).filter((p) => p.startsWith('.')), []);
      // That publish answered: a further repeat is the contract's nothing-to-publish, though the bag is there.
      await assert.rejects(publish(), (e: unknown) => e instanceof AppError && e.code === 'NOTHING_TO_PUBLISH' && e.detail === NOTHING_TO_PUBLISH_MESSAGE);
      assert.deepEqual(await bagIdentity(), bag);
    });
  }

  test('an emptied staging folder without a receipt, beside a bag: the contract message, and staging is cleared', async () => {
    await stage('csv');
    await publish();
    await mkdir(path.join(stagingDir(), 'data', 'outputs'), { recursive: true });
    await assert.rejects(publish(), (e: unknown) => e instanceof AppError && e.detail === NOTHING_TO_PUBLISH_MESSAGE);
    assert.deepEqual(await listTree(path.join(mount, 'staging')), []);
  });

  test('a receipt that matches no bag (written, then stopped before the bag went into place) is dropped and the staged files published', async () => {
    await stage('csv');
    await mkdir(path.dirname(receiptFile()), { recursive: true });
    await writeFile(receiptFile(), `${'0'.repeat(128)}\n`);
    const { data_published } = await publish();
    assert.deepEqual(data_published.map((f) => f.file_path), ['data/outputs/person.csv', 'data/outputs/visit.csv']);
    assert.equal((await validateBag(bagDir())).valid, true);
    assert.deepEqual(await listTree(path.join(mount, 'staging')), []);
  });

  const damages: Array<[string, () => Promise<void>, RegExp]> = [
    ['a changed payload byte', () => appendFile(path.join(bagDir(), 'data', 'outputs', 'person.csv'), 'x'), /data\/outputs\/person\.csv does not match its SHA-512 in manifest-sha512\.txt; Payload-Oxum \d+\.2 does not match the payload/],
    ['a missing payload file', () => unlink(path.join(bagDir(), 'data', 'outputs', 'visit.csv')), /data\/outputs\/visit\.csv is listed in manifest-sha512\.txt but missing/],
    ['an extra payload file', () => writeFile(path.join(bagDir(), 'data', 'outputs', 'extra.csv'), 'x\n'), /data\/outputs\/extra\.csv is in the bag but not in manifest-sha512\.txt/],
    ['a cut-short manifest', () => truncate(path.join(bagDir(), 'manifest-sha512.txt'), 100), /manifest-sha512\.txt is missing or does not match tagmanifest-sha512\.txt/],
  ];
  for (const [what, damage, detail] of damages) {
    test(`a bag no longer complete (${what}): a clear 409 naming what is wrong; nothing changes`, async () => {
      await stage('csv');
      await publishUnsettled();
      await damage();
      const bag = await bagIdentity();
      await assert.rejects(publish(), (e: unknown) => {
        assert.ok(e instanceof AppError);
        assert.equal(e.code, 'NOTHING_TO_PUBLISH');
        assert.equal(e.status, 409);
        assert.match(e.detail, /^Staging holds nothing to publish for project 'Pr004' \(start time 20250205_010101\): its files went into the bag production\/Pr004\/20250205_010101 by a publish that stopped before it answered, and that bag is not complete: /);
        assert.match(e.detail, detail);
        assert.match(e.detail, /Package the project again, then publish\.$/);
        return true;
      });
      assert.deepEqual(await bagIdentity(), bag, 'the bag is left as it is');
      assert.ok(existsSync(receiptFile()), 'the receipt stays: the repeat gives the same answer');
    });
  }
});

describe('bag validator (bagit-python checks)', () => {
  beforeEach(async () => {
    await stage('csv');
    await publish();
    assert.equal((await validateBag(bagDir())).valid, true);
  });

  const rejects = async (pattern: RegExp) => {
    const check = await validateBag(bagDir());
    assert.equal(check.valid, false);
    assert.match(check.problems.join('\n'), pattern);
  };

  test('a changed byte in a payload file', async () => {
    const file = path.join(bagDir(), 'data', 'outputs', 'person.csv');
    const bytes = await readFile(file);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 2) ^ 1, bytes.length - 2);
    await writeFile(file, bytes);
    await rejects(/data\/outputs\/person\.csv sha512 validation failed/);
  });

  test('an extra payload file', async () => {
    await writeFile(path.join(bagDir(), 'data', 'outputs', 'extra.csv'), '');
    await rejects(/Payload-Oxum validation failed/);
  });

  test('a renamed payload file (same bytes and count, so the Oxum holds; completeness catches it both ways)', async () => {
    const dir = path.join(bagDir(), 'data', 'outputs');
    await writeFile(path.join(dir, 'renamed.csv'), await readFile(path.join(dir, 'visit.csv')));
    await rm(path.join(dir, 'visit.csv'));
    await rejects(/Bag is incomplete: data\/outputs\/visit\.csv exists in manifest but was not found on filesystem; data\/outputs\/renamed\.csv exists on filesystem but is not in the manifest/);
  });

  test('a missing payload file', async () => {
    await rm(path.join(bagDir(), 'data', 'outputs', 'visit.csv'));
    await rejects(/Payload-Oxum validation failed/);
  });

  test('a bad Payload-Oxum', async () => {
    const file = path.join(bagDir(), 'bag-info.txt');
    await writeFile(file, (await readFile(file, 'utf8')).replace(/Payload-Oxum: \d+\.(\d+)/, 'Payload-Oxum: 1.$1'));
    await rejects(/Payload-Oxum validation failed/);
    await writeFile(file, (await readFile(file, 'utf8')).replace(/Payload-Oxum: .*/, 'Payload-Oxum: lots'));
    await rejects(/Malformed Payload-Oxum value: lots/);
  });

  test('an edited tag file (the tag manifest catches it)', async () => {
    await appendFile(path.join(bagDir(), 'bag-info.txt'), 'Contact-Name: Mallory\n');
    await rejects(/bag-info\.txt sha512 validation failed/);
  });

  test('a byte-order mark in bagit.txt, a missing bagit.txt, a missing manifest', async () => {
    const bagit = path.join(bagDir(), 'bagit.txt');
    const original = await readFile(bagit);
    await writeFile(bagit, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), original]));
    await rejects(/must not contain a byte-order mark/);
    await rm(bagit);
    await rejects(/Expected bagit.txt does not exist/);
    await writeFile(bagit, original);
    await rm(path.join(bagDir(), 'manifest-sha512.txt'));
    await rejects(/No manifest files found|manifest-sha512\.txt exists in manifest but was not found/);
  });

  test('an unsafe or duplicated manifest entry', async () => {
    const manifest = path.join(bagDir(), 'manifest-sha512.txt');
    const text = await readFile(manifest, 'utf8');
    await writeFile(manifest, `${text}${'0'.repeat(128)}  ../../etc/passwd\n`);
    await rejects(/is unsafe/);
    await writeFile(manifest, text + text.split('\n')[0] + '\n');
    await rejects(/multiple times with the same value/);
  });
});
