/**
 * How the services fail: every failure answers the contract's error envelope
 * `{"status":"error","payload":{"detail":…}}` with the contract's status, a
 * detail that names what is wrong, and never a secret value or password.
 */
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createMysqlDatabase, createPgDatabase, mysqlSettings, type TestMysqlDatabase, type TestPgDatabase } from '../support/databases.js';
import { startPasswordPostgres, type PasswordPostgres } from '../support/password-postgres.js';
import { LogLines } from '../support/log-lines.js';
import { keys, startPlatform, type Platform } from '../support/platform.js';
import { freePort } from '../support/processes.js';
import { accessRequest, dataset, graphqlInput, sqlSource, transferRequest, writeSourceSecrets, type DatasetBody, type SqlSourceBody } from '../support/requests.js';

let platform: Platform;
let pgDb: TestPgDatabase;
let source: SqlSourceBody;
const logs = new LogLines();

before(async () => {
  pgDb = await createPgDatabase();
  await pgDb.client.query('CREATE TABLE person (person_id integer, postcode text); CREATE TABLE visit (visit_id integer)');
  platform = await startPlatform({ logStream: logs.stream });
  await writeSourceSecrets(platform, 'postgresql');
  source = sqlSource('postgresql', pgDb.database);
});

after(async () => {
  await platform?.close();
  await pgDb?.drop();
});

interface Answer {
  status: number;
  text: string;
  /** The request id the service answered with (its log lines carry it). */
  requestId: string;
  body: { status?: string; payload?: { detail?: string } } & Record<string, unknown>;
}

/** One HTTP call with full control of the key: a string, or null for no header. */
async function send(url: string, options: { key: string | null; body?: unknown; method?: string; raw?: string }): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.key !== null) headers['x-api-key'] = options.key;
  const hasBody = options.raw !== undefined || options.body !== undefined;
  if (hasBody) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method: options.method ?? 'POST', headers, body: options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body)) });
  const text = await res.text();
  platform.checkAnswer(url, res.status, text);
  let body: Answer['body'] = {};
  try {
    body = JSON.parse(text) as Answer['body'];
  } catch {
    // not JSON: left empty, so envelope assertions fail
  }
  return { status: res.status, text, body, requestId: res.headers.get('x-request-id') ?? '' };
}

/** Asserts the contract's error envelope with the given status and gives its detail. */
function envelope(answer: Answer, status: number): string {
  assert.equal(answer.status, status, answer.text);
  assert.equal(answer.body.status, 'error', answer.text);
  assert.deepEqual(Object.keys(answer.body).sort(), ['payload', 'status']);
  const detail = answer.body.payload?.detail;
  assert.equal(typeof detail, 'string', answer.text);
  return detail as string;
}

/**
 * The contract's REST endpoints of the foundation, each with a valid body;
 * `readsCatalog` when the endpoint reads the dataset's tables and columns.
 */
function restEndpoints(p: Platform, src: SqlSourceBody, data: DatasetBody = dataset('public', ['person'])) {
  return [
    { name: 'gateway /project/validate', url: `${p.gateway}/project/validate`, key: keys.approval, body: transferRequest(src, data), readsCatalog: true },
    { name: 'metadata /metadata/project', url: `${p.metadata}/metadata/project`, key: keys.metadata, body: transferRequest(src, data), readsCatalog: true },
    { name: 'publish /data-publish/validate', url: `${p.publish}/data-publish/validate`, key: keys.publish, body: accessRequest(src), readsCatalog: false },
  ];
}

describe('API keys', () => {
  const graphqlEndpoints = () => [
    { name: 'gateway /graphql', url: `${platform.gateway}/graphql`, key: keys.approval },
    { name: 'metadata /graphql', url: `${platform.metadata}/graphql`, key: keys.metadata },
    { name: 'publish /graphql', url: `${platform.publish}/graphql`, key: keys.publish },
  ];
  const query = { query: '{ __typename }' };

  test('a missing, wrong or other service\'s key gets 403 on every REST endpoint', async () => {
    for (const e of restEndpoints(platform, source)) {
      const others = Object.values(keys).filter((k) => k !== e.key);
      for (const key of [null, '', 'wrong-key', `${e.key}x`, e.key.toUpperCase(), ...others]) {
        const detail = envelope(await send(e.url, { key, body: e.body }), 403);
        assert.match(detail, /x-api-key/, `${e.name} with ${JSON.stringify(key)}`);
      }
      const ok = await send(e.url, { key: e.key, body: e.body });
      assert.equal(ok.status, 200, `${e.name} with its own key: ${ok.text}`);
    }
  });

  test('a missing or wrong key gets 403 on every /graphql, GET or POST', async () => {
    for (const e of graphqlEndpoints()) {
      for (const key of [null, 'wrong-key']) {
        envelope(await send(e.url, { key, body: query }), 403);
        envelope(await send(`${e.url}?query=${encodeURIComponent(query.query)}`, { key, method: 'GET' }), 403);
      }
      const ok = await send(e.url, { key: e.key, body: query });
      assert.equal(ok.status, 200, `${e.name} with its own key: ${ok.text}`);
    }
  });

  test('the probes answer without a key', async () => {
    for (const base of [platform.gateway, platform.metadata, platform.publish]) {
      assert.equal((await send(`${base}/healthz`, { key: null, method: 'GET' })).status, 200, base);
      assert.equal((await send(`${base}/readyz`, { key: null, method: 'GET' })).status, 200, base);
    }
  });
});

describe('invalid bodies', () => {
  test('an empty object is a 422 naming every missing field', async () => {
    for (const e of restEndpoints(platform, source)) {
      const detail = envelope(await send(e.url, { key: e.key, body: {} }), 422);
      const required = Object.keys(e.body).filter((k) => k !== 'extract_config');
      assert.ok(required.length >= 4);
      for (const field of required) assert.ok(detail.includes(`${field}: is required`), `${e.name} does not name ${field}: ${detail}`);
    }
  });

  test('bad values are a 422 naming each offending field', async () => {
    for (const e of restEndpoints(platform, source)) {
      const body = {
        ...e.body,
        project_start_time: '2025-02-05',
        source: { ...source, port: 'abc', credentials: { ...source.credentials, password_key: '../etc/passwd' } },
        destination: { name: 'LSC', type: 'filestore', format: 'xml' },
      };
      const detail = envelope(await send(e.url, { key: e.key, body }), 422);
      for (const field of ['project_start_time', 'source.port', 'source.credentials.password_key', 'destination.format']) {
        assert.ok(detail.includes(field), `${e.name} does not name ${field}: ${detail}`);
      }
    }
  });

  test('a bad table or column name is a 422 naming its place in the dataset', async () => {
    const body = transferRequest(source, dataset('public', [{ name: 'person', columns: ['person_id', ''] }]));
    const detail = envelope(await send(`${platform.gateway}/project/validate`, { key: keys.approval, body }), 422);
    assert.match(detail, /dataset\.tables\[0\]\.columns\[1\]\.name/);
  });

  test('a body that is not JSON, is empty, or is not an object is a 422', async () => {
    for (const e of restEndpoints(platform, source)) {
      assert.match(envelope(await send(e.url, { key: e.key, raw: '{"project_name": ' }), 422), /JSON/);
      assert.match(envelope(await send(e.url, { key: e.key, raw: '' }), 422), /empty/);
      assert.match(envelope(await send(e.url, { key: e.key, raw: '[1, 2]' }), 422), /JSON object/);
    }
  });

  test('through GraphQL, an invalid input is an error with status 422 naming the field', async () => {
    const res = await platform.graphql(platform.gateway, 'mutation ($r: ProjectAccessRequest!) { validateProject(request: $r) { validationStatus } }', {
      r: { projectName: 'Pr004', projectStartTime: 'soon', destination: { name: 'LSC', type: 'filestore' }, source: { type: 'postgresql', hostUrl: '127.0.0.1', database: 'x', credentials: { usernameKey: 'a', passwordKey: 'b' } } },
    });
    assert.equal(res.body.errors?.length, 1, JSON.stringify(res.body));
    assert.equal(res.body.errors[0].extensions.status, 422);
    assert.match(res.body.errors[0].extensions.detail, /project_start_time/);
  });
});

describe('unknown tables and columns', () => {
  test('an unknown table is a 404 naming it and listing the available tables', async () => {
    for (const e of restEndpoints(platform, source, dataset('public', ['person', 'no_such_table'])).filter((x) => x.readsCatalog)) {
      const detail = envelope(await send(e.url, { key: e.key, body: e.body }), 404);
      assert.match(detail, /'no_such_table'/, e.name);
      assert.match(detail, /Available tables: 'person', 'visit'/, `${e.name}: ${detail}`);
    }
  });

  test('unknown columns are a 404 naming them, their table, and the available columns', async () => {
    const data = dataset('public', [{ name: 'person', columns: ['person_id', 'surname', 'dob'] }]);
    for (const e of restEndpoints(platform, source, data).filter((x) => x.readsCatalog)) {
      const detail = envelope(await send(e.url, { key: e.key, body: e.body }), 404);
      assert.match(detail, /'surname'/, e.name);
      assert.match(detail, /'dob'/, e.name);
      assert.match(detail, /table 'person'/, e.name);
      assert.match(detail, /Available columns: 'person_id', 'postcode'/, `${e.name}: ${detail}`);
    }
  });
});

describe('secrets', () => {
  test('a missing secret is a 404 naming it, with no secret value anywhere', async () => {
    const value = `pw-${randomBytes(8).toString('hex')}`;
    await platform.writeSecret('present-password', value);
    const src = sqlSource('postgresql', pgDb.database, { usernameKey: 'absent-user', passwordKey: 'present-password' });
    for (const e of restEndpoints(platform, src)) {
      const answer = await send(e.url, { key: e.key, body: e.body });
      const detail = envelope(answer, 404);
      assert.match(detail, /'absent-user'/, e.name);
      assert.ok(!answer.text.includes(value), `${e.name} shows a secret value: ${answer.text}`);
    }
  });

  test('a missing password secret is named, and the user name is not shown', async () => {
    const user = `user-${randomBytes(8).toString('hex')}`;
    await platform.writeSecret('present-user', user);
    const src = sqlSource('postgresql', pgDb.database, { usernameKey: 'present-user', passwordKey: 'absent-password' });
    for (const e of restEndpoints(platform, src)) {
      const answer = await send(e.url, { key: e.key, body: e.body });
      assert.match(envelope(answer, 404), /'absent-password'/, e.name);
      assert.ok(!answer.text.includes(user), `${e.name} shows a secret value: ${answer.text}`);
    }
  });
});

describe('sources that cannot be used', () => {
  test('a closed port is a 502 naming the host and database, without the password or the reason; the log has the reason', async () => {
    const password = `pw-${randomBytes(8).toString('hex')}`;
    await platform.writeSecret('closed-user', 'postgres');
    await platform.writeSecret('closed-password', password);
    const src = sqlSource('postgresql', pgDb.database, { port: await freePort(), usernameKey: 'closed-user', passwordKey: 'closed-password' });
    for (const e of restEndpoints(platform, src)) {
      const answer = await send(e.url, { key: e.key, body: e.body });
      const detail = envelope(answer, 502);
      assert.ok(detail.includes(`127.0.0.1:${src.port}`), `${e.name} does not name the host: ${detail}`);
      assert.ok(detail.includes(pgDb.database), `${e.name} does not name the database: ${detail}`);
      assert.equal(detail, `Cannot connect to postgresql source 127.0.0.1:${src.port}/${pgDb.database}; the reason is in the service log.`, e.name);
      logs.assertReason(answer.requestId, /connection refused/, e.name);
      assert.ok(!answer.text.includes(password), `${e.name} shows the password`);
    }
  });

  describe('a wrong password', () => {
    let server: PasswordPostgres;
    let mysqlDb: TestMysqlDatabase;
    const suffix = randomBytes(4).toString('hex');
    const role = `cr8_reader_${suffix}`;
    const right = `right-${randomBytes(8).toString('hex')}`;
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;

    before(async () => {
      server = await startPasswordPostgres();
      await server.query(`CREATE ROLE ${role} LOGIN PASSWORD '${right}'`);
      mysqlDb = await createMysqlDatabase();
      await mysqlDb.conn.query(`CREATE USER '${role}'@'%' IDENTIFIED BY '${right}'; GRANT SELECT ON \`${mysqlDb.database}\`.* TO '${role}'@'%'`);
      await mysqlDb.conn.query('CREATE TABLE person (person_id INT)');
      await platform.writeSecret('reader-user', role);
      await platform.writeSecret('reader-right-password', right);
      await platform.writeSecret('reader-wrong-password', wrong);
    });

    after(async () => {
      await mysqlDb?.conn.query(`DROP USER IF EXISTS '${role}'@'%'`).catch(() => undefined);
      await mysqlDb?.drop();
      await server?.stop();
    });

    const sources = () => ({
      postgresql: (passwordKey: string) => sqlSource('postgresql', 'postgres', { host: server.host, port: server.port, usernameKey: 'reader-user', passwordKey }),
      mysql: (passwordKey: string) => sqlSource('mysql', mysqlDb.database, { host: mysqlSettings.host, port: mysqlSettings.port, usernameKey: 'reader-user', passwordKey }),
    });

    for (const type of ['postgresql', 'mysql'] as const) {
      test(`${type}: the right password works (control)`, async () => {
        const src = sources()[type]('reader-right-password');
        const data = dataset(type === 'postgresql' ? 'public' : null);
        for (const e of restEndpoints(platform, src, data)) {
          const answer = await send(e.url, { key: e.key, body: e.body });
          assert.equal(answer.status, 200, `${e.name}: ${answer.text}`);
        }
      });

      test(`${type}: a 502 saying the credentials were rejected, naming the user name's secret; no password anywhere`, async () => {
        const src = sources()[type]('reader-wrong-password');
        const data = dataset(type === 'postgresql' ? 'public' : null);
        for (const e of restEndpoints(platform, src, data)) {
          const answer = await send(e.url, { key: e.key, body: e.body });
          const detail = envelope(answer, 502);
          assert.match(detail, /rejected the credentials/, `${e.name}: ${detail}`);
          assert.match(detail, /'reader-user'/, e.name);
          assert.ok(detail.includes(`${src.host_url}:${src.port}/${src.database}`), `${e.name} does not name the source: ${detail}`);
          assert.ok(!answer.text.includes(wrong), `${e.name} shows the wrong password`);
          assert.ok(!answer.text.includes(right), `${e.name} shows the right password`);
        }
        const gql = await platform.graphql(platform.gateway, 'query ($r: MetadataRequest!) { datasetMetadata(request: $r) { catalog } }', {
          r: graphqlInput({ source: src, dataset: data }),
        });
        assert.equal(gql.body.errors?.[0]?.extensions?.status, 502, JSON.stringify(gql.body));
        const text = JSON.stringify(gql.body);
        assert.ok(!text.includes(wrong) && !text.includes(right), 'GraphQL shows a password');
      });
    }
  });
});

describe('unknown routes', () => {
  test('answer a 404 envelope naming the route, with or without a key', async () => {
    for (const [base, key] of [
      [platform.gateway, keys.approval],
      [platform.metadata, keys.metadata],
      [platform.publish, keys.publish],
    ] as const) {
      for (const k of [key, null]) {
        assert.match(envelope(await send(`${base}/no/such/route`, { key: k, body: {} }), 404), /\/no\/such\/route/);
        assert.match(envelope(await send(`${base}/project/validate?x=1`, { key: k, method: 'DELETE' }), 404), /DELETE \/project\/validate/);
      }
    }
  });
});
