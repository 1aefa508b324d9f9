/**
 * A full flow (validate, package, publish) through the gateway, then what an
 * operator sees of it: one request id in the log lines of every service, no
 * secret value in any log line, answer or audit event, metrics that count the
 * flow, and one audit event per data access with its figures.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiKeyVerifier } from '../../lib/auth/api-key.js';
import { createMysqlDatabase, mysqlSettings, type TestMysqlDatabase } from '../support/databases.js';
import { keys, startPlatform, type Platform } from '../support/platform.js';
import { dataset, sqlSource, transferRequest } from '../support/requests.js';

const DB_PASSWORD = 'Obs-S3cret-pw-7d1f';
const DB_USER = `obs_${process.pid}`;
const REQUEST_ID = 'req-observability-0001';

let platform: Platform;
let db: TestMysqlDatabase;
const lines: string[] = [];
const answers: string[] = [];

async function call(route: string, body: unknown, requestId: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${platform.gateway}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': keys.approval, 'x-request-id': requestId },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  answers.push(text);
  assert.equal(res.headers.get('x-request-id'), requestId);
  return { status: res.status, body: JSON.parse(text) };
}

before(async () => {
  platform = await startPlatform({ logStream: { write: (line: string) => void lines.push(line) } });
  db = await createMysqlDatabase('obs');
  await db.conn.query(`CREATE TABLE person (id int PRIMARY KEY, name varchar(20)); INSERT INTO person VALUES (1, 'Ann'), (2, 'Bob'), (3, NULL)`);
  await db.conn.query(`CREATE USER '${DB_USER}'@'%' IDENTIFIED BY '${DB_PASSWORD}'; GRANT SELECT ON \`${db.database}\`.* TO '${DB_USER}'@'%'`);
  await platform.writeSecret('obs-user', DB_USER);
  await platform.writeSecret('obs-password', DB_PASSWORD);

  const source = sqlSource('mysql', db.database, { usernameKey: 'obs-user', passwordKey: 'obs-password' });
  const body = { ...transferRequest(source, dataset(null, ['person'])), destination: { name: 'LSC', type: 'filestore', format: 'csv' } };
  for (const [route, payload] of [
    ['/project/validate', body],
    ['/project/package', body],
    ['/project/publish', { project_name: body.project_name, project_start_time: body.project_start_time, destination: body.destination }],
  ] as const) {
    const res = await call(route, payload, REQUEST_ID);
    assert.equal(res.status, 200, `${route}: ${JSON.stringify(res.body)}`);
  }
  // A failing call must not leak the password either (the user lacks access to another database;
  // not the `mysql` schema, which is refused before any connection as a system catalog).
  const denied = sqlSource('mysql', `${db.database}_other`, { usernameKey: 'obs-user', passwordKey: 'obs-password' });
  const res = await call('/project/validate', { ...transferRequest(denied, dataset(null, ['person'])), destination: body.destination }, 'req-observability-0002');
  assert.notEqual(res.status, 200);
});

after(async () => {
  await platform?.close();
  const admin = db?.conn;
  await admin?.query(`DROP USER IF EXISTS '${DB_USER}'@'%'`).catch(() => undefined);
  await db?.drop();
});

describe('logs', () => {
  test('every service logs the caller’s request id', () => {
    const parsed = lines.map((l) => JSON.parse(l));
    for (const service of ['approval', 'metadata', 'publish']) {
      assert.ok(
        parsed.some((l) => l.service === service && l.reqId === REQUEST_ID),
        `a ${service} log line carries ${REQUEST_ID}`,
      );
      // One access line per call, when it answers; probes are not logged at info level.
      const access = parsed.filter((l) => l.service === service && l.msg === 'request completed');
      assert.ok(access.some((l) => l.reqId === REQUEST_ID && l.method === 'POST' && typeof l.status === 'number' && typeof l.ms === 'number'), `${service} access line`);
      assert.ok(!access.some((l) => l.path === '/healthz' || l.path === '/readyz'), `${service} probes stay out of the info log`);
    }
    assert.ok(!parsed.some((l) => l.msg === 'incoming request'), 'no second line per call');
  });

  test('no secret value appears in any log line, answer or audit event', async () => {
    const audit = await readFile(platform.auditPath, 'utf8');
    const secrets = [DB_PASSWORD, keys.approval, keys.metadata, keys.publish];
    for (const [where, texts] of [['logs', lines], ['answers', answers], ['audit', [audit]]] as const) {
      for (const text of texts) for (const secret of secrets) assert.ok(!text.includes(secret), `${where} must not contain a secret`);
    }
    assert.ok(lines.length > 10, 'the flow was logged');
  });
});

describe('metrics', () => {
  async function scrape(base: string): Promise<string> {
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    return res.text();
  }

  function value(text: string, name: string, labels: Record<string, string>): number {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
    assert.ok(line, `${name} ${JSON.stringify(labels)} is exported`);
    return Number(line.split(' ').at(-1));
  }

  test('the gateway counts REST calls by route and GraphQL operations by name', async () => {
    const text = await scrape(platform.gateway);
    assert.equal(value(text, 'cr8tor_http_requests_total', { route: '/project/package', method: 'POST', status: '200' }), 1);
    assert.ok(value(text, 'cr8tor_http_request_duration_seconds_count', { route: '/project/publish', status: '200' }) >= 1);
    assert.equal(value(text, 'cr8tor_graphql_operations_total', { operation: 'PackageProject', outcome: 'success' }), 1);
    assert.ok(text.includes('cr8tor_process_resident_memory_bytes'), 'process metrics are exported');
  });

  test('the publish service counts rows, bytes, durations and failures', async () => {
    const text = await scrape(platform.publish);
    assert.equal(value(text, 'cr8tor_rows_extracted_total', { source_type: 'mysql', destination_type: 'filestore' }), 3);
    assert.ok(value(text, 'cr8tor_bytes_extracted_total', { source_type: 'mysql', destination_type: 'filestore' }) > 0);
    assert.equal(value(text, 'cr8tor_operation_duration_seconds_count', { operation: 'package', outcome: 'success' }), 1);
    assert.equal(value(text, 'cr8tor_operation_duration_seconds_count', { operation: 'publish', outcome: 'success' }), 1);
    assert.equal(value(text, 'cr8tor_operation_failures_total', { operation: 'validate', code: 'SOURCE_AUTH_FAILED' }), 1);
  });
});

describe('audit', () => {
  test('one event per data access, with the caller’s key id, never the key', async () => {
    const events = (await platform.auditEvents()).filter((e) => e.request_id === REQUEST_ID);
    assert.deepEqual(events.map((e) => e.action).sort(), ['metadata', 'package', 'publish', 'validate']);
    const keyId = new ApiKeyVerifier(keys.approval).keyId;
    for (const e of events) {
      assert.equal(e.key_id, keyId);
      assert.equal(e.outcome, 'success');
      assert.deepEqual(e.project, { name: 'Pr004', start_time: '20250205_010101' });
      assert.ok(typeof e.duration_ms === 'number' && typeof e.time === 'string');
    }
    const pkg = events.find((e) => e.action === 'package');
    assert.deepEqual(pkg.source, { type: 'mysql', host: mysqlSettings.host, port: mysqlSettings.port, database: db.database });
    assert.deepEqual(pkg.destination, { name: 'LSC', type: 'filestore', format: 'csv' });
    assert.deepEqual(pkg.dataset, { schema: db.database, tables: [{ name: 'person', columns: ['id', 'name'] }] });
    assert.equal(pkg.tables.length, 1);
    assert.equal(pkg.tables[0].rows, 3);
    const publish = events.find((e) => e.action === 'publish');
    const [file] = publish.files;
    const bytes = await readFile(path.join(platform.mountDir, 'production', 'Pr004', '20250205_010101', file.path));
    assert.equal(file.sha512, createHash('sha512').update(bytes).digest('hex'));
    assert.equal(file.bytes, bytes.length);
    assert.equal(pkg.tables[0].bytes, bytes.length);
  });

  test('a failed access is audited with its error', async () => {
    const events = (await platform.auditEvents()).filter((e) => e.request_id === 'req-observability-0002');
    assert.ok(events.length >= 1);
    assert.ok(events.some((e) => e.outcome === 'error' && typeof e.detail === 'string' && e.detail.length > 0));
  });
});
