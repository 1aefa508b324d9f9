/**
 * Published data is immutable, through the real services (gateway → publish
 * service → mount, a real PostgreSQL source): once production holds a
 * project's bag for a start time, no package or publish replaces or deletes
 * it. A package for that start time is refused (409 naming the bag); a publish
 * of staged files equal to the bag answers the bag's hashes and clears staging;
 * one of files that differ is refused (409 naming the bag) and changes nothing.
 * Project folders differing only in case are one project (Azure Files is
 * case-insensitive): the lock is shared and another spelling is refused.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, cp, mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createPgDatabase, type TestPgDatabase } from '../../../support/databases.js';
import { publishSettled, treeState } from '../../../support/filestore-fs.js';
import { startPlatform, type Platform } from '../../../support/platform.js';
import { dataset, sqlSource, transferRequest, writeSourceSecrets } from '../../../support/requests.js';

const DEST = { name: 'LSC', type: 'filestore', format: 'csv' };

let platform: Platform;
let db: TestPgDatabase;

const packageCall = (project: string, start: string, table = 'person') =>
  platform.post(platform.gateway, '/project/package', {
    ...transferRequest(sqlSource('postgresql', db.database), dataset('public', [table]), { project_name: project, project_start_time: start }),
    destination: DEST,
  });
const publishCall = (project: string, start: string) =>
  platform.post(platform.gateway, '/project/publish', { project_name: project, project_start_time: start, destination: DEST });
const at = (...parts: string[]) => path.join(platform.mountDir, ...parts);

before(async () => {
  db = await createPgDatabase('immut');
  await db.client.query(`CREATE TABLE person AS SELECT g AS id, 'person ' || g AS name FROM generate_series(1, 3) AS g`);
  await db.client.query(`CREATE TABLE visit AS SELECT g AS id FROM generate_series(1, 2) AS g`);
  platform = await startPlatform();
  await writeSourceSecrets(platform, 'postgresql');
});

after(async () => {
  await platform?.close();
  await db?.drop();
});

/**
 * Packages and publishes a project, answering the published files once the
 * publish has settled: its receipt (staging/.published/…) is removed just
 * after the answer was delivered, so the mount is steady only then.
 */
async function published(project: string, start: string): Promise<any[]> {
  assert.equal((await packageCall(project, start)).status, 200);
  const answer = await publishCall(project, start);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  await publishSettled(platform.mountDir);
  return answer.body.payload.data_published;
}

/** The audit events of data operations (each package or publish also has its job's events around it). */
const dataEvents = async () => (await platform.auditEvents()).filter((e) => !String(e.action).startsWith('job_'));

/** Asserts a 409 whose detail matches `detail`, the mount exactly as before, and an audit event with `code`. */
async function assertRefused(call: () => Promise<{ status: number; body: any }>, code: string, detail: RegExp): Promise<void> {
  const before = await treeState(platform.mountDir);
  const audited = (await dataEvents()).length;
  const answer = await call();
  assert.equal(answer.status, 409, JSON.stringify(answer.body));
  assert.match(answer.body.payload.detail, detail);
  assert.ok(!answer.body.payload.detail.includes(platform.mountDir), 'no file-system path');
  assert.deepEqual(await treeState(platform.mountDir), before, 'nothing on the mount changed');
  const events = (await dataEvents()).slice(audited);
  assert.deepEqual(events.map((e) => [e.outcome, e.code]), [['error', code]]);
}

describe('a published bag is never replaced', () => {
  test('a package for a start time already published: 409 naming the bag, before any extraction', async () => {
    const start = '20250501_000001';
    await published('Pr010', start);
    await assertRefused(
      () => packageCall('Pr010', start, 'visit'),
      'ALREADY_PUBLISHED',
      /^Destination 'LSC': production\/Pr010\/20250501_000001 already holds the published bag of project 'Pr010' \(start time 20250501_000001\), and published data is never replaced: nothing was changed\. Package the project under a new start time to publish different data\.$/,
    );
  });

  test('staged files equal to the bag (an idempotent retry): 200 with the bag’s hashes, staging cleared, the bag untouched', async () => {
    const start = '20250501_000002';
    const first = await published('Pr010', start);
    const bag = await treeState(at('production', 'Pr010', start));
    await cp(at('production', 'Pr010', start, 'data'), at('staging', 'Pr010', start, 'data'), { recursive: true });
    const again = await publishCall('Pr010', start);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.deepEqual(again.body.payload.data_published, first);
    assert.deepEqual(await treeState(at('production', 'Pr010', start)), bag, 'the bag is byte-identical');
    assert.equal(existsSync(at('staging', 'Pr010', start)), false, 'staging cleared');
  });

  test('staged files that differ from the bag: 409 naming the bag; staging keeps them, the bag untouched', async () => {
    const start = '20250501_000003';
    await published('Pr010', start);
    await cp(at('production', 'Pr010', start, 'data'), at('staging', 'Pr010', start, 'data'), { recursive: true });
    await appendFile(at('staging', 'Pr010', start, 'data', 'outputs', 'person.csv'), '4,person 4\n');
    await assertRefused(
      () => publishCall('Pr010', start),
      'ALREADY_PUBLISHED',
      /^Destination 'LSC': production\/Pr010\/20250501_000003 already holds the published bag .*: the staged files differ from it \(data\/outputs\/person\.csv differs\)\. Nothing was changed; staging keeps them\./,
    );
  });
});

describe('project folders differing only in case are one project', () => {
  test('production/Pr020 exists: a package or publish of pr020 or PR020 is refused naming it', async () => {
    const start = '20250501_000004';
    await published('Pr020', start);
    for (const spelling of ['pr020', 'PR020']) {
      await assertRefused(() => packageCall(spelling, '20250501_000005'), 'PROJECT_SPELLING_CLASH', new RegExp(`^Destination 'LSC': production/Pr020 exists, a spelling of project '${spelling}' that differs only in case; .*this package was refused and nothing was changed\\.$`));
      await assertRefused(() => publishCall(spelling, start), 'PROJECT_SPELLING_CLASH', /^Destination 'LSC': production\/Pr020 exists, .*this publish was refused/);
    }
  });

  test('staging/Pr021 exists (packaged, not published): a package of pr021 is refused naming it', async () => {
    const start = '20250501_000006';
    assert.equal((await packageCall('Pr021', start)).status, 200);
    await assertRefused(() => packageCall('pr021', start), 'PROJECT_SPELLING_CLASH', /^Destination 'LSC': staging\/Pr021 exists, a spelling of project 'pr021'/);
    assert.equal((await publishCall('Pr021', start)).status, 200, 'the project itself still publishes');
  });

  test('the lock is taken by the lower-cased name: a holder of pr022 makes Pr022 busy, told since when and which request, not where', async () => {
    const start = '20250501_000007';
    const lock = at('staging', '.locks', `pr022@${start}.lock`);
    await mkdir(path.dirname(lock), { recursive: true });
    const since = new Date().toISOString();
    await writeFile(lock, JSON.stringify({ token: 't', action: 'publish', request_id: 'req-held-1', host: 'replica-7.internal', pid: 4242, instance: 'x', since }));
    const now = new Date();
    await utimes(lock, now, now);
    try {
      const answer = await packageCall('Pr022', start);
      assert.equal(answer.status, 409, JSON.stringify(answer.body));
      assert.equal(
        answer.body.payload.detail,
        `A publish of project 'Pr022' (start time ${start}) has been running since ${since} (request req-held-1) on this destination; this package was not started. Try again once it has finished.`,
      );
    } finally {
      await rm(path.dirname(lock), { recursive: true, force: true });
    }
  });
});
