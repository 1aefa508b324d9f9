/**
 * Project records in the platform database (PLATFORM_DATABASE_URL): metadata
 * services started as real processes against one store migrate it once even
 * when they start together, answer the same records from either replica, and
 * keep them across a restart; the whole platform's `Project` entity answers
 * reports and validations written before it was restarted. A store that
 * cannot be used stops the service with one line naming the setting, and no
 * password reaches a log.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadMigrations } from '../../lib/store/migrate.js';
import { createPgDatabase, pgSettings, type TestPgDatabase } from '../support/databases.js';
import { keys, postJson, startPlatform } from '../support/platform.js';
import { freePort, runToExit, spawnService, stopService, waitForHealthy, type ServiceProcess } from '../support/processes.js';
import { accessRequest, dataset, sqlSource, transferRequest, writeSourceSecrets } from '../support/requests.js';

const GUARD = { timeout: 180_000 };
/** The platform database user's password, as the secret store holds it (the test server trusts local connections, so any works). */
const STORE_PASSWORD = 'store-pw-5c1f0e9a7d';
const PROJECT = { project_name: 'Durable', project_start_time: '20250301_101010' };
const REPORTS_QUERY = 'query ($n: String!, $t: String!) { project(projectName: $n, projectStartTime: $t) { metadataReports { source metadata { schemaName tableCount tables { name columnCount } } } } }';

let root: string;
let secretsDir: string;
let source: TestPgDatabase;
let store: TestPgDatabase;

before(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cr8tor-durable-'));
  secretsDir = path.join(root, 'secrets');
  await mkdir(secretsDir);
  const writeSecret = (name: string, value: string) => writeFile(path.join(secretsDir, name), value);
  await writeSecret('metadataserviceapikey', keys.metadata);
  await writeSecret('publishserviceapikey', keys.publish);
  await writeSecret('platform-db-password', STORE_PASSWORD);
  await writeSourceSecrets({ writeSecret }, 'postgresql');
  source = await createPgDatabase('durable_src');
  await source.client.query('CREATE TABLE person (id integer, born date); CREATE TABLE visit (id integer, person_id integer, site text)');
  store = await createPgDatabase('durable_store');
});

after(async () => {
  await source?.drop();
  await store?.drop();
  await rm(root, { recursive: true, force: true });
});

const storeEnv = () => ({
  PLATFORM_DATABASE_URL: `postgresql://${pgSettings.user}@${pgSettings.host}:${pgSettings.port}/${store.database}`,
  PLATFORM_DATABASE_PASSWORD_SECRET_NAME: 'platform-db-password',
});

interface Replica {
  process: ServiceProcess;
  base: string;
}

async function startMetadata(): Promise<Replica> {
  const port = await freePort();
  const p = spawnService('metadata', { ...storeEnv(), SECRETS_MNT_PATH: secretsDir, METADATA_CONTAINER_PORT: String(port), LOG_LEVEL: 'debug' });
  return { process: p, base: `http://127.0.0.1:${port}` };
}

const ready = (r: Replica) => waitForHealthy(r.process, `${r.base}/readyz`);

async function reportsOn(r: Replica): Promise<Array<{ source: string; metadata: { schemaName: string; tableCount: number; tables: Array<{ name: string; columnCount: number }> } }>> {
  const res = await postJson(`${r.base}/graphql`, { query: REPORTS_QUERY, variables: { n: PROJECT.project_name, t: PROJECT.project_start_time } }, keys.metadata);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.errors, undefined, res.text);
  return res.body.data.project.metadataReports;
}

describe('metadata replicas on one platform database', () => {
  const logs: string[] = [];
  const stop = async (r: Replica) => {
    assert.equal(await stopService(r.process), 0, r.process.stderr());
    logs.push(r.process.stdout(), r.process.stderr());
  };

  test('two starting together migrate once; a report written through one is read from the other and survives a restart; no password is logged', GUARD, async () => {
    const [a, b] = [await startMetadata(), await startMetadata()];
    await Promise.all([ready(a), ready(b)]);
    const { rows } = await store.client.query('SELECT version FROM cr8tor_platform.schema_migrations ORDER BY version');
    assert.deepEqual(rows.map((r) => r.version), (await loadMigrations()).map((m) => m.version));

    const described = await postJson(`${a.base}/metadata/project`, transferRequest(sqlSource('postgresql', source.database), dataset('public'), PROJECT), keys.metadata);
    assert.equal(described.status, 200, described.text);
    const expected = [{ name: 'person', columnCount: 2 }, { name: 'visit', columnCount: 3 }];
    const fromB = await reportsOn(b);
    assert.equal(fromB.length, 1);
    assert.equal(fromB[0]!.metadata.schemaName, 'public');
    assert.deepEqual(fromB[0]!.metadata.tables, expected);
    assert.deepEqual(await reportsOn(a), fromB);

    await Promise.all([stop(a), stop(b)]);
    const again = await startMetadata();
    await ready(again);
    assert.deepEqual(await reportsOn(again), fromB);
    await stop(again);

    const written = logs.join('\n');
    assert.match(written, /platform database (migrated|up to date)/, 'the services logged their start');
    assert.ok(!written.includes(STORE_PASSWORD), 'the store password is in a log');
  });

  test('a store that cannot be used stops the service with one line naming the setting, without the password', GUARD, async () => {
    const refusals = await Promise.all([
      runToExit('metadata', { SECRETS_MNT_PATH: secretsDir, PLATFORM_DATABASE_URL: 'postgresql://svc:Hunter2-in-url@127.0.0.1:1/platform' }),
      runToExit('metadata', { SECRETS_MNT_PATH: secretsDir, PLATFORM_DATABASE_URL: 'postgres:/svc:Hunter2-in-url@/platform' }),
      runToExit('publish', { SECRETS_MNT_PATH: secretsDir, PLATFORM_DATABASE_URL: 'postgresql://svc:Hunter2-in-url@127.0.0.1:1/platform' }),
    ]);
    for (const { code, stderr } of refusals) {
      assert.notEqual(code, 0);
      const lines = stderr.split('\n').filter((l) => l.trim() !== '');
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0]!, /PLATFORM_DATABASE_URL/);
      assert.ok(!stderr.includes('Hunter2'), stderr);
    }
  });
});

describe('the Project entity over a platform database', () => {
  test('reports and validations written before the platform restarted are answered after it, through the gateway', GUARD, async () => {
    // The in-process platform's secret store is made as it starts: the database's password is not asked for here.
    const env = { PLATFORM_DATABASE_URL: storeEnv().PLATFORM_DATABASE_URL };
    const project = { project_name: 'Durable', project_start_time: '20250302_111111' };
    const query = `{ project(projectName: "${project.project_name}", projectStartTime: "${project.project_start_time}") { metadataReports { metadata { tableCount } } validations { outcome } } }`;
    const first = await startPlatform({ env });
    let before: unknown;
    try {
      await writeSourceSecrets(first, 'postgresql');
      const src = sqlSource('postgresql', source.database);
      assert.equal((await first.post(first.metadata, '/metadata/project', transferRequest(src, dataset('public'), project))).status, 200);
      const validated = await first.post(first.publish, '/data-publish/validate', accessRequest(src, project));
      assert.equal(validated.status, 200, validated.text);
      const res = await first.graphql(first.gateway, query);
      assert.deepEqual(res.body, { data: { project: { metadataReports: [{ metadata: { tableCount: 2 } }], validations: [{ outcome: 'success' }] } } });
      before = res.body;
    } finally {
      await first.close();
    }
    const second = await startPlatform({ env });
    try {
      assert.deepEqual((await second.graphql(second.gateway, query)).body, before);
    } finally {
      await second.close();
    }
  });
});

describe('a platform database lost while the services run', () => {
  test('/readyz says not ready; a call that would write a record fails as an internal error in its envelope, saying nothing of the database', GUARD, async () => {
    const scratch = await createPgDatabase('durable_lost');
    const platform = await startPlatform({ env: { PLATFORM_DATABASE_URL: `postgresql://${pgSettings.user}@${pgSettings.host}:${pgSettings.port}/${scratch.database}` } });
    try {
      await writeSourceSecrets(platform, 'postgresql');
      assert.equal((await fetch(`${platform.metadata}/readyz`)).status, 200);
      await scratch.drop();
      const notReady = await fetch(`${platform.metadata}/readyz`);
      assert.equal(notReady.status, 503, await notReady.text());
      const res = await platform.post(platform.metadata, '/metadata/project', transferRequest(sqlSource('postgresql', source.database), dataset('public'), PROJECT));
      assert.equal(res.status, 500, res.text);
      assert.equal(res.body.status, 'error');
      assert.equal(res.body.payload.detail, 'Internal error; the service log has the details.');
      assert.ok(!res.text.includes(scratch.database), res.text);
    } finally {
      await platform.close();
      await scratch.drop();
    }
  });
});
