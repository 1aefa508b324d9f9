/**
 * The metadata service's catalog connection pools on MariaDB/MySQL (issue #16,
 * item 5), as for PostgreSQL: connections reused (the same server thread
 * serves request after request), idle ones closed, pools and connections per
 * pool bounded, other credentials never sharing a connection, a failed login
 * closing every pool of the user so a rotated password takes effect at once,
 * SOURCE_ALLOWED_HOSTS still refusing. Sessions are observed on the server
 * (information_schema.PROCESSLIST), by the test users this file creates.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CatalogPools, SourceHosts, type CatalogPoolSettings } from '../../../../lib/connectors/index.js';
import { failure } from '../../../support/app-error.js';
import { createMysqlDatabase, type TestMysqlDatabase } from '../../../support/databases.js';
import { describeWith, LoginSecrets, settle } from '../../../support/metadata-pool.js';
import { sqlSource, type SqlSourceBody } from '../../../support/requests.js';

const SETTINGS: CatalogPoolSettings = { poolsMax: 10, connectionsPerPool: 2, idleMs: 60_000 };

describe('MySQL catalog pools', () => {
  let db: TestMysqlDatabase;
  let secrets: LoginSecrets;
  const users: string[] = [];

  before(async () => {
    db = await createMysqlDatabase('cr8t_pool');
    await db.conn.query('CREATE TABLE person (id integer PRIMARY KEY, name text); CREATE TABLE visit (id integer)');
    secrets = await LoginSecrets.create();
  });

  after(async () => {
    for (const user of users) await db.conn.query(`DROP USER IF EXISTS '${user}'@'%'`).catch(() => undefined);
    await db?.drop();
    await secrets?.remove();
  });

  /** A login of this test with `password`, allowed to read the test database, dropped at the end. */
  async function user(password: string): Promise<string> {
    const name = `cr8t_pool_${Math.random().toString(36).slice(2, 10)}`;
    await db.conn.query(`CREATE USER '${name}'@'%' IDENTIFIED BY '${password}'`);
    await db.conn.query(`GRANT SELECT ON \`${db.database}\`.* TO '${name}'@'%'`);
    users.push(name);
    return name;
  }

  /** The user's sessions on the server, by thread id. */
  async function sessions(name: string): Promise<number[]> {
    const [rows] = await db.conn.query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ? ORDER BY ID', [name]);
    return (rows as Array<{ id: number | string }>).map((r) => Number(r.id));
  }

  async function sourceAs(secret: string, name: string, password: string): Promise<SqlSourceBody> {
    return { ...sqlSource('mysql', db.database), credentials: await secrets.write(secret, name, password) };
  }

  test('one server thread serves request after request, and closing the pools ends it', async () => {
    const pools = new CatalogPools(SETTINGS);
    const name = await user('reuse-pw-1');
    const source = await sourceAs('reuse', name, 'reuse-pw-1');
    assert.deepEqual(await describeWith(source, db.database, secrets, pools), ['person', 'visit']);
    const first = await sessions(name);
    assert.equal(first.length, 1);
    for (let i = 0; i < 3; i++) {
      await describeWith(source, db.database, secrets, pools);
      assert.deepEqual(await sessions(name), first, 'the same thread, not a new one');
    }
    assert.deepEqual(pools.stats(), { pools: 1, connections: 1 });
    await pools.close();
    assert.deepEqual(await settle(() => sessions(name), (s) => s.length === 0), []);
  });

  test('an idle connection is closed after the idle time, and its pool forgotten', async () => {
    const pools = new CatalogPools({ ...SETTINGS, idleMs: 200 });
    const name = await user('idle-pw-1');
    await describeWith(await sourceAs('idle', name, 'idle-pw-1'), db.database, secrets, pools);
    assert.equal((await sessions(name)).length, 1);
    assert.deepEqual(await settle(() => sessions(name), (s) => s.length === 0), []);
    assert.deepEqual(pools.stats(), { pools: 0, connections: 0 });
    await pools.close();
  });

  test('a pool holds at most its connections, however many requests come at once', async () => {
    const pools = new CatalogPools(SETTINGS);
    const name = await user('bound-pw-1');
    const source = await sourceAs('bounded', name, 'bound-pw-1');
    const answers = await Promise.all(Array.from({ length: 8 }, () => describeWith(source, db.database, secrets, pools)));
    assert.ok(answers.every((a) => a.join() === 'person,visit'));
    assert.ok((await sessions(name)).length <= SETTINGS.connectionsPerPool, `at most ${SETTINGS.connectionsPerPool} sessions`);
    await pools.close();
    await settle(() => sessions(name), (s) => s.length === 0);
  });

  test('beyond SOURCE_METADATA_POOLS_MAX, the least recently used pool is closed with its connections', async () => {
    const pools = new CatalogPools({ ...SETTINGS, poolsMax: 2 });
    const [a, b, c] = [await user('lru-pw'), await user('lru-pw'), await user('lru-pw')];
    const [sa, sb, sc] = [await sourceAs('lru-a', a, 'lru-pw'), await sourceAs('lru-b', b, 'lru-pw'), await sourceAs('lru-c', c, 'lru-pw')];
    await describeWith(sa, db.database, secrets, pools);
    await describeWith(sb, db.database, secrets, pools);
    await describeWith(sa, db.database, secrets, pools);
    const aSession = await sessions(a);
    await describeWith(sc, db.database, secrets, pools);
    assert.deepEqual(await settle(() => sessions(b), (s) => s.length === 0), [], "b's pool and its connection are closed");
    assert.deepEqual(await sessions(a), aSession, "a's connection stays");
    assert.equal((await sessions(c)).length, 1);
    assert.deepEqual(pools.stats(), { pools: 2, connections: 2 });
    await pools.close();
  });

  test('other credentials never share a connection', async () => {
    const pools = new CatalogPools(SETTINGS);
    const [a, b] = [await user('share-pw-a'), await user('share-pw-b')];
    await describeWith(await sourceAs('share-a', a, 'share-pw-a'), db.database, secrets, pools);
    await describeWith(await sourceAs('share-b', b, 'share-pw-b'), db.database, secrets, pools);
    assert.equal((await sessions(a)).length, 1);
    assert.equal((await sessions(b)).length, 1);
    // A wrong password for a is refused, not served from a's connection.
    assert.equal((await failure(describeWith(await sourceAs('share-a-wrong', a, 'not-the-password'), db.database, secrets, pools))).code, 'SOURCE_AUTH_FAILED');
    await pools.close();
  });

  test('a failed login closes every pool of the user, so a rotated password takes effect at once', async () => {
    const pools = new CatalogPools(SETTINGS);
    const name = await user('old-secret-1');
    const oldSource = await sourceAs('rot-old', name, 'old-secret-1');
    await describeWith(oldSource, db.database, secrets, pools);
    const before = await sessions(name);
    assert.equal(before.length, 1);
    await db.conn.query(`ALTER USER '${name}'@'%' IDENTIFIED BY 'new-secret-2'`);
    // Until a login fails (or the idle time passes), the connection logged in before the change still serves the old password.
    await describeWith(oldSource, db.database, secrets, pools);
    assert.equal((await failure(describeWith(await sourceAs('rot-wrong', name, 'wrong-secret'), db.database, secrets, pools))).code, 'SOURCE_AUTH_FAILED');
    assert.deepEqual(await settle(() => sessions(name), (s) => s.length === 0), [], 'the old password\'s connection is closed');
    assert.equal((await failure(describeWith(oldSource, db.database, secrets, pools))).code, 'SOURCE_AUTH_FAILED');
    await describeWith(await sourceAs('rot-new', name, 'new-secret-2'), db.database, secrets, pools);
    assert.deepEqual(pools.stats(), { pools: 1, connections: 1 });
    await pools.close();
  });

  test('SOURCE_ALLOWED_HOSTS still refuses a source, and no pool is kept for it', async () => {
    const pools = new CatalogPools(SETTINGS);
    const name = await user('refused-pw');
    const refused = describeWith(await sourceAs('refused', name, 'refused-pw'), db.database, secrets, pools, { sourceHosts: SourceHosts.parse('db.example.org') });
    assert.equal((await failure(refused)).code, 'SOURCE_NOT_ALLOWED');
    assert.deepEqual(pools.stats(), { pools: 0, connections: 0 });
    assert.deepEqual(await sessions(name), []);
    await pools.close();
  });
});
