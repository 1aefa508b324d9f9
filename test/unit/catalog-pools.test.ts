/**
 * The catalog pools' own rules, with connections that are plain objects (the
 * integration tests under test/integration/sources/{postgresql,mysql} check
 * the same against real servers): the bound on connections per pool with
 * requests queued in order, a failed open letting a queued request try its
 * own, least recently used eviction, a failed login's eviction by user
 * whatever the password, a connection the server closed never handed out.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CatalogPools, type ConnectionFactory, type SourceIdentity } from '../../lib/connectors/pool/catalog-pools.js';

interface Conn {
  id: number;
  open: boolean;
}

function factory(fail: () => boolean = () => false): ConnectionFactory<Conn> & { opened: Conn[] } {
  const opened: Conn[] = [];
  return {
    opened,
    async open() {
      await new Promise((r) => setImmediate(r));
      if (fail()) throw new Error('refused');
      const c = { id: opened.length + 1, open: true };
      opened.push(c);
      return c;
    },
    async destroy(c) {
      c.open = false;
    },
    usable: (c) => c.open,
  };
}

const who = (user: string, password = 'pw'): SourceIdentity => ({ type: 'postgresql', host: 'db', port: 5432, database: 'd', user, password });
const settings = { poolsMax: 2, connectionsPerPool: 2, idleMs: 60_000 };

test('requests beyond the bound wait for a connection and get one given back, in order', async () => {
  const pools = new CatalogPools(settings);
  const f = factory();
  const [a, b] = [await pools.acquire(who('u'), f), await pools.acquire(who('u'), f)];
  const order: number[] = [];
  const third = pools.acquire(who('u'), f).then((l) => (order.push(3), l));
  const fourth = pools.acquire(who('u'), f).then((l) => (order.push(4), l));
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(f.opened.length, 2, 'no third connection');
  a.release();
  const c = await third;
  assert.equal(c.connection, a.connection);
  b.discard();
  const d = await fourth;
  assert.deepEqual(order, [3, 4]);
  assert.notEqual(d.connection, b.connection, 'a discarded connection is never handed out');
  assert.equal(b.connection.open, false);
  assert.equal(f.opened.length, 3);
  assert.deepEqual(pools.stats(), { pools: 1, connections: 2 });
  await pools.close();
});

test('a failed open frees its place for a queued request', async () => {
  const pools = new CatalogPools({ ...settings, connectionsPerPool: 1 });
  let failing = true;
  const f = factory(() => failing);
  const first = pools.acquire(who('u'), f);
  const second = pools.acquire(who('u'), f);
  await assert.rejects(first, /refused/);
  failing = false;
  void first.catch(() => undefined);
  const lease = await second;
  assert.equal(lease.connection.open, true);
  lease.release();
  await pools.close();
});

test('the least recently used pool is closed beyond poolsMax, its connections in use when given back', async () => {
  const pools = new CatalogPools(settings);
  const f = factory();
  const a = await pools.acquire(who('a'), f);
  (await pools.acquire(who('b'), f)).release();
  const aConn = a.connection;
  a.release();
  (await pools.acquire(who('a'), f)).release();
  const busyC = await pools.acquire(who('c'), f);
  const b = f.opened[1]!;
  assert.equal(b.open, false, "b's idle connection is closed");
  assert.equal(aConn.open, true);
  assert.deepEqual(pools.stats(), { pools: 2, connections: 2 });
  // a is used again, so c (in use) is now the least recently used.
  (await pools.acquire(who('a'), f)).release();
  (await pools.acquire(who('d'), f)).release();
  assert.equal(busyC.connection.open, true, 'a connection in use is not closed under its request');
  busyC.release();
  assert.equal(busyC.connection.open, false, 'c was evicted while in use: closed when given back');
  await pools.close();
  assert.equal(aConn.open, false);
});

test('a failed login evicts every pool of the user on that database, whatever the password, and no other', async () => {
  const pools = new CatalogPools({ ...settings, poolsMax: 10 });
  const f = factory();
  for (const identity of [who('u', 'one'), who('u', 'two'), who('v', 'one')]) (await pools.acquire(identity, f)).release();
  await pools.evictAccount(who('u', 'wrong'));
  assert.deepEqual(f.opened.map((c) => c.open), [false, false, true]);
  assert.deepEqual(pools.stats(), { pools: 1, connections: 1 });
  await pools.close();
});

test('an idle connection the server closed is not handed out; idle ones close after idleMs', async () => {
  const pools = new CatalogPools({ ...settings, idleMs: 30 });
  const f = factory();
  const first = await pools.acquire(who('u'), f);
  first.release();
  first.connection.open = false;
  const second = await pools.acquire(who('u'), f);
  assert.notEqual(second.connection, first.connection);
  second.release();
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(second.connection.open, false);
  assert.deepEqual(pools.stats(), { pools: 0, connections: 0 });
  await pools.close();
});
