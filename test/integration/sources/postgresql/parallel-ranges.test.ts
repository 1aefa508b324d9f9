/**
 * Reading one PostgreSQL table over several connections in block ranges of
 * one exported snapshot (SOURCE_POSTGRESQL_PARALLEL_CONNECTIONS): the bytes
 * are those of a single-connection read, every connection sees the snapshot's
 * rows (not rows changed since), and a reader that gives up releases them all.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { sourceSchema, type SqlSourceConfig } from '../../../../lib/contract/index.js';
import type { ColumnInfo } from '../../../../lib/connectors/connector.js';
import { PostgresConnector } from '../../../../lib/connectors/postgresql/connector.js';
import { blockRanges, RANGE_BLOCKS } from '../../../../lib/connectors/postgresql/snapshot.js';
import { createPgDatabase, pgSettings, type TestPgDatabase } from '../../../support/databases.js';
import { readRowAligned } from '../../../support/csv-text.js';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

describe('PostgreSQL reads in block ranges over several connections', () => {
  let db: TestPgDatabase;
  const queries: string[] = [];
  const connectors: PostgresConnector[] = [];
  let columns: ColumnInfo[];

  function connector(parallel: number): PostgresConnector {
    const config = sourceSchema.parse({
      type: 'postgresql', host_url: pgSettings.host, port: pgSettings.port, database: db.database,
      credentials: { provider: 'AzureKeyVault', username_key: 'pg-user', password_key: 'pg-password' },
    }) as SqlSourceConfig;
    const c = new PostgresConnector(config, { username: pgSettings.user, password: pgSettings.password }, { onQuery: (sql) => queries.push(sql) }, 'disable', parallel);
    connectors.push(c);
    return c;
  }

  async function activeBackends(): Promise<number> {
    const { rows } = await db.client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'cr8tor-publisher'",
    );
    return rows[0]!.n;
  }

  before(async () => {
    db = await createPgDatabase('cr8t_ranges');
    // About 3,000 blocks: six ranges; values of the kinds the transform rewrites, NULLs, quoting.
    await db.client.query(`
      CREATE TABLE big (id bigint, flag boolean, at timestamptz, note text, pad text);
      INSERT INTO big SELECT g, CASE WHEN g % 3 = 0 THEN NULL ELSE g % 2 = 0 END,
        timestamptz '2020-01-01 00:00+00' + g * interval '1.25 seconds',
        CASE g % 4 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN E'a,"b"\\nc' ELSE 'n' || g END,
        repeat(md5(g::text), 4)
      FROM generate_series(1, 120000) g;
      CREATE TABLE small (id integer);
      INSERT INTO small SELECT generate_series(1, 10);
      CREATE VIEW big_view AS SELECT * FROM big;
      ANALYZE big;`);
    columns = (await connector(1).getColumns('public', ['big'])).get('big')!;
  });

  after(async () => {
    for (const c of connectors) await c.close();
    await db?.drop();
  });

  test('the ranges cover the table: whole when small or single, open-ended last', () => {
    assert.deepEqual(blockRanges(5000, 1), [{ from: 0 }]);
    assert.deepEqual(blockRanges(2 * RANGE_BLOCKS - 1, 4), [{ from: 0 }]);
    assert.deepEqual(blockRanges(2 * RANGE_BLOCKS, 2), [{ from: 0, to: RANGE_BLOCKS }, { from: RANGE_BLOCKS }]);
    assert.deepEqual(blockRanges(1000, 3, 300), [{ from: 0, to: 300 }, { from: 300, to: 600 }, { from: 600, to: 900 }, { from: 900 }]);
  });

  test('two and three connections write the bytes one connection writes, and the snapshot\'s rows only', async () => {
    const single = await connector(1).snapshot();
    const two = await connector(2).snapshot();
    const three = await connector(3).snapshot();
    // Changed after every snapshot began; the other connections open only at the first read.
    await db.client.query("DELETE FROM big WHERE id % 5 = 0; UPDATE big SET note = 'changed' WHERE id % 7 = 0; INSERT INTO big SELECT g, true, now(), 'new', 'x' FROM generate_series(200001, 230000) g");
    queries.length = 0;
    try {
      const expected = await readAll(single.csv('public', 'big', columns));
      assert.equal(single.rowsRead('public', 'big'), 120000);
      assert.ok(!queries.some((q) => q.includes('ctid')), 'one connection reads the table whole');
      queries.length = 0;
      const fromTwo = await readAll(two.csv('public', 'big', columns));
      assert.ok(queries.filter((q) => q.includes('ctid')).length >= 6, 'read in ranges');
      assert.equal(queries.filter((q) => q.includes('SET TRANSACTION SNAPSHOT')).length, 1);
      assert.equal(fromTwo.length, expected.length);
      assert.ok(fromTwo.equals(expected), 'two connections: the same bytes');
      assert.equal(two.rowsRead('public', 'big'), 120000);
      // Each range's rows come whole: the stream keeps its row-aligned mark.
      const fromThree = await readRowAligned(three.csv('public', 'big', columns));
      assert.ok(Buffer.from(fromThree.text).equals(expected), 'three connections: the same bytes');
      // A second table on the same snapshot reuses the connections opened for the first.
      queries.length = 0;
      assert.ok((await readAll(three.csv('public', 'big', columns))).equals(expected));
      assert.equal(queries.filter((q) => q.includes('SET TRANSACTION SNAPSHOT')).length, 0);
    } finally {
      await Promise.all([single.close(), two.close(), three.close()]);
    }
  });

  test('small tables and views are read on one connection', async () => {
    const snapshot = await connector(2).snapshot();
    queries.length = 0;
    try {
      assert.equal((await readAll(snapshot.csv('public', 'small', [columns[0]!]))).toString(), `id\n${Array.from({ length: 10 }, (_, i) => i + 1).join('\n')}\n`);
      const view = await readAll(snapshot.csv('public', 'big_view', columns));
      assert.ok(view.length > 0);
      assert.ok(!queries.some((q) => q.includes('ctid')));
      assert.ok(!queries.some((q) => q.includes('SET TRANSACTION SNAPSHOT')));
    } finally {
      await snapshot.close();
    }
  });

  test('a reader that gives up mid-table releases every connection', async () => {
    const before = await activeBackends();
    const c = connector(3);
    const snapshot = await c.snapshot();
    const stream = snapshot.csv('public', 'big', columns);
    await new Promise<void>((resolve, reject) => {
      stream.once('data', () => resolve());
      stream.once('error', reject);
    });
    assert.equal(await activeBackends(), before + 3);
    stream.destroy();
    await snapshot.close();
    await c.close();
    for (let i = 0; i < 50 && (await activeBackends()) > before; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await activeBackends(), before);
  });
});
