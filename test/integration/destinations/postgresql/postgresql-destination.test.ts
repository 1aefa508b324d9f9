/**
 * Packaging into the PostgreSQL destination against real databases (see
 * test/support/pg-destination-harness.ts): every value of every logical type
 * arrives (compared in canonical form, re-extracted from the destination),
 * faithful column types, keys and comments, from a PostgreSQL and a MariaDB
 * source; packaging again replaces the schema; names PostgreSQL would cut and
 * the platform's own schema are refused; the read-only grants as a real role.
 * Failed loads are in postgresql-load-failures.test.ts, readiness in
 * postgresql-readiness.test.ts, publication in postgresql-publish.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { ColumnInfo } from '../../../../lib/connectors/connector.js';
import { AppError } from '../../../../lib/errors.js';
import { loadSchema } from '../../../../subgraphs/publish/src/destinations/postgresql/loader.js';
import { mysqlAllTypes } from '../../../support/all-types.js';
import { createMysqlDatabase, pgSettings, type TestMysqlDatabase } from '../../../support/databases.js';
import { DESTINATION, PROJECT, RO_PASSWORD, START, TARGET, assertSameRows, canonical, columnTypes, dest, destinationFor, mysqlConnector, packageFrom, pgCase, pgConnector, primaryKey, queries, readonlyRole, registryRows, rows, schemas, settings, setUpPgDestination, source, tearDownPgDestination, textStream } from '../../../support/pg-destination-harness.js';

before(() => setUpPgDestination());
after(() => tearDownPgDestination());

describe('package to PostgreSQL', () => {
  test('every value of every logical type arrives, with faithful types, keys, comments and NOT NULL', async () => {
    const c = pgConnector(source.database);
    queries.length = 0;
    try {
      const result = await packageFrom(c, 'public', ['all_types', 'person', 'visit']);
      assert.deepEqual(result.data_retrieved, [{ table_name: `${TARGET}.all_types` }, { table_name: `${TARGET}.person` }, { table_name: `${TARGET}.visit` }]);
      assert.deepEqual(result.warnings, []);
    } finally {
      await c.close();
    }
    assertSameRows(await canonical(TARGET, 'all_types'), pgCase, 'all_types');
    assert.deepEqual(await canonical(TARGET, 'person'), [['id', 'name', 'note'], ['1', 'Ann', 'said "hi", left'], ['2', 'Bob', ''], ['3', 'Zoë 🚀', null]]);
    assert.deepEqual(await columnTypes(TARGET, 'all_types'), [
      'integer', 'smallint', 'integer', 'bigint', 'numeric(12,2)', 'numeric(38,10)', 'numeric', 'real', 'double precision', 'boolean',
      'text', 'character varying(20)', 'character varying(5)', 'date', 'time without time zone', 'time with time zone',
      'timestamp without time zone', 'timestamp with time zone', 'interval', 'uuid', 'jsonb', 'jsonb', 'bytea',
      'integer[]', 'text[]', 'timestamp with time zone[]', 'text', 'text', 'text', 'text', 'text',
    ]);
    const info = await rows(`SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'visit' ORDER BY ordinal_position`, [TARGET]);
    assert.deepEqual(info.map((r) => [r.column_name, r.data_type, r.is_nullable]), [
      ['id', 'integer', 'NO'], ['person_id', 'bigint', 'NO'], ['site', 'character varying', 'YES'], ['amount', 'numeric', 'YES'],
    ]);
    assert.deepEqual(await primaryKey(TARGET, 'all_types'), ['id']);
    assert.deepEqual(await primaryKey(TARGET, 'visit'), ['person_id', 'id'], 'a composite key keeps its order');
    const notNull = await rows(`SELECT is_nullable FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'person' AND column_name = 'name'`, [TARGET]);
    assert.equal(notNull[0]!.is_nullable, 'NO');
    const comments = await rows(`SELECT obj_description($1::regclass, 'pg_class') AS t, col_description($1::regclass, 2) AS c`, [`${TARGET}.person`]);
    assert.deepEqual(comments[0], { t: 'People seen', c: 'Full name' });
    const arrays = await rows(`SELECT c_int_array::text AS a, c_text_array::text AS t, c_text_array[1] AS first FROM ${TARGET}.all_types WHERE id = 1`);
    assert.deepEqual(arrays[0], { a: '{1,2,NULL}', t: '{"a,b","c\\"d",NULL,Zoë}', first: 'a,b' });
    assert.deepEqual(await schemas(), ['cr8tor_publisher', TARGET], 'no temporary schema is left; the registry is beside the data');
    assert.deepEqual(await registryRows(), [{ schema_name: TARGET, project_key: 'pr004', project_name: PROJECT, start_time: START, source_schema: 'public' }]);
    // Two transactions: the first load creates the registry in a short one of its own; then the load's.
    const begins = queries.flatMap((q, i) => (q === 'BEGIN' ? [i] : []));
    assert.equal(begins.length, 2);
    const registryTx = queries.slice(begins[0], queries.indexOf('COMMIT', begins[0]) + 1);
    assert.ok(registryTx.some((q) => /^CREATE TABLE "cr8tor_publisher"\.loads/.test(q)), registryTx.join('\n'));
    // The load: create under a temporary name, COPY from STDIN, convert, key, grant, then check the owner, swap and record.
    const load = queries.slice(begins[1]);
    assert.equal(load.at(-1), 'COMMIT');
    assert.equal(load.filter((q) => q === 'COMMIT').length, 1);
    const order = [/^SELECT pg_advisory_xact_lock/, /^SELECT project_name, .* FOR UPDATE$/, /^DROP SCHEMA/, /^ALTER SCHEMA .* RENAME/, /^INSERT INTO "cr8tor_publisher"\.loads/, /^COMMIT$/];
    const tail = load.map((q) => order.findIndex((o) => o.test(q))).filter((i) => i >= 0);
    assert.deepEqual(tail, [0, 1, 2, 3, 4, 5], load.slice(-8).join('\n'));
    const copies = queries.filter((q) => q.startsWith('COPY'));
    assert.equal(copies.length, 3);
    for (const copy of copies) assert.match(copy, /^COPY "cr8tor_loading_[0-9a-f]+"\."\w+" \(.+\) FROM STDIN WITH \(FORMAT csv, HEADER true\)$/);
    assert.ok(queries.some((q) => /^ALTER TABLE .*"all_types" ALTER COLUMN "c_int_array" TYPE integer\[\] USING pg_temp\.cr8tor_array_text/.test(q)), 'arrays are converted once after the load');
    assert.ok(queries.some((q) => /^DROP SCHEMA IF EXISTS "pr004_20250205_010101_public" CASCADE$/.test(q)));
    assert.ok(queries.some((q) => /^ALTER SCHEMA "cr8tor_loading_[0-9a-f]+" RENAME TO "pr004_20250205_010101_public"$/.test(q)));
  });

  test('values ISO 8601 cannot spell, and a lone \\. line, load as the source held them', async () => {
    const c = pgConnector(source.database);
    try {
      await packageFrom(c, 'public', ['beyond_iso', 'lone'], { startTime: '20250206_000000' });
    } finally {
      await c.close();
    }
    const schema = 'pr004_20250206_000000_public';
    const text = async (client: pg.Client, table: string) => {
      const [, result] = (await client.query(`SET TIME ZONE 'UTC'; SELECT string_agg(t::text, ';' ORDER BY t::text) AS d FROM ${table} t`)) as unknown as pg.QueryResult[];
      return result!.rows[0].d as string;
    };
    assert.equal(await text(dest.client, `${schema}.beyond_iso`), await text(source.client, 'beyond_iso'));
    assert.match(await text(dest.client, `${schema}.beyond_iso`), /infinity.*BC.*10000-01-01/s);
    const lone = await rows(`SELECT v FROM ${schema}.lone ORDER BY v NULLS LAST`);
    assert.deepEqual(lone.map((r) => r.v), ['', '\\.', null]);
  });

  test('a MariaDB source: every value arrives, in faithful PostgreSQL types', async (t) => {
    let my: TestMysqlDatabase;
    try {
      my = await createMysqlDatabase('pgdst_my');
    } catch (error) {
      t.skip(`no MariaDB/MySQL here: ${(error as Error).message}`);
      return;
    }
    try {
      const [version] = (await my.conn.query('SELECT VERSION() AS v')) as unknown as [Array<{ v: string }>];
      const myCase = mysqlAllTypes(/mariadb/i.test(version[0]!.v) ? 'mariadb' : 'mysql');
      for (const sql of myCase.setup) await my.conn.query(sql);
      const c = mysqlConnector(my.database);
      try {
        await packageFrom(c, null, ['all_types'], { startTime: '20250207_000000' });
      } finally {
        await c.close();
      }
      const schema = `pr004_20250207_000000_${my.database}`;
      assertSameRows(await canonical(schema, 'all_types'), myCase, 'MariaDB all_types');
      const types = await columnTypes(schema, 'all_types');
      const byName = new Map(myCase.columns.map((col, i) => [col.name, types[i]]));
      assert.equal(byName.get('c_utinyint'), 'smallint');
      assert.equal(byName.get('c_uint'), 'bigint');
      assert.equal(byName.get('c_ubigint'), 'numeric(20,0)');
      assert.equal(byName.get('c_decimal_wide'), 'numeric(38,10)');
      assert.equal(byName.get('c_bit1'), 'boolean');
      assert.equal(byName.get('c_datetime'), 'timestamp without time zone');
      assert.equal(byName.get('c_timestamp'), 'timestamp with time zone');
      assert.equal(byName.get('c_blob'), 'bytea');
      assert.equal(byName.get('c_enum'), 'text');
      assert.deepEqual(await primaryKey(schema, 'all_types'), ['id']);
    } finally {
      await my.drop();
    }
  });

  test('packaging again replaces the schema: only the second package remains', async () => {
    const startTime = '20250301_000000';
    const schema = 'pr004_20250301_000000_public';
    const c = pgConnector(source.database);
    try {
      await packageFrom(c, 'public', ['person', 'visit'], { startTime });
      await source.client.query(`INSERT INTO person VALUES (4, 'Dee', 'new')`);
      const second = await packageFrom(c, 'public', [{ name: 'person', columns: ['name', 'id'] }], { startTime });
      assert.deepEqual(second.data_retrieved, [{ table_name: `${schema}.person` }]);
      assert.deepEqual(second.warnings, []);
    } finally {
      await source.client.query(`DELETE FROM person WHERE id = 4`);
      await c.close();
    }
    assert.deepEqual(await canonical(schema, 'person'), [['name', 'id'], ['Ann', '1'], ['Bob', '2'], ['Zoë 🚀', '3'], ['Dee', '4']]);
    const tables = await rows(`SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1`, [schema]);
    assert.deepEqual(tables.map((r) => r.tablename), ['person'], 'visit, not in the second package, is gone');
    assert.deepEqual(await primaryKey(schema, 'person'), ['id'], 'the key is kept: every key column was loaded (in another order)');
  });

  test('a key column left out drops the key, with a warning', async () => {
    const c = pgConnector(source.database);
    try {
      const result = await packageFrom(c, 'public', [{ name: 'visit', columns: ['site', 'id'] }], { startTime: '20250302_000000' });
      assert.deepEqual(result.warnings, ["The primary key of table 'visit' is not kept: its column(s) person_id were not extracted."]);
    } finally {
      await c.close();
    }
    assert.deepEqual(await primaryKey('pr004_20250302_000000_public', 'visit'), []);
  });

  test("the platform's own registry schema is never a load's target", async () => {
    const client = new pg.Client({ ...pgSettings, database: dest.database });
    await client.connect();
    try {
      const before = await registryRows(true);
      const table = { name: 'person', description: null, columns: [{ name: 'id', nullable: true, description: null, logical: { kind: 'int32' } }] as unknown as ColumnInfo[], primaryKey: [], csv: () => textStream('id\n1\n') };
      await assert.rejects(
        loadSchema(client, { target: 'cr8tor_publisher', owner: { project: PROJECT, startTime: START, sourceSchema: 'public' }, readonlyRole, swapLockTimeoutMs: 1000, tables: [table] }),
        (e: unknown) => e instanceof AppError && e.code === 'INVALID_REQUEST' && /Schema 'cr8tor_publisher' is the platform's own/.test(e.detail),
      );
      assert.deepEqual(await registryRows(true), before);
    } finally {
      await client.end();
    }
  });

  test('names PostgreSQL would cut are refused before anything is written', async () => {
    const c = pgConnector(source.database);
    try {
      await assert.rejects(
        packageFrom(c, 'public', ['person'], { project: 'P'.repeat(46) }),
        (error: unknown) => error instanceof AppError && error.code === 'INVALID_REQUEST' && /schema name '.*' is 69 bytes long; .* at most 63/.test(error.detail),
      );
    } finally {
      await c.close();
    }
  });

  test('the read-only role reads every loaded table and can change nothing', async () => {
    const asRole = new pg.Client({ ...pgSettings, database: dest.database, user: readonlyRole, password: RO_PASSWORD });
    await asRole.connect();
    try {
      const { rows: r } = await asRole.query(`SELECT (SELECT count(*) FROM ${TARGET}.person)::int AS p, (SELECT count(*) FROM ${TARGET}.all_types)::int AS a, (SELECT count(*) FROM ${TARGET}.visit)::int AS v`);
      assert.deepEqual(r[0], { p: 3, a: 4, v: 3 });
      await assert.rejects(asRole.query(`INSERT INTO ${TARGET}.person VALUES (9, 'x', null)`), /permission denied/);
      await assert.rejects(asRole.query(`CREATE TABLE ${TARGET}.mine (x int)`), /permission denied/);
    } finally {
      await asRole.end();
    }
  });

  test('a missing read-only role is DESTINATION_NOT_READY, for readiness and for packaging', async () => {
    const other = destinationFor({ ...settings, readonlyUsername: 'no_such_role_here' });
    await assert.rejects(other.checkReady(DESTINATION), (e: unknown) => e instanceof AppError && e.code === 'DESTINATION_NOT_READY' && /read-only role 'no_such_role_here'/.test(e.detail));
    const c = pgConnector(source.database);
    try {
      await assert.rejects(packageFrom(c, 'public', ['person'], { target: other, startTime: '20250303_000000' }), (e: unknown) => e instanceof AppError && e.code === 'DESTINATION_NOT_READY');
    } finally {
      await c.close();
    }
  });
});
