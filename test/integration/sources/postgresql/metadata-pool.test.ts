/**
 * The metadata service's catalog connection pools on PostgreSQL (issue #16,
 * item 5): connections reused across requests (the same backend serves them),
 * idle ones closed, the number of pools and of connections per pool bounded
 * (the least recently used pool closed with its connections), a connection
 * never handed to a request with other credentials, a failed login closing
 * every pool of that user so a rotated password takes effect at once, and
 * SOURCE_ALLOWED_HOSTS still refusing. Sessions are observed on the server
 * (pg_stat_activity), not taken from the pool's word.
 */
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { CatalogPools, SourceHosts, type CatalogPoolSettings } from '../../../../lib/connectors/index.js';
import { failure } from '../../../support/app-error.js';
import { createPgDatabase, dropPgRole, pgSettings, type TestPgDatabase } from '../../../support/databases.js';
import { describeWith, LoginSecrets, settle } from '../../../support/metadata-pool.js';
import { startPasswordPostgres, type PasswordPostgres } from '../../../support/password-postgres.js';
import { startPlatform } from '../../../support/platform.js';
import { dataset, sqlSource, transferRequest, writeSourceSecrets, type SqlSourceBody } from '../../../support/requests.js';

const SETTINGS: CatalogPoolSettings = { poolsMax: 10, connectionsPerPool: 2, idleMs: 60_000 };

describe('PostgreSQL catalog pools', () => {
  let db: TestPgDatabase;
  let secrets: LoginSecrets;
  const roles: string[] = [];

  before(async () => {
    db = await createPgDatabase('cr8t_pool');
    await db.client.query('CREATE TABLE person (id integer PRIMARY KEY, name text); CREATE TABLE visit (id integer)');
    secrets = await LoginSecrets.create();
  });

  after(async () => {
    await db?.drop();
    for (const role of roles) await dropPgRole(role);
    await secrets?.remove();
  });

  /** The publisher's sessions on the test database, as the server lists them (by user when given). */
  async function sessions(user = pgSettings.user): Promise<number[]> {
    const { rows } = await db.client.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND usename = $2 AND application_name = 'cr8tor-publisher' ORDER BY pid",
      [db.database, user],
    );
    return rows.map((r) => r.pid);
  }

  /** A source on the test database logging in as `user` with `password` (the machine's server trusts loopback, so any password logs in). */
  async function sourceAs(name: string, user = pgSettings.user, password = pgSettings.password): Promise<SqlSourceBody> {
    return { ...sqlSource('postgresql', db.database), credentials: await secrets.write(name, user, password) };
  }

  /** A login role of this test, dropped at the end. */
  async function role(): Promise<string> {
    const name = `cr8t_pool_${Math.random().toString(36).slice(2, 10)}`;
    await db.client.query(`CREATE ROLE ${pg.escapeIdentifier(name)} LOGIN`);
    roles.push(name);
    return name;
  }

  test('one backend serves request after request, and closing the pools ends it', async () => {
    const pools = new CatalogPools(SETTINGS);
    const source = await sourceAs('reuse');
    assert.deepEqual(await describeWith(source, 'public', secrets, pools), ['person', 'visit']);
    const first = await sessions();
    assert.equal(first.length, 1);
    for (let i = 0; i < 3; i++) {
      await describeWith(source, 'public', secrets, pools);
      assert.deepEqual(await sessions(), first, 'the same backend, not a new one');
    }
    assert.deepEqual(pools.stats(), { pools: 1, connections: 1 });
    await pools.close();
    assert.deepEqual(await settle(sessions, (s) => s.length === 0), []);
  });

  test('without pools, each request has a backend of its own, closed after it', async () => {
    const source = await sourceAs('unpooled');
    await describeWith(source, 'public', secrets, undefined);
    assert.deepEqual(await settle(sessions, (s) => s.length === 0), []);
  });

  test('an idle connection is closed after the idle time, and its pool forgotten', async () => {
    const pools = new CatalogPools({ ...SETTINGS, idleMs: 200 });
    await describeWith(await sourceAs('idle'), 'public', secrets, pools);
    assert.equal((await sessions()).length, 1);
    assert.deepEqual(await settle(sessions, (s) => s.length === 0), []);
    assert.deepEqual(pools.stats(), { pools: 0, connections: 0 });
    await pools.close();
  });

  test('a pool holds at most its connections, however many requests come at once', async () => {
    const pools = new CatalogPools(SETTINGS);
    const source = await sourceAs('bounded');
    const answers = await Promise.all(Array.from({ length: 8 }, () => describeWith(source, 'public', secrets, pools)));
    assert.ok(answers.every((a) => a.join() === 'person,visit'));
    assert.ok((await sessions()).length <= SETTINGS.connectionsPerPool, `at most ${SETTINGS.connectionsPerPool} sessions`);
    assert.ok(pools.stats().connections <= SETTINGS.connectionsPerPool);
    await pools.close();
    await settle(sessions, (s) => s.length === 0);
  });

  test('beyond SOURCE_METADATA_POOLS_MAX, the least recently used pool is closed with its connections', async () => {
    const pools = new CatalogPools({ ...SETTINGS, poolsMax: 2 });
    const [a, b, c] = [await role(), await role(), await role()];
    const [sa, sb, sc] = [await sourceAs('lru-a', a), await sourceAs('lru-b', b), await sourceAs('lru-c', c)];
    await describeWith(sa, 'public', secrets, pools);
    await describeWith(sb, 'public', secrets, pools);
    // a is used again, so b is now the least recently used.
    await describeWith(sa, 'public', secrets, pools);
    const aSession = await sessions(a);
    assert.equal(aSession.length, 1);
    await describeWith(sc, 'public', secrets, pools);
    assert.deepEqual(await settle(() => sessions(b), (s) => s.length === 0), [], "b's pool and its connection are closed");
    assert.deepEqual(await sessions(a), aSession, "a's connection stays");
    assert.equal((await sessions(c)).length, 1);
    assert.deepEqual(pools.stats(), { pools: 2, connections: 2 });
    await pools.close();
    await settle(() => sessions(a), (s) => s.length === 0);
    await settle(() => sessions(c), (s) => s.length === 0);
  });

  test('other credentials or another database never share a connection, and no password is kept in the clear', async () => {
    const pools = new CatalogPools(SETTINGS);
    const first = await sourceAs('cred-1', pgSettings.user, 'first-password-1b2c');
    const second = await sourceAs('cred-2', pgSettings.user, 'second-password-3d4e');
    await describeWith(first, 'public', secrets, pools);
    const one = await sessions();
    await describeWith(second, 'public', secrets, pools);
    const two = await sessions();
    assert.equal(two.length, 2, 'a second password has a connection of its own');
    await describeWith(first, 'public', secrets, pools);
    assert.deepEqual(await sessions(), two, 'and the first password its own again');
    assert.ok(two.includes(one[0]!));

    const other = await createPgDatabase('cr8t_pool_other');
    try {
      await describeWith({ ...first, database: other.database }, 'public', secrets, pools);
      assert.deepEqual(await sessions(), two, 'another database opens no connection on this one');
      assert.deepEqual(pools.stats(), { pools: 3, connections: 3 });
      const shown = inspect(pools, { depth: 20, showHidden: true });
      assert.ok(!shown.includes('first-password') && !shown.includes('second-password'), 'the pools hold no password');
      await pools.close();
    } finally {
      await other.drop();
    }
    await settle(sessions, (s) => s.length === 0);
  });

  test('SOURCE_ALLOWED_HOSTS still refuses a source, and no pool is kept for it', async () => {
    const pools = new CatalogPools(SETTINGS);
    assert.equal((await failure(describeWith(await sourceAs('refused'), 'public', secrets, pools, { sourceHosts: SourceHosts.parse('db.example.org') }))).code, 'SOURCE_NOT_ALLOWED');
    assert.deepEqual(pools.stats(), { pools: 0, connections: 0 });
    assert.deepEqual(await sessions(), []);
    await pools.close();
  });

  test('the metadata service pools by default, SOURCE_METADATA_POOL=off does not, and closing the service closes its pools', async () => {
    for (const pool of ['on', 'off']) {
      const platform = await startPlatform({ env: { SOURCE_METADATA_POOL: pool } });
      try {
        await writeSourceSecrets(platform, 'postgresql');
        const source = sqlSource('postgresql', db.database);
        for (let i = 0; i < 2; i++) {
          const res = await platform.post(platform.metadata, '/metadata/project', transferRequest(source, dataset('public')));
          assert.equal(res.status, 200, JSON.stringify(res.body));
        }
        if (pool === 'on') assert.equal((await sessions()).length, 1, 'one connection served both calls and stays');
        else assert.deepEqual(await settle(sessions, (s) => s.length === 0), [], 'each call closed its own');
      } finally {
        await platform.close();
      }
      assert.deepEqual(await settle(sessions, (s) => s.length === 0), [], 'none left once the service has closed');
    }
  });

  describe('with passwords checked', () => {
    let server: PasswordPostgres;
    before(async () => {
      server = await startPasswordPostgres();
    });
    after(async () => {
      await server?.stop();
    });

    test('a failed login closes every pool of the user, so a rotated password takes effect at once', async () => {
      const pools = new CatalogPools(SETTINGS);
      const user = 'rotating';
      await server.query(`CREATE ROLE ${user} LOGIN PASSWORD 'old-secret-1'`);
      const at = (name: string, password: string) =>
        secrets.write(name, user, password).then((credentials): SqlSourceBody => ({ ...sqlSource('postgresql', 'postgres', { host: server.host, port: server.port }), credentials }));
      const oldSource = await at('rot-old', 'old-secret-1');
      assert.deepEqual(await describeWith(oldSource, 'public', secrets, pools), []);
      assert.deepEqual(pools.stats(), { pools: 1, connections: 1 });

      await server.query(`ALTER ROLE ${user} PASSWORD 'new-secret-2'`);
      // Until a login fails (or the idle time passes), the connection logged in before the change still serves the old password.
      assert.deepEqual(await describeWith(oldSource, 'public', secrets, pools), []);
      // A login with a wrong password fails, and closes the old password's pool with it.
      assert.equal((await failure(describeWith(await at('rot-wrong', 'wrong-secret'), 'public', secrets, pools))).code, 'SOURCE_AUTH_FAILED');
      assert.deepEqual(pools.stats(), { pools: 0, connections: 0 });
      // The old password is no longer served from a connection logged in before the change.
      assert.equal((await failure(describeWith(oldSource, 'public', secrets, pools))).code, 'SOURCE_AUTH_FAILED');
      // The rotated one works at once.
      await describeWith(await at('rot-new', 'new-secret-2'), 'public', secrets, pools);
      assert.deepEqual(pools.stats(), { pools: 1, connections: 1 });
      await pools.close();
      await server.query(`DROP ROLE ${user}`).catch(() => undefined);
    });
  });
});
