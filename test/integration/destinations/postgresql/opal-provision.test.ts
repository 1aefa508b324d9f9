/**
 * OPAL provisioning against the protocol-level OPAL double: the resulting OPAL
 * state (projects, users and groups, permissions, resources and their
 * parameters), idempotency, recovery after a failure mid-way, and that no
 * password ever reaches a message, a result or a log line.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, afterEach, describe, test } from 'node:test';
import { pino } from 'pino';
import { AppError } from '../../../../lib/errors.js';
import { OpalClient, type OpalClientOptions } from '../../../../subgraphs/publish/src/destinations/postgresql/opal/client.js';
import { generatePassword } from '../../../../subgraphs/publish/src/destinations/postgresql/opal/password.js';
import { provisionOpal, type ProvisionInput } from '../../../../subgraphs/publish/src/destinations/postgresql/opal/provision.js';
import { OPAL_PASSWORD_RULE, startOpalDouble, type OpalDouble, type OpalStateView } from '../../../support/opal-double.js';

const SCHEMA = 'pr004_20250205_010101_public';
const RO_PASSWORD = 'Read-only-pw#1';

const input = (tables = ['person', 'visit'], project = 'Pr004'): ProvisionInput => ({
  project,
  tables: tables.map((table) => ({ schema: SCHEMA, table })),
  connection: { host: 'db.internal', port: 5432, database: 'trevolution', username: 'opal_ro', password: RO_PASSWORD },
});

/** A logger writing JSON lines into `lines`, at the most verbose level. */
function captureLog(): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) }), lines };
}

function client(double: OpalDouble, overrides: Partial<OpalClientOptions> = {}): OpalClient {
  return new OpalClient({
    baseUrl: double.url,
    username: double.username,
    password: double.password,
    passwordSecretName: 'opal-admin-password',
    noSslVerify: false,
    timeoutMs: 10_000,
    ...overrides,
  });
}

function resource(table: string, overrides: Record<string, unknown> = {}) {
  return {
    project: 'Pr004',
    name: `tre_postgresql_${SCHEMA}_${table}`,
    description: `Resource for table ${table} in schema ${SCHEMA}`,
    provider: 'resourcer',
    factory: 'sql',
    parameters: { host: 'db.internal', port: '5432', db: 'trevolution', table, schema: SCHEMA, driver: 'postgresql' },
    credentials: { username: 'opal_ro', password: RO_PASSWORD },
    ...overrides,
  };
}

const EXPECTED: OpalStateView = {
  projects: [{ name: 'Pr004', title: 'Pr004', description: 'Data Access Request for project Pr004' }],
  users: [{ name: 'dsuser_default', authenticationType: 'PASSWORD', groups: ['Pr004_group'], enabled: true }],
  groups: [{ name: 'Pr004_group', members: ['dsuser_default'] }],
  permissions: [
    { node: '/datashield', principal: 'Pr004_group', type: 'GROUP', permission: 'DATASHIELD_USE' },
    { node: '/project/Pr004/resources', principal: 'Pr004_group', type: 'GROUP', permission: 'RESOURCES_VIEW' },
  ],
  resources: [resource('person'), resource('visit')],
};

const doubles: OpalDouble[] = [];
async function double(options: Parameters<typeof startOpalDouble>[0] = {}): Promise<OpalDouble> {
  const d = await startOpalDouble(options);
  doubles.push(d);
  return d;
}

afterEach(() => {
  for (const d of doubles) assert.deepEqual(d.unexpected, [], 'the double understood every call');
});
after(async () => {
  await Promise.all(doubles.map((d) => d.stop()));
});

/** Runs provisioning with a fresh client, closing it after. */
async function provision(d: OpalDouble, data = input(), log = captureLog().log, overrides: Partial<OpalClientOptions> = {}) {
  const c = client(d, overrides);
  try {
    return await provisionOpal(c, data, log);
  } finally {
    c.close();
  }
}

describe('OPAL provisioning', () => {
  test('an empty OPAL gets the project, group, user, permissions and one resource per table', async () => {
    const d = await double();
    const published = await provision(d);
    assert.deepEqual(d.state(), EXPECTED);
    assert.deepEqual(published, [
      { postgresql_table_name: `${SCHEMA}.person`, opal_resource_name: `tre_postgresql_${SCHEMA}_person`, opal_project_name: 'Pr004', opal_group_name: 'Pr004_group' },
      { postgresql_table_name: `${SCHEMA}.visit`, opal_resource_name: `tre_postgresql_${SCHEMA}_visit`, opal_project_name: 'Pr004', opal_group_name: 'Pr004_group' },
    ]);
    const expectedAuth = `Basic ${Buffer.from(`${d.username}:${d.password}`).toString('base64')}`;
    for (const r of d.requests) assert.equal(r.authorization, expectedAuth, `${r.method} ${r.path} sends Basic credentials`);
    // The resource POST carries parameters and credentials as strings holding JSON, as OPAL expects.
    const post = d.requests.find((r) => r.method === 'POST' && r.path === '/project/Pr004/resources');
    assert.equal(typeof (post?.body as { parameters: unknown }).parameters, 'string');
    assert.equal(typeof (post?.body as { credentials: unknown }).credentials, 'string');
  });

  test('publishing again creates nothing twice and leaves the state identical', async () => {
    const d = await double();
    await provision(d);
    const before = d.state();
    d.clearLog();
    await provision(d);
    assert.deepEqual(d.state(), before);
    assert.deepEqual(d.writes(), [], 'no POST or PUT the second time');
    assert.ok(d.requests.length > 0);
  });

  test('a new table later adds only its resource', async () => {
    const d = await double();
    await provision(d, input(['person']));
    d.clearLog();
    await provision(d);
    assert.deepEqual(d.state(), EXPECTED);
    assert.deepEqual(d.writes().map((r) => `${r.method} ${r.path}`), ['POST /project/Pr004/resources']);
  });

  test('what exists is kept: other groups, stronger permissions, other resources; a changed resource is updated in place', async () => {
    const d = await double();
    d.seed.project({ name: 'Pr004', title: 'Existing title' });
    d.seed.user({ name: 'dsuser_default', authenticationType: 'PASSWORD', groups: ['Other_group'], enabled: true }, 'Old-password#1');
    d.seed.permission({ node: '/datashield', principal: 'Pr004_group', type: 'GROUP', permission: 'DATASHIELD_ALL' });
    d.seed.permission({ node: '/project/Pr004/resources', principal: 'Pr004_group', type: 'GROUP', permission: 'RESOURCES_ALL' });
    const stale = resource('person', { parameters: { ...resource('person').parameters, host: 'old-host' } });
    d.seed.resource({ ...stale, parameters: JSON.stringify(stale.parameters), credentials: JSON.stringify(stale.credentials) });
    d.seed.resource({ project: 'Pr004', name: 'hand_made', provider: 'resourcer', factory: 'sql', parameters: '{}' });
    await provision(d);
    const state = d.state();
    assert.deepEqual(state.projects, [{ name: 'Pr004', title: 'Existing title' }], 'the project is left as it was');
    assert.deepEqual(state.users, [{ name: 'dsuser_default', authenticationType: 'PASSWORD', groups: ['Other_group', 'Pr004_group'], enabled: true }]);
    assert.equal(d.passwordOf('dsuser_default'), 'Old-password#1', "an existing user's password is kept");
    assert.deepEqual(
      state.permissions.map((p) => p.permission),
      ['DATASHIELD_ALL', 'RESOURCES_ALL'],
      'a stronger permission is not downgraded',
    );
    assert.deepEqual(state.resources.map((r) => r.name), ['hand_made', ...EXPECTED.resources.map((r) => r.name)]);
    assert.deepEqual(state.resources.find((r) => r.name.endsWith('_person')), resource('person'), 'the stale resource was updated');
    const writes = d.writes().map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(writes, [
      'PUT /system/subject-credential/dsuser_default',
      `PUT /project/Pr004/resource/tre_postgresql_${SCHEMA}_person`,
      'POST /project/Pr004/resources',
    ]);
  });

  test('a rotated read-only password reaches the existing resources', async () => {
    const d = await double();
    await provision(d);
    const rotated = input();
    rotated.connection.password = 'Rotated-pw#2';
    d.clearLog();
    await provision(d, rotated);
    assert.deepEqual(d.state().resources.map((r) => r.credentials), [
      { username: 'opal_ro', password: 'Rotated-pw#2' },
      { username: 'opal_ro', password: 'Rotated-pw#2' },
    ]);
    assert.deepEqual(d.writes().map((r) => r.method), ['PUT', 'PUT']);
  });

  test('OPAL failing mid-way gives a clear error; running again completes the same state', async () => {
    const d = await double();
    d.failNext({ method: 'POST', path: /^\/project\/Pr004\/resources$/ }, 500);
    await assert.rejects(provision(d), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, 'DESTINATION_FAILED');
      assert.equal(error.status, 502);
      assert.match(error.detail, /^OPAL failed at step 'create resource tre_postgresql_pr004_20250205_010101_public_person': HTTP 500/);
      return true;
    });
    assert.equal(d.state().resources.length, 0);
    await provision(d);
    assert.deepEqual(d.state(), EXPECTED);
    const creations = d
      .writes()
      .filter((r) => r.method === 'POST')
      .map((r) => `${r.path}?${new URLSearchParams(r.query).toString()} ${(r.body as { name?: string } | undefined)?.name ?? ''}`);
    assert.equal(new Set(creations).size, creations.length, `nothing was created twice: ${creations.join(', ')}`);
  });

  test('a wrong OPAL password is a clear error that holds neither password nor header', async () => {
    const d = await double();
    const wrong = 'Wrong-admin-pw#9';
    await assert.rejects(provision(d, input(), captureLog().log, { password: wrong }), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.match(error.detail, /^OPAL rejected the credentials of user 'administrator' \(password from secret 'opal-admin-password'\) at step 'get project': HTTP 401/);
      for (const leak of [wrong, d.password, Buffer.from(`administrator:${wrong}`).toString('base64'), 'Basic ']) {
        assert.ok(!error.detail.includes(leak), 'no credential in the message');
        assert.ok(!String(error.stack).includes(leak), 'no credential in the stack');
      }
      return true;
    });
    assert.deepEqual(d.state().projects, []);
    assert.equal(d.requests[0]?.auth, 'invalid');
  });

  test('the user password is random, strong, sent only to OPAL, and never returned or logged', async () => {
    const d = await double();
    const { log, lines } = captureLog();
    const published = await provision(d, input(), log);
    const password = d.passwordOf('dsuser_default');
    assert.ok(password, 'the user was created with a password');
    assert.match(password, OPAL_PASSWORD_RULE);
    assert.equal(password.length, 32);
    assert.ok(lines.length > 0, 'provisioning logged what it created');
    for (const secret of [password, RO_PASSWORD, d.password]) {
      assert.ok(!JSON.stringify(published).includes(secret), 'not in the result');
      assert.ok(!lines.join('\n').includes(secret), 'not in the log');
    }
    const sentWith = d.requests.filter((r) => JSON.stringify(r.body ?? '').includes(password));
    assert.deepEqual(sentWith.map((r) => `${r.method} ${r.path}`), ['POST /system/subject-credentials'], 'sent once, to create the user');
    // A second double gets a different password.
    const other = await double();
    await provision(other);
    assert.notEqual(other.passwordOf('dsuser_default'), password);
  });

  test('an OPAL error body echoing a password is scrubbed from the message', async () => {
    const d = await double();
    const c = client(d);
    c.redact(RO_PASSWORD);
    const error = c.failure('some step', { status: 400, body: { code: 400, status: 'BadRequest', arguments: [`bad credentials {"password":"${RO_PASSWORD}"}`] } });
    c.close();
    assert.ok(!error.detail.includes(RO_PASSWORD));
    assert.match(error.detail, /HTTP 400 \(BadRequest: bad credentials .*\[redacted\]/);
  });

  test("a project name OPAL refuses is refused before any call", async () => {
    const d = await double();
    await assert.rejects(provision(d, input(['person'], 'Pr.004')), (error: unknown) => error instanceof AppError && error.code === 'INVALID_REQUEST' && /OPAL project names/.test(error.detail));
    assert.deepEqual(d.requests, []);
  });

  test('two tables that would share one resource name are refused', async () => {
    const d = await double();
    const data = input();
    data.tables = [{ schema: `${SCHEMA}_a`, table: 'b' }, { schema: SCHEMA, table: 'a_b' }];
    await assert.rejects(provision(d, data), (error: unknown) => error instanceof AppError && error.code === 'INVALID_REQUEST' && /would both be OPAL resource/.test(error.detail));
    assert.deepEqual(d.requests, []);
  });

  test('OPAL mounted under a path is reached there', async () => {
    const d = await double({ basePath: '/opal' });
    await provision(d);
    assert.deepEqual(d.state(), EXPECTED);
    const c = client(d);
    await c.checkCredentials();
    c.close();
  });

  test('an unreachable OPAL is a clear error', async () => {
    const d = await double();
    await d.stop();
    await assert.rejects(provision(d), (error: unknown) => error instanceof AppError && /^OPAL could not be reached at step 'get project': connection refused\.$/.test(error.detail));
  });
});

describe('OPAL over TLS', () => {
  test('verification is on by default: a certificate from an unknown CA is refused, naming the setting', async () => {
    const d = await double({ tls: true });
    await assert.rejects(provision(d), (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.match(error.detail, /TLS certificate was not accepted \(.+\)\. .*DESTINATION_OPAL_NO_SSL_VERIFY=true/);
      return true;
    });
    assert.deepEqual(d.requests, [], 'nothing reached OPAL');
  });

  test('DESTINATION_OPAL_NO_SSL_VERIFY skips verification for the OPAL client only', async () => {
    const d = await double({ tls: true });
    await provision(d, input(), captureLog().log, { noSslVerify: true });
    assert.deepEqual(d.state(), EXPECTED);
    // Nothing process-wide changed: another HTTPS client still verifies the certificate.
    const verified = await new Promise<string>((resolve) => {
      https.get(`${d.url}/ws/system/subject-profile/_current`, (res) => resolve(`status ${res.statusCode}`)).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    assert.match(verified, /CERT|SELF_SIGNED|UNABLE/);
  });
});

describe('generatePassword', () => {
  test('always satisfies OPAL’s rule and differs every time', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const p = generatePassword();
      assert.match(p, OPAL_PASSWORD_RULE);
      seen.add(p);
    }
    assert.equal(seen.size, 500);
    assert.match(generatePassword(8), OPAL_PASSWORD_RULE);
    assert.throws(() => generatePassword(7), RangeError);
  });
});
