/**
 * Secrets a caller may name (issue #11, item 1), attacked through the real
 * services as a caller holding only an API key would: a request names the
 * secret AND the host its value goes to, so it points a source at a server of
 * its own (the fake PostgreSQL and MySQL servers in test/support, which ask
 * for the password in clear text, as MD5, or RSA-encrypted with their own key,
 * and record whatever arrives) and names the platform's secrets.
 *
 * Proves: the API keys and every `…_SECRET_NAME` secret are refused as source
 * credentials in any spelling, from files or Key Vault, before any lookup (a
 * 403 naming the field and the setting); a source credential whose value is a
 * platform secret's (an alias, a link) is refused the same way; a source that
 * asks for a readable password without verified TLS gets nothing (a 502 naming
 * the source and SOURCE_ALLOW_INSECURE_PASSWORD_AUTH), while with the setting,
 * or over verified TLS, the fake does receive it (so the test can see a leak);
 * SOURCE_SECRET_NAME_PATTERN narrows the names further.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connectorOptionsFromEnv } from '../../../lib/config/connector-settings.js';
import { ConfigError } from '../../../lib/config/env.js';
import { KeyVaultSecretProvider } from '../../../lib/secrets/keyvault-provider.js';
import { createPgDatabase, pgSettings, type TestPgDatabase } from '../../support/databases.js';
import { startFakeMysql, type FakeMysql } from '../../support/fake-mysql.js';
import { startFakePostgres, type FakePostgres } from '../../support/fake-postgres.js';
import { startKeyVaultDouble, testTls, type KeyVaultDouble } from '../../support/keyvault-double.js';
import { LogLines } from '../../support/log-lines.js';
import { pgDestinationEnv } from '../../support/pg-destination.js';
import { keys, startPlatform, type Answer, type Platform } from '../../support/platform.js';
import { accessRequest, dataset, graphqlInput, sqlSource, transferRequest, type SqlSourceBody } from '../../support/requests.js';

const PASSWORD = `hunter2-${randomBytes(6).toString('hex')}`;
const DESTINATION_ENV = pgDestinationEnv('not_used', 'not_used', { url: 'http://127.0.0.1:9', username: 'administrator' });
/** The platform's secrets and their values, as the services can read them. */
const PLATFORM_SECRETS: Record<string, string> = {
  approvalserviceapikey: keys.approval,
  metadataserviceapikey: keys.metadata,
  publishserviceapikey: keys.publish,
  'destination-password': `dest-${randomBytes(6).toString('hex')}`,
  'opal-readonly-password': `ro-${randomBytes(6).toString('hex')}`,
  'opal-password': `opal-${randomBytes(6).toString('hex')}`,
};

let platform: Platform;
let pgDb: TestPgDatabase;
const fakes: { clear?: FakePostgres; md5?: FakePostgres; myClear?: FakeMysql; mySha2?: FakeMysql } = {};
const logs = new LogLines();

async function writeAll(p: Platform, secrets: Record<string, string>): Promise<void> {
  for (const [name, value] of Object.entries(secrets)) await p.writeSecret(name, value);
}

before(async () => {
  pgDb = await createPgDatabase('srccred');
  await pgDb.client.query('CREATE TABLE person (person_id integer)');
  fakes.clear = await startFakePostgres('cleartext');
  fakes.md5 = await startFakePostgres('md5');
  fakes.myClear = await startFakeMysql('mysql_clear_password');
  fakes.mySha2 = await startFakeMysql('caching_sha2_password');
  platform = await startPlatform({ env: DESTINATION_ENV, logStream: logs.stream });
  await writeAll(platform, { ...PLATFORM_SECRETS, 'src-user': 'reader', 'src-password': PASSWORD, 'src-pg-user': pgSettings.user, 'src-pg-password': pgSettings.password });
});

after(async () => {
  await platform?.close();
  await Promise.all(Object.values(fakes).map((f) => f?.stop()));
  await pgDb?.drop();
});

/** A source at a fake server, naming the given secrets. */
function at(fake: { host: string; port: number }, type: 'postgresql' | 'mysql', usernameKey = 'src-user', passwordKey = 'src-password'): SqlSourceBody {
  return sqlSource(type, 'research', { host: fake.host, port: fake.port, usernameKey, passwordKey });
}

/** The three REST endpoints that open a source, through the gateway and straight to each subgraph. */
function calls(p: Platform, source: SqlSourceBody): Array<[string, () => Promise<Answer>]> {
  const data = dataset(source.type === 'postgresql' ? 'public' : null);
  return [
    ['gateway /project/validate', () => p.post(p.gateway, '/project/validate', transferRequest(source, data))],
    ['metadata /metadata/project', () => p.post(p.metadata, '/metadata/project', transferRequest(source, data))],
    ['publish /data-publish/validate', () => p.post(p.publish, '/data-publish/validate', accessRequest(source))],
  ];
}

function envelope(answer: Answer, status: number, what: string): string {
  assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer.body)}`);
  assert.equal(answer.body.status, 'error', what);
  return answer.body.payload.detail as string;
}

/** Asserts that no answer or log line carries any of the values. */
function assertNowhere(answers: Answer[], values: string[]): void {
  const text = JSON.stringify(answers.map((a) => a.body)) + logs.lines.join('');
  for (const v of values) assert.ok(!text.includes(v), `a value leaked: ${v}`);
}

function assertNothingReceived(...servers: Array<{ passwords: string[] }>): void {
  for (const s of servers) assert.deepEqual(s.passwords, [], 'the fake received a password');
}

const notAllowed = (field: string, name: string) =>
  `Secret '${name}' (source.credentials.${field}) may not be used as a source credential: the platform's own secrets never may, and SOURCE_SECRET_NAME_PATTERN limits which names can.`;

describe('the platform\'s own secrets are never source credentials', () => {
  /** Every spelling of a platform secret's name a request might try; most exist as no file at all. */
  const spellings = [
    'publishserviceapikey', 'PublishServiceApiKey', 'publish-service-api-key', 'PUBLISH_SERVICE_API_KEY', 'publish_service-ApiKey',
    'approvalserviceapikey', 'Metadata-Service-Api-Key',
    'destination-password', 'Destination_Password', 'opal-readonly-password', 'OPAL-PASSWORD', 'opalpassword',
  ];

  test('by name, in any spelling, as user name or password: 403 naming the field and the setting, before any lookup; the source is never contacted', async () => {
    const answers: Answer[] = [];
    for (const name of spellings) {
      for (const field of ['username_key', 'password_key'] as const) {
        const source = field === 'username_key' ? at(fakes.clear!, 'postgresql', name, 'src-password') : at(fakes.clear!, 'postgresql', 'src-user', name);
        for (const [what, call] of calls(platform, source)) {
          const answer = await call();
          answers.push(answer);
          // 403, not 404: the name alone decided, whether or not such a file exists.
          assert.equal(envelope(answer, 403, `${what} ${field}=${name}`), notAllowed(field, name));
          logs.assertReason(answer.requestId, /the name is a platform secret's/, `${what} ${name}`);
        }
      }
    }
    assert.equal(fakes.clear!.connections, 0, 'the fake source was never contacted');
    assertNowhere(answers, [...Object.values(PLATFORM_SECRETS), PASSWORD]);
  });

  test('for a MySQL and a Databricks source too, and through GraphQL (status 403 in the error)', async () => {
    const my = await platform.post(platform.metadata, '/metadata/project', transferRequest(at(fakes.myClear!, 'mysql', 'src-user', 'PublishServiceApiKey'), dataset(null)));
    assert.equal(envelope(my, 403, 'mysql'), notAllowed('password_key', 'PublishServiceApiKey'));
    assert.equal(fakes.myClear!.connections, 0);
    const databricks = {
      name: 'dbx', type: 'databrickssql', host_url: 'https://127.0.0.1', http_path: '/sql/1.0/warehouses/abc', port: fakes.clear!.port, catalog: 'research',
      credentials: { provider: 'AzureKeyVault', spn_clientid: 'src-user', spn_secret: 'opal-password' },
    };
    const dbx = await platform.post(platform.metadata, '/metadata/project', { ...transferRequest(at(fakes.clear!, 'postgresql'), dataset('default')), source: databricks });
    assert.equal(envelope(dbx, 403, 'databricks'), notAllowed('spn_secret', 'opal-password'));
    const gql = await platform.graphql(platform.gateway, 'query ($r: MetadataRequest!) { datasetMetadata(request: $r) { catalog } }', {
      r: graphqlInput({ source: at(fakes.clear!, 'postgresql', 'approval-service-api-key'), dataset: dataset('public') }),
    });
    assert.equal(gql.body.errors?.[0]?.extensions?.status, 403, JSON.stringify(gql.body));
    assert.match(gql.body.errors[0].extensions.detail, /SOURCE_SECRET_NAME_PATTERN/);
    assert.equal(fakes.clear!.connections, 0, 'the fake source was never contacted');
  });

  test('by value: an alias secret, or a link in the secrets folder, holding a platform secret\'s value is refused the same way', async () => {
    await platform.writeSecret('src-alias', keys.publish);
    await platform.writeSecret('src-alias-destination', PLATFORM_SECRETS['destination-password']!);
    await symlink(path.join(platform.secretsDir, 'opal-password'), path.join(platform.secretsDir, 'src-link'));
    const answers: Answer[] = [];
    for (const [field, name] of [['password_key', 'src-alias'], ['username_key', 'src-alias-destination'], ['password_key', 'src-link']] as const) {
      const source = field === 'username_key' ? at(fakes.clear!, 'postgresql', name, 'src-password') : at(fakes.clear!, 'postgresql', 'src-user', name);
      for (const [what, call] of calls(platform, source)) {
        const answer = await call();
        answers.push(answer);
        assert.equal(envelope(answer, 403, `${what} ${name}`), notAllowed(field, name), 'the same words as a refused name');
        logs.assertReason(answer.requestId, /the value is a platform secret's value/, `${what} ${name}`);
      }
    }
    assert.equal(fakes.clear!.connections, 0, 'the fake source was never contacted');
    assertNowhere(answers, Object.values(PLATFORM_SECRETS));
  });
});

describe('a source that asks for a readable password gets none', () => {
  const cases = () =>
    [
      ['postgresql, clear text', at(fakes.clear!, 'postgresql'), fakes.clear!, /asked for the password in clear text/],
      ['postgresql, MD5', at(fakes.md5!, 'postgresql'), fakes.md5!, /asked for the password as MD5/],
      ['mysql, mysql_clear_password', at(fakes.myClear!, 'mysql'), fakes.myClear!, /asked for the password in clear text \(mysql_clear_password\)/],
      ['mysql, caching_sha2_password full authentication (RSA with the server\'s key)', at(fakes.mySha2!, 'mysql'), fakes.mySha2!, /caching_sha2_password full authentication/],
    ] as const;

  test('502 naming the source and SOURCE_ALLOW_INSECURE_PASSWORD_AUTH; the fake receives nothing', async () => {
    const answers: Answer[] = [];
    for (const [name, source, fake, asked] of cases()) {
      for (const [what, call] of calls(platform, source)) {
        const answer = await call();
        answers.push(answer);
        const detail = envelope(answer, 502, `${name} ${what}`);
        assert.match(detail, asked, name);
        assert.ok(detail.includes(`${source.type} source ${source.host_url}:${source.port}/research`), `names the source: ${detail}`);
        assert.match(detail, /SOURCE_ALLOW_INSECURE_PASSWORD_AUTH=true/, name);
        assert.match(detail, /it was not sent/, name);
      }
      assert.ok(fake.connections > 0, `${name}: the fake was asked (the refusal came from it)`);
      assertNothingReceived(fake);
    }
    assertNowhere(answers, [PASSWORD]);
  });

  test('with SOURCE_ALLOW_INSECURE_PASSWORD_AUTH=true the fakes do receive it (the test sees a leak), but never a platform secret', async () => {
    const allowing = await startPlatform({ env: { ...DESTINATION_ENV, SOURCE_ALLOW_INSECURE_PASSWORD_AUTH: 'true' } });
    try {
      await writeAll(allowing, { ...PLATFORM_SECRETS, 'src-user': 'reader', 'src-password': PASSWORD });
      for (const [name, source, fake] of cases()) {
        const before = fake.passwords.length;
        const answer = await allowing.post(allowing.publish, '/data-publish/validate', accessRequest(source));
        assert.match(envelope(answer, 502, name), /rejected the credentials/, name);
        const received = fake.passwords.slice(before);
        if (name.includes('MD5')) assert.match(received[0] ?? '', /^md5[0-9a-f]{32}$/, name);
        else assert.deepEqual(received, [PASSWORD], name);
      }
      const refused = await allowing.post(allowing.publish, '/data-publish/validate', accessRequest(at(fakes.clear!, 'postgresql', 'src-user', 'publishserviceapikey')));
      envelope(refused, 403, 'a platform secret, even with the setting');
      assert.ok(!fakes.clear!.passwords.includes(keys.publish));
    } finally {
      await allowing.close();
    }
  });

  test('Databricks client secrets go over HTTPS only: an http:// workspace is a 422 naming host_url, before any secret is read', async () => {
    const databricks = {
      name: 'dbx', type: 'databrickssql', host_url: `http://127.0.0.1:${fakes.clear!.port}`, http_path: '/sql/1.0/warehouses/abc', port: fakes.clear!.port, catalog: 'research',
      credentials: { provider: 'AzureKeyVault', spn_clientid: 'src-user', spn_secret: 'src-password' },
    };
    const connections = fakes.clear!.connections;
    const answer = await platform.post(platform.publish, '/data-publish/validate', { ...accessRequest(at(fakes.clear!, 'postgresql')), source: databricks });
    assert.match(envelope(answer, 422, 'http://'), /host_url.*https/);
    assert.equal(fakes.clear!.connections, connections);
  });

  test('SCRAM and trust are not affected: the real PostgreSQL answers', async () => {
    const answer = await platform.post(platform.metadata, '/metadata/project', transferRequest(sqlSource('postgresql', pgDb.database, { usernameKey: 'src-pg-user', passwordKey: 'src-pg-password' }), dataset('public')));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  });
});

describe('over TLS with a verified certificate the password may be asked for in clear text', () => {
  let dir: string;
  let tlsFakes: { pg: FakePostgres; my: FakeMysql };

  before(async () => {
    const material = await testTls();
    dir = await mkdtemp(path.join(os.tmpdir(), 'cr8tor-srccred-'));
    await writeFile(path.join(dir, 'ca.pem'), material.ca);
    tlsFakes = { pg: await startFakePostgres('cleartext', { tls: material }), my: await startFakeMysql('mysql_clear_password', { tls: material }) };
  });

  after(async () => {
    await tlsFakes?.pg.stop();
    await tlsFakes?.my.stop();
    await rm(dir, { recursive: true, force: true });
  });

  for (const [mode, verified] of [['verify-full', true], ['require', false]] as const) {
    test(`SOURCE_POSTGRESQL_SSLMODE / SOURCE_MYSQL_SSLMODE=${mode}: ${verified ? 'sent, inside TLS' : 'refused: TLS whose certificate is not checked proves nothing'}`, async () => {
      const p = await startPlatform({ env: { SOURCE_POSTGRESQL_SSLMODE: mode, SOURCE_MYSQL_SSLMODE: mode, SOURCE_TLS_CA_FILE: path.join(dir, 'ca.pem') } });
      try {
        await writeAll(p, { 'src-user': 'reader', 'src-password': PASSWORD });
        for (const [type, fake, setting] of [['postgresql', tlsFakes.pg, 'SOURCE_POSTGRESQL_SSLMODE=verify-full'], ['mysql', tlsFakes.my, 'SOURCE_MYSQL_SSLMODE=verify-full']] as const) {
          const before = fake.passwords.length;
          // By name: the certificate is checked against "localhost", while the socket dials the address checked for it.
          const answer = await p.post(p.publish, '/data-publish/validate', accessRequest({ ...at(fake, type), host_url: 'localhost' }));
          const detail = envelope(answer, 502, `${type} ${mode}`);
          if (verified) {
            assert.match(detail, /rejected the credentials/, type);
            assert.deepEqual(fake.passwords.slice(before), [PASSWORD], type);
          } else {
            assert.ok(detail.includes(setting), `${type}: names ${setting}: ${detail}`);
            assert.equal(fake.passwords.length, before, `${type}: nothing received`);
          }
          assert.equal(fake.encrypted.at(-1), true, `${type}: the login travelled inside TLS`);
        }
      } finally {
        await p.close();
      }
    });
  }
});

describe('SOURCE_SECRET_NAME_PATTERN', () => {
  test('names outside the pattern are refused before any lookup; names inside work', async () => {
    const narrowed = await startPlatform({ env: { SOURCE_SECRET_NAME_PATTERN: 'src-[a-z0-9-]+' } });
    try {
      await writeAll(narrowed, { 'src-pg-user': pgSettings.user, 'src-pg-password': pgSettings.password, 'pg-user': pgSettings.user, 'src-user': 'reader', 'src-password': PASSWORD });
      const ok = await narrowed.post(narrowed.metadata, '/metadata/project', transferRequest(sqlSource('postgresql', pgDb.database, { usernameKey: 'src-pg-user', passwordKey: 'src-pg-password' }), dataset('public')));
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      for (const name of ['pg-user', 'SRC-PG-USER', 'src_pg_user', 'xsrc-pg-user', 'no-such-secret']) {
        const answer = await narrowed.post(narrowed.metadata, '/metadata/project', transferRequest(sqlSource('postgresql', pgDb.database, { usernameKey: name, passwordKey: 'src-pg-password' }), dataset('public')));
        // 'no-such-secret' exists nowhere: still 403, so the answer says nothing about which secrets exist.
        assert.equal(envelope(answer, 403, name), notAllowed('username_key', name));
      }
    } finally {
      await narrowed.close();
    }
  });

  test('an invalid expression, or one that a platform secret matches, stops start-up with one line naming the setting', () => {
    assert.throws(() => connectorOptionsFromEnv({ SOURCE_SECRET_NAME_PATTERN: 'src-[' }), (e: unknown) => e instanceof ConfigError && /^Invalid setting SOURCE_SECRET_NAME_PATTERN: not a valid regular expression/.test(e.message));
    assert.throws(() => connectorOptionsFromEnv({ SOURCE_SECRET_NAME_PATTERN: '.*' }), (e: unknown) => e instanceof ConfigError && /matches the platform's own secret 'approvalserviceapikey'/.test(e.message));
    assert.throws(
      () => connectorOptionsFromEnv({ SOURCE_SECRET_NAME_PATTERN: '[a-z-]+-password', DESTINATION_OPAL_PASSWORD_SECRET_NAME: 'opal-password' }),
      (e: unknown) => e instanceof ConfigError && /'opal-password'/.test(e.message),
    );
    assert.equal(connectorOptionsFromEnv({ SOURCE_SECRET_NAME_PATTERN: 'src-[a-z0-9-]+' }).secretPolicy?.pattern?.test('src-a-b'), true);
  });
});

describe('with secrets in Azure Key Vault', () => {
  let kv: KeyVaultDouble;
  let vaulted: Platform;

  before(async () => {
    kv = await startKeyVaultDouble();
    for (const [name, value] of Object.entries(PLATFORM_SECRETS)) kv.setSecret(name, value);
    kv.setSecret('src-pg-user', pgSettings.user);
    kv.setSecret('src-pg-password', pgSettings.password || 'trust-ignores-it');
    kv.setSecret('src-alias', keys.metadata);
    const secrets = new KeyVaultSecretProvider(kv.vaultUrl, kv.credential, { clientOptions: kv.clientOptions });
    vaulted = await startPlatform({ env: DESTINATION_ENV, secrets });
  });

  after(async () => {
    await vaulted?.close();
    await kv?.stop();
  });

  test('a platform secret\'s name in another spelling is refused without asking the vault for it; an alias by value; a source credential works', async () => {
    const connections = fakes.clear!.connections;
    for (const name of ['PublishServiceApiKey', 'destination-password', 'Opal-Readonly-Password']) {
      const answer = await vaulted.post(vaulted.metadata, '/metadata/project', transferRequest(at(fakes.clear!, 'postgresql', 'src-pg-user', name), dataset('public')));
      assert.equal(envelope(answer, 403, name), notAllowed('password_key', name));
      assert.ok(!kv.requests.some((r) => decodeURIComponent(r.path) === `/secrets/${name}/`), `the vault was not asked for ${name}`);
    }
    const alias = await vaulted.post(vaulted.metadata, '/metadata/project', transferRequest(at(fakes.clear!, 'postgresql', 'src-pg-user', 'src-alias'), dataset('public')));
    assert.equal(envelope(alias, 403, 'alias'), notAllowed('password_key', 'src-alias'));
    assert.equal(fakes.clear!.connections, connections, 'the fake source was never contacted');
    const ok = await vaulted.post(vaulted.metadata, '/metadata/project', transferRequest(sqlSource('postgresql', pgDb.database, { usernameKey: 'src-pg-user', passwordKey: 'src-pg-password' }), dataset('public')));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(kv.unexpected, []);
  });
});
