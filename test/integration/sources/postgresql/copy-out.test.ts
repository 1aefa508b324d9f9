/**
 * The COPY TO STDOUT parser that takes the protocol's framing off in place
 * (lib/connectors/postgresql/copy-out.ts) against pg-copy-streams' own, on the
 * real PostgreSQL seen through a proxy that re-cuts the server's bytes at
 * random places (so message headers and rows split across chunks at every
 * kind of position), with notices between the rows, an error in the middle
 * of a copy, and the connection reused after each.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { Readable } from 'node:stream';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { copyOut } from '../../../../lib/connectors/postgresql/copy-out.js';
import { createPgDatabase, pgSettings, type TestPgDatabase } from '../../../support/databases.js';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** A TCP proxy to PostgreSQL that forwards the server's bytes in pieces of 1–`most` bytes, a turn of the event loop apart. */
async function startRecutProxy(most: number): Promise<{ port: number; stop(): Promise<void> }> {
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    client.setNoDelay(true);
    const upstream = net.connect(pgSettings.port, pgSettings.host);
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    let queue = Promise.resolve();
    upstream.on('data', (data: Buffer) => {
      upstream.pause();
      queue = queue.then(async () => {
        for (let i = 0; i < data.length;) {
          const size = 1 + Math.floor(random() * most);
          client.write(data.subarray(i, i + size));
          i += size;
          await new Promise((resolve) => setImmediate(resolve));
        }
        upstream.resume();
      });
    });
    const close = () => { client.destroy(); upstream.destroy(); };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('COPY TO STDOUT with the framing taken off in place', { timeout: 300_000 }, () => {
  let db: TestPgDatabase;
  let proxy: Awaited<ReturnType<typeof startRecutProxy>>;
  let client: pg.Client;

  before(async () => {
    db = await createPgDatabase('cr8t_copyout');
    await db.client.query(`CREATE TABLE t AS SELECT g AS id, repeat(md5(g::text), g % 5) AS txt,
      CASE WHEN g % 7 = 0 THEN NULL ELSE E'tab\\there\\nline "q" \\\\' || g END AS esc, g % 3 = 0 AS b
      FROM generate_series(1, 4000) g`);
    await db.client.query(`CREATE FUNCTION noisy(n int) RETURNS int LANGUAGE plpgsql AS $$
      BEGIN IF n % 100 = 0 THEN RAISE NOTICE 'row %', n; END IF; RETURN n; END $$`);
    proxy = await startRecutProxy(23);
    client = new pg.Client({ ...pgSettings, port: proxy.port, database: db.database });
    await client.connect();
  });

  after(async () => {
    await client?.end().catch(() => undefined);
    await proxy?.stop();
    await db?.drop();
  });

  const statements: [string, number][] = [
    ['COPY t TO STDOUT', 4000],
    ['COPY (SELECT noisy(id), txt, esc FROM t ORDER BY id) TO STDOUT', 4000],
    ['COPY (SELECT * FROM t WHERE false) TO STDOUT', 0],
    ["COPY (SELECT repeat('x', 200000) || g FROM generate_series(1, 3) g) TO STDOUT", 3],
  ];
  for (const [sql, rows] of statements) {
    test(`${sql}: the bytes pg-copy-streams reads, and the row count`, async () => {
      const ours = client.query(copyOut(sql));
      const actual = await readAll(ours);
      const countAtEnd = ours.rowCount;
      const theirs = db.client.query(copyTo(sql));
      const expected = await readAll(theirs);
      assert.ok(actual.equals(expected), `${actual.length} bytes against ${expected.length}`);
      // Known when the stream ends, however the closing messages were cut.
      assert.equal(countAtEnd, rows);
      // The connection is pg's again.
      assert.equal((await client.query('SELECT 41 + 1 AS n')).rows[0].n, 42);
    });
  }

  test('an error in the middle of the copy fails the stream; the connection goes on', async () => {
    const stream = client.query(copyOut('COPY (SELECT id, 1 / (id - 3000) FROM t ORDER BY id) TO STDOUT'));
    await assert.rejects(readAll(stream), /division by zero/);
    assert.equal((await client.query('SELECT 41 + 1 AS n')).rows[0].n, 42);
  });
});
