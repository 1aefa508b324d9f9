/**
 * The synchronous calls on the PostgreSQL job engine (a platform database
 * configured): REST and GraphQL answer byte for byte what the same calls
 * answer on the in-memory engine, successes and failures alike, and a retry
 * after a dropped connection attaches to the job the first call started.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createPgDatabase, pgSettings, type TestPgDatabase } from '../support/databases.js';
import { keys, startPlatform, type Platform } from '../support/platform.js';
import { dataset, graphqlInput, sqlSource, transferRequest, writeSourceSecrets } from '../support/requests.js';

let source: TestPgDatabase;
let storeDb: TestPgDatabase;
/** Jobs in the platform database. */
let stored: Platform;
/** Jobs in memory. */
let memory: Platform;

before(async () => {
  source = await createPgDatabase('syncstore_src');
  storeDb = await createPgDatabase('syncstore');
  await source.client.query('CREATE TABLE fast AS SELECT g AS id, (DATE \'2025-01-01\' + g) AS day FROM generate_series(1, 10) AS g');
  // Its COPY runs about 4 s before the first row: long enough to drop a call and send it again.
  await source.client.query(`CREATE VIEW slow AS SELECT g AS id FROM pg_sleep(4) AS s, generate_series(1, 100) AS g`);
  stored = await startPlatform({ env: { PLATFORM_DATABASE_URL: `postgresql://${pgSettings.user}@${pgSettings.host}:${pgSettings.port}/${storeDb.database}` } });
  memory = await startPlatform();
  for (const p of [stored, memory]) await writeSourceSecrets(p, 'postgresql');
});

after(async () => {
  await stored?.close();
  await memory?.close();
  await source?.drop();
  await storeDb?.drop();
});

function packageBody(tables: string[], startTime: string) {
  return { ...transferRequest(sqlSource('postgresql', source.database), dataset('public', tables), { project_start_time: startTime }), destination: { name: 'LSC', type: 'filestore', format: 'csv' } };
}

describe('on the PostgreSQL job engine', () => {
  test('REST and GraphQL answer byte for byte as on the in-memory engine: a package, a refusal, a publish', async () => {
    const mutation = 'mutation ($r: ProjectTransferRequest!) { packageProject(request: $r) { dataRetrieved { filePath hashValue totalBytes } } }';
    const calls: Array<[string, (p: Platform) => Promise<{ status: number; text: string }>]> = [
      ['REST package', (p) => p.post(p.publish, '/data-publish/package', packageBody(['fast'], '20250701_000001'))],
      ['gateway package', (p) => p.post(p.gateway, '/project/package', packageBody(['fast'], '20250701_000002'))],
      ['REST package of a missing table', (p) => p.post(p.publish, '/data-publish/package', packageBody(['missing'], '20250701_000003'))],
      ['GraphQL package', (p) => p.graphql(p.gateway, mutation, { r: graphqlInput(packageBody(['fast'], '20250701_000004')) })],
      ['REST publish', (p) => p.post(p.publish, '/data-publish/publish', { project_name: 'Pr004', project_start_time: '20250701_000001', destination: { name: 'LSC', type: 'filestore', format: 'csv' } })],
      ['REST publish of nothing', (p) => p.post(p.publish, '/data-publish/publish', { project_name: 'Pr004', project_start_time: '20250701_000009', destination: { name: 'LSC', type: 'filestore', format: 'csv' } })],
    ];
    for (const [name, call] of calls) {
      const [a, b] = [await call(stored), await call(memory)];
      assert.equal(a.status, b.status, `${name}: ${a.text} / ${b.text}`);
      assert.equal(a.text, b.text, name);
    }
    const jobs = await stored.graphql(stored.gateway, 'query { jobs(projectName: "Pr004", projectStartTime: "20250701_000001") { nodes { kind state } } }');
    assert.deepEqual(jobs.body.data?.jobs?.nodes, [{ kind: 'PUBLISH', state: 'SUCCEEDED' }, { kind: 'PACKAGE', state: 'SUCCEEDED' }], jobs.text);
  });

  test('a job whose result was recorded before results carried their warnings answers none in GraphQL', async () => {
    const answer = await stored.post(stored.gateway, '/project/package', packageBody(['fast'], '20250701_000010'));
    assert.equal(answer.status, 200, answer.text);
    const { rowCount } = await storeDb.client.query(
      `UPDATE cr8tor_platform.jobs SET result = (result::jsonb - 'warnings')::json WHERE project_start_time = '20250701_000010' AND result::jsonb ? 'warnings'`,
    );
    assert.equal(rowCount, 1, 'the recorded result carried its warnings');
    const jobs = await stored.graphql(stored.gateway, 'query { jobs(projectName: "Pr004", projectStartTime: "20250701_000010") { nodes { packageResult { destinationType warnings } } } }');
    assert.deepEqual(jobs.body.data?.jobs?.nodes, [{ packageResult: { destinationType: 'filestore', warnings: [] } }], jobs.text);
  });

  test('a retry after a dropped connection attaches to the running job: one package runs', async () => {
    const startTime = '20250701_000005';
    const body = JSON.stringify(packageBody(['slow'], startTime));
    const socket = net.connect(Number(new URL(stored.publish).port), '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(`POST /data-publish/package HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nx-api-key: ${keys.publish}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    for (let i = 0; ; i++) {
      const { rows } = await source.client.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND query ILIKE 'COPY%'`, [source.database]);
      if (rows.length > 0) break;
      assert.ok(i < 1000, 'the extraction started');
      await new Promise((r) => setTimeout(r, 10));
    }
    socket.destroy();
    const retry = await stored.post(stored.publish, '/data-publish/package', packageBody(['slow'], startTime));
    assert.equal(retry.status, 200, retry.text);
    const runs = (await stored.auditEvents()).filter((e) => e.action === 'package' && e.project?.start_time === startTime);
    assert.equal(runs.length, 1, 'one package ran for both calls');
  });
});
