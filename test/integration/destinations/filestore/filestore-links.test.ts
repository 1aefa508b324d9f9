/**
 * Symbolic links planted under a filestore mount, attacked through the real
 * services (gateway → publish service → mount, a real PostgreSQL source): a
 * package or publish never follows one. Each attack is refused with 409
 * FILESTORE_PATH_REFUSED naming the path relative to the mount, changes nothing
 * on the mount (every entry, inode and byte as before the call), leaves another
 * project's published bag byte-identical and writes nothing outside the mount.
 * The refusal is audited with its code and logged as a warning with the full path.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { createPgDatabase, type TestPgDatabase } from '../../../support/databases.js';
import { publishSettled, treeState } from '../../../support/filestore-fs.js';
import { startPlatform, type Platform } from '../../../support/platform.js';
import { dataset, sqlSource, transferRequest, writeSourceSecrets } from '../../../support/requests.js';

const START = '20250401_000000';
const DEST = { name: 'LSC', type: 'filestore', format: 'csv' };

let platform: Platform;
let db: TestPgDatabase;
let outside: string;
let m: string;
/** The victim: project ProjB's published bag, as it was before any attack. */
let victimBag: string[];
const logLines: string[] = [];

const packageBody = (project: string, table = 'person') => ({
  ...transferRequest(sqlSource('postgresql', db.database), dataset('public', [table]), { project_name: project, project_start_time: START }),
  destination: DEST,
});
const publishBody = (project: string) => ({ project_name: project, project_start_time: START, destination: DEST });
const packageCall = (project: string, table?: string) => platform.post(platform.gateway, '/project/package', packageBody(project, table));
const publishCall = (project: string) => platform.post(platform.gateway, '/project/publish', publishBody(project));
const at = (rel: string) => path.join(m, ...rel.split('/'));

before(async () => {
  db = await createPgDatabase('links');
  await db.client.query(`CREATE TABLE person AS SELECT g AS id, 'person ' || g AS name FROM generate_series(1, 3) AS g`);
  await db.client.query(`CREATE TABLE visit AS SELECT g AS id FROM generate_series(1, 2) AS g`);
  platform = await startPlatform({ logLevel: 'info', logStream: { write: (line) => void logLines.push(line) } });
  await writeSourceSecrets(platform, 'postgresql');
  m = platform.mountDir;
  outside = await mkdtemp(path.join(os.tmpdir(), 'cr8tor-outside-'));
  assert.equal((await packageCall('ProjB')).status, 200);
  assert.equal((await publishCall('ProjB')).status, 200);
  await publishSettled(m);
  victimBag = await treeState(at(`production/ProjB/${START}`));
  assert.ok(victimBag.some((e) => e.startsWith('data/outputs/person.csv file')), victimBag.join('\n'));
});

after(async () => {
  await platform?.close();
  await db?.drop();
  if (outside) await rm(outside, { recursive: true, force: true });
});

afterEach(async () => {
  // rm never follows a link: it removes the planted link itself.
  for (const rel of ['staging/ProjA', 'production/ProjA', 'staging/.locks']) await rm(at(rel), { recursive: true, force: true });
  assert.deepEqual(await treeState(at(`production/ProjB/${START}`)), victimBag, "ProjB's bag is byte-identical");
  await rm(outside, { recursive: true, force: true });
  await mkdir(outside);
});

/** Stages a real package of ProjA (the `visit` table, so its files differ from ProjB's). */
async function stageProjA(): Promise<void> {
  const staged = await packageCall('ProjA', 'visit');
  assert.equal(staged.status, 200, JSON.stringify(staged.body));
}

/** The audit events of data operations (each package or publish also has its job's events around it). */
const dataEvents = async () => (await platform.auditEvents()).filter((e) => !String(e.action).startsWith('job_'));

/**
 * Runs `call` against the planted mount and asserts the refusal: 409, the
 * detail naming `rel` (relative, no absolute path), the mount and the outside
 * folder exactly as before, the audit event and the warning.
 */
async function assertRefused(call: () => Promise<{ status: number; body: any }>, rel: string, what = 'is a symbolic link; the filestore refuses links'): Promise<void> {
  const mountBefore = await treeState(m);
  const outsideBefore = await treeState(outside);
  const auditBefore = (await dataEvents()).length;
  const logsBefore = logLines.length;
  const answer = await call();
  assert.equal(answer.status, 409, JSON.stringify(answer.body));
  assert.equal(answer.body.status, 'error');
  const detail: string = answer.body.payload.detail;
  assert.ok(detail.startsWith(`Destination 'LSC': ${rel} ${what}`), detail);
  assert.ok(!detail.includes(m) && !detail.includes(os.tmpdir()) && !detail.includes('/proc/'), `no file-system path in ${detail}`);
  assert.deepEqual(await treeState(m), mountBefore, 'nothing on the mount changed');
  assert.deepEqual(await treeState(outside), outsideBefore, 'nothing written outside the mount');
  const events = (await dataEvents()).slice(auditBefore);
  assert.equal(events.length, 1);
  assert.equal(events[0].outcome, 'error');
  assert.equal(events[0].code, 'FILESTORE_PATH_REFUSED');
  assert.equal(events[0].detail, detail);
  const warnings = logLines.slice(logsBefore).map((l) => JSON.parse(l)).filter((l) => l.level === 40 && l.code === 'FILESTORE_PATH_REFUSED');
  assert.equal(warnings.length, 1, logLines.slice(logsBefore).join(''));
  assert.ok(String(warnings[0].log_detail).includes(path.join(m, ...rel.replace(/\/$/, '').split('/'))), 'the log names the full path');
}

describe('a link in staging/', () => {
  test('staging/ProjA -> production/ProjB: a package does not delete the bag it points at', async () => {
    await symlink('../production/ProjB', at('staging/ProjA'));
    await assertRefused(() => packageCall('ProjA'), 'staging/ProjA');
  });

  test("staging/ProjA -> production/ProjB: a publish does not move ProjB's payload into a bag of its own", async () => {
    await symlink('../production/ProjB', at('staging/ProjA'));
    await assertRefused(() => publishCall('ProjA'), 'staging/ProjA');
    assert.equal(existsSync(at('production/ProjA')), false);
  });

  test('staging/ProjA/{start_time} -> the bag of ProjB: refused by package and by publish', async () => {
    await mkdir(at('staging/ProjA'));
    await symlink(`../../production/ProjB/${START}`, at(`staging/ProjA/${START}`));
    await assertRefused(() => publishCall('ProjA'), `staging/ProjA/${START}`);
    await assertRefused(() => packageCall('ProjA'), `staging/ProjA/${START}`);
  });

  test("staging/ProjA/{start_time}/data -> ProjB's payload: publish refused", async () => {
    await mkdir(at(`staging/ProjA/${START}`), { recursive: true });
    await symlink(`../../../production/ProjB/${START}/data`, at(`staging/ProjA/${START}/data`));
    await assertRefused(() => publishCall('ProjA'), `staging/ProjA/${START}/data`);
  });

  test("a link inside data/outputs to ProjB's file: publish refused", async () => {
    await stageProjA();
    await symlink(at(`production/ProjB/${START}/data/outputs/person.csv`), at(`staging/ProjA/${START}/data/outputs/person.csv`));
    await assertRefused(() => publishCall('ProjA'), `staging/ProjA/${START}/data/outputs/person.csv`);
  });

  test('a hidden work folder staging/ProjA/.{start_time}.partial-* that is a link: package refused', async () => {
    await mkdir(at('staging/ProjA'));
    await symlink(`../../production/ProjB/${START}`, at(`staging/ProjA/.${START}.partial-0badc0ffee00`));
    await assertRefused(() => packageCall('ProjA'), `staging/ProjA/.${START}.partial-0badc0ffee00`);
  });

  test('a dangling link at the receipt path: publish writes nothing outside the mount', async () => {
    await stageProjA();
    await mkdir(at('staging/.published'));
    await symlink(path.join(outside, 'receipt'), at(`staging/.published/proja@${START}`));
    await assertRefused(() => publishCall('ProjA'), `staging/.published/proja@${START}`);
    assert.equal(existsSync(path.join(outside, 'receipt')), false);
  });

  test('the receipts folder staging/.published is a link: publish writes nothing through it', async () => {
    await stageProjA();
    await rm(at('staging/.published'), { recursive: true, force: true });
    await symlink(outside, at('staging/.published'));
    await assertRefused(() => publishCall('ProjA'), 'staging/.published');
    assert.equal(existsSync(path.join(outside, `proja@${START}`)), false);
    assert.equal(existsSync(at(`production/ProjA/${START}`)), false, 'no bag appeared');
  });

  test('staging/ProjA is a file, not a folder: refused', async () => {
    await writeFile(at('staging/ProjA'), 'not a folder\n');
    await assertRefused(() => packageCall('ProjA'), 'staging/ProjA', 'is not a folder');
  });
});

describe('a link at the lock folder or a lock file', () => {
  test('staging/.locks -> a folder outside the mount: no lock is written there', async () => {
    await symlink(outside, at('staging/.locks'));
    await assertRefused(() => packageCall('ProjA'), 'staging/.locks');
    await assertRefused(() => publishCall('ProjA'), 'staging/.locks');
  });

  test('a dangling link at the lock file: refused, nothing created where it points', async () => {
    await mkdir(at('staging/.locks'));
    await symlink(path.join(outside, 'lock'), at(`staging/.locks/proja@${START}.lock`));
    await assertRefused(() => packageCall('ProjA'), `staging/.locks/proja@${START}.lock`);
    assert.equal(existsSync(path.join(outside, 'lock')), false);
  });
});

describe('a link in production/', () => {
  test('production/ProjA -> a folder outside the mount: publish writes no bag there', async () => {
    await stageProjA();
    await symlink(outside, at('production/ProjA'));
    await assertRefused(() => publishCall('ProjA'), 'production/ProjA');
    await assertRefused(() => packageCall('ProjA'), 'production/ProjA');
  });

  test("production/ProjA/{start_time} -> ProjB's bag: refused by publish and by package", async () => {
    await stageProjA();
    await mkdir(at('production/ProjA'));
    await symlink(`../ProjB/${START}`, at(`production/ProjA/${START}`));
    await assertRefused(() => publishCall('ProjA'), `production/ProjA/${START}`);
    await assertRefused(() => packageCall('ProjA'), `production/ProjA/${START}`);
  });

  test("a hidden bag folder production/ProjA/.{start_time}.partial-* -> ProjB's bag: its files are not taken into ProjA's", async () => {
    await stageProjA();
    await mkdir(at('production/ProjA'));
    await symlink(`../ProjB/${START}`, at(`production/ProjA/.${START}.partial-0badc0ffee00`));
    await assertRefused(() => publishCall('ProjA'), `production/ProjA/.${START}.partial-0badc0ffee00`);
    await assertRefused(() => packageCall('ProjA'), `production/ProjA/.${START}.partial-0badc0ffee00`);
  });
});

describe('the areas themselves', () => {
  for (const area of ['staging', 'production']) {
    test(`${area}/ is a link: refused, naming ${area}/`, async () => {
      await rename(at(area), at(`${area}-real`));
      try {
        await symlink(`${area}-real`, at(area));
        await assertRefused(() => packageCall('ProjA'), `${area}/`);
        await assertRefused(() => publishCall('ProjA'), `${area}/`);
      } finally {
        await rm(at(area));
        await rename(at(`${area}-real`), at(area));
      }
    });
  }
});
