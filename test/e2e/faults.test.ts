/**
 * Faults, each through the gateway as the CLI meets them: a source connection
 * dropped mid-extract (MariaDB KILL; PostgreSQL into the PostgreSQL
 * destination), the destination database's loader killed mid-COPY, OPAL
 * failing or dropping the connection mid-provisioning, the publish subgraph
 * killed while the gateway waits, a filestore that is read-only, missing or a
 * file, and a full disk. Each must answer an error envelope naming the part
 * that failed, leave nothing half-written, and succeed when repeated once the
 * fault has cleared.
 *
 * The publish service is a real process (test/support/fault-platform.ts);
 * storage faults are real mounts (a 2 MiB tmpfs, a read-only bind mount),
 * which need root with CAP_SYS_ADMIN: without it those tests are skipped.
 * (chmod 0555 cannot simulate a read-only filestore here: the tests run as
 * root, whom mode bits do not stop.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import pg from 'pg';
import { validateBag } from '../../scripts/support/bag-validate.js';
import { createMysqlDatabase, createPgDatabase, dropPgRole, mysqlSettings, type TestMysqlDatabase, type TestPgDatabase } from '../support/databases.js';
import { pgDestinationEnv, writePgDestinationSecrets } from '../support/pg-destination.js';
import { bindReadOnly, canMount, digestTree, listTree, mountTmpfs, resizeTmpfs, unmount, unmountQuietly, waitUntil } from '../support/fault-fs.js';
import { startFaultPlatform, type FaultPlatform } from '../support/fault-platform.js';
import { queryRunning } from '../support/fault-process.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { startOpalDouble, type OpalDouble } from '../support/opal-double.js';
import { dataset, publishRequest, sqlSource, transferRequest } from '../support/requests.js';

const NOTHING_TO_PUBLISH = 'No files found in Staging. Nothing to publish to Production.';
const PG_DEST = { name: 'TRE', type: 'postgresql', format: 'sql' };
const csvTo = (name: string) => ({ name, type: 'filestore', format: 'csv' });

let platform: FaultPlatform;
let src: TestPgDatabase;
let my: TestMysqlDatabase;
let dst: TestPgDatabase;
let opal: OpalDouble;
let proxy: FaultProxy;
let mayMount = false;
const role = `cr8tor_faults_ro_${randomBytes(4).toString('hex')}`;
const mounted: string[] = [];

/** The extra filestores: a small tmpfs (TINY), production on its own small tmpfs (SPLIT), one made read-only (ROFS), one that is a file (AFILE). */
const area = (name: string) => path.join(platform.ws.root, name.toLowerCase());

const pgPackage = (startTime: string, tables: string[], destination: object, project = 'Pr004') => ({
  ...transferRequest(sqlSource('postgresql', src.database), dataset('public', tables), { project_name: project, project_start_time: startTime }),
  destination,
});
const publishBody = (startTime: string, destination: object, project = 'Pr004') => ({ ...publishRequest({ project_name: project, project_start_time: startTime }), destination });

/** Asserts an error envelope with `status` whose detail matches every pattern; reports the detail. */
function assertEnvelope(t: TestContext, res: { status: number; body: any }, status: number, ...patterns: RegExp[]): void {
  t.diagnostic(`HTTP ${res.status}: ${JSON.stringify(res.body?.payload?.detail ?? res.body)}`);
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.status, 'error');
  assert.deepEqual(Object.keys(res.body.payload), ['detail']);
  for (const p of patterns) assert.match(res.body.payload.detail, p);
}

/** What a project start time left in a mount's staging and production, hidden entries included. */
async function leftIn(mount: string, startTime: string, project = 'Pr004'): Promise<string[]> {
  const found: string[] = [];
  for (const areaName of ['staging', 'production']) {
    for (const entry of await listTree(path.join(mount, areaName, project))) if (entry.includes(startTime)) found.push(`${areaName}/${project}/${entry}`);
  }
  return found;
}

async function destSchemas(): Promise<string[]> {
  const { rows } = await dst.client.query<{ nspname: string }>(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'cr8tor_loading_%' OR nspname LIKE 'pr%' ORDER BY 1`);
  return rows.map((r) => r.nspname);
}

before(async () => {
  src = await createPgDatabase('faults_src');
  await src.client.query(`CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 8) AS payload FROM generate_series(1, 400000) AS g`);
  await src.client.query(`CREATE TABLE mid AS SELECT g AS id, repeat(md5(g::text), 8) AS payload FROM generate_series(1, 20000) AS g`);
  await src.client.query(`CREATE TABLE person (id bigint PRIMARY KEY, name text NOT NULL); INSERT INTO person VALUES (1, 'Ann'), (2, 'Bob')`);
  await src.client.query(`CREATE TABLE visit (id bigint PRIMARY KEY, person_id bigint NOT NULL); INSERT INTO visit VALUES (10, 1), (11, 2)`);
  my = await createMysqlDatabase('faults_my');
  await my.conn.query(`CREATE TABLE big (id bigint PRIMARY KEY, payload text NOT NULL)`);
  // Large enough that the server is still sending rows when the KILL lands (the client formats more slowly than the server sends).
  await my.conn.query(`INSERT INTO big SELECT seq, REPEAT(MD5(seq), 8) FROM seq_1_to_1200000`);
  dst = await createPgDatabase('faults_dst');
  await dst.client.query(`CREATE ROLE ${pg.escapeIdentifier(role)} LOGIN`);
  opal = await startOpalDouble();
  proxy = await startFaultProxy(opal.url);
  mayMount = await canMount();

  platform = await startFaultPlatform('faults', (ws) => ({
    TARGET_STORAGE_ACCOUNT_TINY_SDE_MNT_PATH: path.join(ws.root, 'tiny'),
    TARGET_STORAGE_ACCOUNT_SPLIT_SDE_MNT_PATH: path.join(ws.root, 'split'),
    TARGET_STORAGE_ACCOUNT_ROFS_SDE_MNT_PATH: path.join(ws.root, 'rofs'),
    TARGET_STORAGE_ACCOUNT_AFILE_SDE_MNT_PATH: path.join(ws.root, 'afile'),
    ...pgDestinationEnv(dst.database, role, { url: proxy.url, username: opal.username }),
  }));
  await platform.writeSecret('mysql-user', mysqlSettings.user);
  await platform.writeSecret('mysql-password', mysqlSettings.password);
  await writePgDestinationSecrets(platform, 'Ro-faults-password#5', opal.password);
  for (const name of ['tiny', 'split', 'rofs']) {
    await mkdir(path.join(platform.ws.root, name, 'staging'), { recursive: true });
    await mkdir(path.join(platform.ws.root, name, 'production'), { recursive: true });
  }
  await writeFile(path.join(platform.ws.root, 'afile'), 'not a folder\n');
});

after(async () => {
  for (const dir of mounted.reverse()) unmountQuietly(dir);
  await platform?.close();
  await proxy?.stop();
  await opal?.stop();
  await src?.drop();
  await my?.drop();
  await dst?.drop();
  await dropPgRole(role);
});

describe('a source connection dropped mid-extract', () => {
  test('MariaDB, the extraction connection KILLed: a 502 naming the source, nothing staged; the repeat succeeds', async (t) => {
    const start = '20250701_000001';
    const body = { ...transferRequest(sqlSource('mysql', my.database), dataset(null, ['big']), { project_start_time: start }), destination: csvTo('LSC') };
    const pending = platform.post('/project/package', body);
    const ids = await waitUntil('the extraction SELECT on MariaDB', async () => {
      const [rows] = (await my.conn.query(
        // Only the extraction itself: the catalog queries name the table too, and killing one of those would leave the extraction running.
        `SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND COMMAND = 'Query' AND INFO LIKE ? AND ID <> CONNECTION_ID()`,
        [my.database, `SELECT % FROM \`${my.database}\`.\`big\``],
      )) as unknown as [Array<{ id: number }>];
      return rows.length > 0 ? rows.map((r) => r.id) : undefined;
    });
    for (const id of ids) await my.conn.query(`KILL ${Number(id)}`);
    const res = await pending;
    assertEnvelope(t, res, 502, /mysql source/i, new RegExp(my.database));
    assert.deepEqual(await leftIn(platform.ws.mount, start), [], 'nothing staged, no hidden folder');
    assert.equal(existsSync(path.join(platform.ws.staging, '.locks', `Pr004@${start}.lock`)), false, 'the lock is released');

    const again = await platform.post('/project/package', body);
    assert.equal(again.status, 200, JSON.stringify(again.body));
    const files = again.body.payload.data_retrieved.map((f: { file_path: string }) => f.file_path);
    assert.ok(files.length > 0 && files.every((f: string) => /^data\/outputs\/big(\.part\d+)?\.csv$/.test(f)), files.join(', '));
  });

  test('PostgreSQL into the PostgreSQL destination, the source COPY terminated: a 502 naming the source, no schema loaded; the repeat succeeds', async (t) => {
    const start = '20250701_000002';
    const schema = `pr004_${start}_public`;
    const pending = platform.post('/project/package', pgPackage(start, ['big'], PG_DEST));
    const pids = await queryRunning(src.client, src.database, 'COPY%TO STDOUT%');
    for (const pid of pids) await src.client.query('SELECT pg_terminate_backend($1)', [pid]);
    const res = await pending;
    assertEnvelope(t, res, 502, /postgresql source/i);
    assert.deepEqual((await destSchemas()).filter((s) => s.startsWith('cr8tor_loading_') || s === schema), [], 'no schema, no temporary schema');

    const again = await platform.post('/project/package', pgPackage(start, ['big'], PG_DEST));
    assert.equal(again.status, 200, JSON.stringify(again.body));
    const { rows } = await dst.client.query(`SELECT count(*)::int AS n FROM ${schema}.big`);
    assert.equal(rows[0].n, 400000);
  });
});

describe('the destination database restarting mid-load', () => {
  test('its loader terminated during COPY FROM: a 502 naming the destination database; the previous tables stand; the repeat succeeds', async (t) => {
    const start = '20250701_000003';
    const schema = `pr004_${start}_public`;
    const first = await platform.post('/project/package', pgPackage(start, ['big'], PG_DEST));
    assert.equal(first.status, 200, JSON.stringify(first.body));
    await src.client.query(`INSERT INTO big VALUES (400001, 'one more')`);
    try {
      const pending = platform.post('/project/package', pgPackage(start, ['big'], PG_DEST));
      const pids = await queryRunning(dst.client, dst.database, 'COPY%FROM STDIN%');
      for (const pid of pids) await dst.client.query('SELECT pg_terminate_backend($1)', [pid]);
      const res = await pending;
      assertEnvelope(t, res, 502, /the PostgreSQL destination database\b/, new RegExp(`^Loading schema '${schema}'`));
      assert.ok(!res.body.payload.detail.includes(dst.database), 'where the database is goes to the log only');
      assert.deepEqual((await destSchemas()).filter((s) => s.startsWith('cr8tor_loading_')), [], 'no temporary schema is left');
      const before = await dst.client.query(`SELECT count(*)::int AS n FROM ${schema}.big`);
      assert.equal(before.rows[0].n, 400000, 'the previous load is untouched');

      const again = await platform.post('/project/package', pgPackage(start, ['big'], PG_DEST));
      assert.equal(again.status, 200, JSON.stringify(again.body));
      const now = await dst.client.query(`SELECT count(*)::int AS n FROM ${schema}.big`);
      assert.equal(now.rows[0].n, 400001);
    } finally {
      await src.client.query(`DELETE FROM big WHERE id = 400001`);
    }
  });
});

describe('OPAL failing mid-provisioning, through the gateway', () => {
  const tables = ['person', 'visit'];

  test('a 500 on the second resource: a 502 naming OPAL and the step; the repeat creates only what is missing', async (t) => {
    const start = '20250701_000004';
    const project = 'PrOpal1';
    const schema = `propal1_${start}_public`;
    assert.equal((await platform.post('/project/package', pgPackage(start, tables, PG_DEST, project))).status, 200);
    proxy.inject({ method: 'POST', path: new RegExp(`^/ws/project/${project}/resources$`), nth: 2, fault: 500 });
    const res = await platform.post('/project/publish', publishBody(start, PG_DEST, project));
    proxy.clear();
    assertEnvelope(t, res, 502, /^OPAL failed at step 'create resource /, new RegExp(`tre_postgresql_${schema}_visit': HTTP 500`));
    assert.deepEqual(opal.state().resources.filter((r) => r.project === project).map((r) => r.name), [`tre_postgresql_${schema}_person`]);

    opal.clearLog();
    const again = await platform.post('/project/publish', publishBody(start, PG_DEST, project));
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.deepEqual(opal.state().resources.filter((r) => r.project === project).map((r) => r.name), tables.map((t) => `tre_postgresql_${schema}_${t}`));
    assert.deepEqual(opal.writes().map((w) => `${w.method} ${w.path}`), [`POST /project/${project}/resources`, `POST /project/${project}/permissions/resources`], 'only the missing resource and the view permission are created');
    assert.deepEqual(opal.unexpected, []);
  });

  test('OPAL dropping the connection mid-provisioning (a restart): a 502 naming OPAL; the repeat completes', async (t) => {
    const start = '20250701_000005';
    const project = 'PrOpal2';
    assert.equal((await platform.post('/project/package', pgPackage(start, tables, PG_DEST, project))).status, 200);
    proxy.inject({ method: 'GET', path: new RegExp(`^/ws/project/${project}/resources`), nth: 1, fault: 'reset' });
    const res = await platform.post('/project/publish', publishBody(start, PG_DEST, project));
    proxy.clear();
    assertEnvelope(t, res, 502, /OPAL/, /list project resources/);
    const again = await platform.post('/project/publish', publishBody(start, PG_DEST, project));
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.payload.data_published.length, 2);
  });
});

describe('the publish subgraph dying mid-call', () => {
  test('SIGKILLed while the gateway waits on a package: a prompt 502 naming the publish service; after a restart the repeat succeeds', async (t) => {
    const start = '20250701_000006';
    const pending = platform.post('/project/package', pgPackage(start, ['big'], csvTo('LSC')));
    await queryRunning(src.client, src.database, 'COPY%TO STDOUT%');
    const killedAt = Date.now();
    await platform.publish().kill();
    const res = await pending;
    const waited = Date.now() - killedAt;
    assertEnvelope(t, res, 502, /publish service/);
    assert.ok(waited < 5000, `the gateway answered ${waited} ms after the kill`);
    assert.equal(existsSync(path.join(platform.ws.staging, 'Pr004', start)), false, 'nothing finished-looking in staging');

    await platform.restartPublish();
    const again = await platform.post('/project/package', pgPackage(start, ['big'], csvTo('LSC')));
    assert.equal(again.status, 200, JSON.stringify(again.body));
    const published = await platform.post('/project/publish', publishBody(start, csvTo('LSC')));
    assert.equal(published.status, 200, JSON.stringify(published.body));
    assert.equal((await validateBag(path.join(platform.ws.production, 'Pr004', start))).valid, true);
  });
});

describe('a filestore that is read-only, missing or not a folder', () => {
  const skipUnlessMount = (t: TestContext) => {
    if (!mayMount) t.skip('this process may not mount (needs root with CAP_SYS_ADMIN)');
    return !mayMount;
  };

  test('the whole mount read-only (a read-only bind mount): a 503 naming the destination; nothing written; the repeat succeeds once writable', async (t) => {
    if (skipUnlessMount(t)) return;
    const start = '20250701_000007';
    const root = area('ROFS');
    const beforeTree = await listTree(root);
    bindReadOnly(root);
    mounted.push(root);
    let res;
    try {
      res = await platform.post('/project/package', pgPackage(start, ['mid'], csvTo('ROFS')));
    } finally {
      unmount(root);
      mounted.pop();
    }
    assertEnvelope(t, res, 503, /^Destination 'ROFS': The staging\/ folder is not writable by this service\.$/);
    assert.deepEqual(await listTree(root), beforeTree, 'nothing was written');
    const again = await platform.post('/project/package', pgPackage(start, ['mid'], csvTo('ROFS')));
    assert.equal(again.status, 200, JSON.stringify(again.body));
  });

  test('production read-only at publish: a 503 naming it; every staged file stays; the repeat publishes once writable', async (t) => {
    if (skipUnlessMount(t)) return;
    const start = '20250701_000007';
    const root = area('ROFS');
    const staged = await digestTree(path.join(root, 'staging', 'Pr004', start));
    assert.ok(staged.length > 0, 'the previous test staged the package');
    const production = path.join(root, 'production');
    bindReadOnly(production);
    mounted.push(production);
    let res;
    try {
      res = await platform.post('/project/publish', publishBody(start, csvTo('ROFS')));
    } finally {
      unmount(production);
      mounted.pop();
    }
    assertEnvelope(t, res, 503, /^Destination 'ROFS': The production\/ folder is not writable by this service\.$/);
    assert.deepEqual(await digestTree(path.join(root, 'staging', 'Pr004', start)), staged, 'staging is untouched');
    assert.deepEqual(await listTree(production), []);
    const again = await platform.post('/project/publish', publishBody(start, csvTo('ROFS')));
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal((await validateBag(path.join(production, 'Pr004', start))).valid, true);
  });

  test('the staging folder missing (the volume not mounted): a 503 naming the destination and the folder; the repeat succeeds once it is back', async (t) => {
    const start = '20250701_000008';
    const staging = path.join(area('ROFS'), 'staging');
    await rename(staging, `${staging}.away`);
    let res;
    try {
      res = await platform.post('/project/package', pgPackage(start, ['person'], csvTo('ROFS')));
    } finally {
      await rename(`${staging}.away`, staging);
    }
    assertEnvelope(t, res, 503, /^Destination 'ROFS': The staging\/ folder does not exist\.$/);
    assert.deepEqual(await leftIn(area('ROFS'), start), []);
    const again = await platform.post('/project/package', pgPackage(start, ['person'], csvTo('ROFS')));
    assert.equal(again.status, 200, JSON.stringify(again.body));
  });

  test('the mount path is a file: a 503 naming the destination, not its path', async (t) => {
    const res = await platform.post('/project/package', pgPackage('20250701_000009', ['person'], csvTo('AFILE')));
    // The caller learns what is wrong, never where the mount is (issue #11 item 8).
    assertEnvelope(t, res, 503, /^Destination 'AFILE': The filestore mount is not a folder\.$/);
  });
});

describe('a full disk', () => {
  let tiny: string;
  let splitProduction: string;

  before(() => {
    if (!mayMount) return;
    tiny = area('TINY');
    mountTmpfs(tiny, 2 * 2 ** 20);
    mounted.push(tiny);
    splitProduction = path.join(area('SPLIT'), 'production');
    mountTmpfs(splitProduction, 2 * 2 ** 20);
    mounted.push(splitProduction);
  });

  test('staging fills up mid-package (CSV, a 2 MiB volume): a 503 naming the destination and "no space", nothing half-written; the repeat succeeds after freeing space', async (t) => {
    if (!mayMount) return t.skip('this process may not mount a tmpfs');
    const start = '20250701_000010';
    await mkdir(path.join(tiny, 'staging'), { recursive: true });
    await mkdir(path.join(tiny, 'production'), { recursive: true });
    const res = await platform.post('/project/package', pgPackage(start, ['mid'], csvTo('TINY')));
    assertEnvelope(t, res, 503, /no space/i, /destination 'TINY'/i);
    assert.deepEqual(await leftIn(tiny, start), [], 'no staged or hidden folder remains');
    assert.deepEqual(await digestTree(tiny), [], 'no file remains on the volume');
    resizeTmpfs(tiny, 64 * 2 ** 20);
    try {
      const again = await platform.post('/project/package', pgPackage(start, ['mid'], csvTo('TINY')));
      assert.equal(again.status, 200, JSON.stringify(again.body));
    } finally {
      // Back to a full 2 MiB volume for the next tests: drop what this test wrote, then shrink.
      await rm(path.join(tiny, 'staging', 'Pr004'), { recursive: true, force: true });
      resizeTmpfs(tiny, 2 * 2 ** 20);
    }
  });

  test('staging fills up mid-package (DuckDB): an error naming "no space", nothing half-written', async (t) => {
    if (!mayMount) return t.skip('this process may not mount a tmpfs');
    const start = '20250701_000012';
    const res = await platform.post('/project/package', pgPackage(start, ['mid'], { name: 'TINY', type: 'filestore', format: 'duckdb' }));
    t.diagnostic(`HTTP ${res.status}: ${JSON.stringify(res.body.payload)}`);
    assert.equal(res.body.status, 'error', 'the package fails');
    assert.match(res.body.payload.detail, /no space/i);
    assert.deepEqual(await leftIn(tiny, start), [], 'no staged or hidden folder remains');
    assert.deepEqual(await digestTree(tiny), [], 'no file remains on the volume');
  });

  test('DuckDB out of space answers as CSV does (503 naming the destination)', async (t) => {
    if (!mayMount) return;
    const res = await platform.post('/project/package', pgPackage('20250701_000014', ['mid'], { name: 'TINY', type: 'filestore', format: 'duckdb' }));
    assertEnvelope(t, res, 503, /no space/i, /destination 'TINY'/i);
  });

  test('production on its own volume fills up mid-publish (copy): a 503 naming the destination and "no space"; staging keeps every file; the repeat publishes after freeing space', async (t) => {
    if (!mayMount) return t.skip('this process may not mount a tmpfs');
    const start = '20250701_000013';
    const split = area('SPLIT');
    assert.equal((await platform.post('/project/package', pgPackage(start, ['mid', 'person'], csvTo('SPLIT')))).status, 200);
    const staged = await digestTree(path.join(split, 'staging', 'Pr004', start));
    const res = await platform.post('/project/publish', publishBody(start, csvTo('SPLIT')));
    assertEnvelope(t, res, 503, /no space/i, /destination 'SPLIT'/i, /Publishing to production/);
    assert.deepEqual(await digestTree(path.join(split, 'staging', 'Pr004', start)), staged, 'every staged file is still there, unchanged');
    assert.deepEqual(await digestTree(splitProduction), [], 'nothing half-written in production');
    resizeTmpfs(splitProduction, 64 * 2 ** 20);
    const again = await platform.post('/project/publish', publishBody(start, csvTo('SPLIT')));
    assert.equal(again.status, 200, JSON.stringify(again.body));
    const bag = path.join(splitProduction, 'Pr004', start);
    assert.equal((await validateBag(bag)).valid, true);
    assert.deepEqual((await digestTree(path.join(bag, 'data', 'outputs'))).map((f) => f.sha512), staged.map((f) => f.sha512));
    assert.equal(existsSync(path.join(split, 'staging', 'Pr004', start)), false);
    const nothing = await platform.post('/project/publish', publishBody(start, csvTo('SPLIT')));
    assert.equal(nothing.body.payload.detail, NOTHING_TO_PUBLISH);
  });
});
