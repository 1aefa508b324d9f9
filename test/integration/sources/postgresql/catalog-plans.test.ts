/**
 * The catalog's prepared statements run on generic plans (issue #16, item 5:
 * "prepared where the driver allows"): a catalog connection sets
 * `plan_cache_mode = force_generic_plan`, so the column query is planned once
 * per connection, not on every call. Read on the server, in the session that
 * ran the statements (`pg_prepared_statements` counts its generic and custom
 * plans).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sourceSchema, type SqlSourceConfig } from '../../../../lib/contract/index.js';
import { PostgresConnector } from '../../../../lib/connectors/postgresql/connector.js';
import { resolveDataset } from '../../../../lib/connectors/catalog.js';
import { AppError } from '../../../../lib/errors.js';
import { createPgDatabase, pgSettings, type TestPgDatabase } from '../../../support/databases.js';

/** The connector, with a way to ask its catalog session a question. */
class Inspectable extends PostgresConnector {
  ask<R extends Record<string, unknown>>(sql: string): Promise<R[]> {
    return this.query<R>(sql);
  }
}

let db: TestPgDatabase;

function testSource(): SqlSourceConfig {
  return sourceSchema.parse({
    type: 'postgresql', host_url: pgSettings.host, port: pgSettings.port, database: db.database,
    credentials: { provider: 'AzureKeyVault', username_key: 'pg-user', password_key: 'pg-password' },
  }) as SqlSourceConfig;
}

/** A connector on the test database, and the SQL texts it sends. */
function counting(): { c: PostgresConnector; queries: string[] } {
  const queries: string[] = [];
  const c = new PostgresConnector(testSource(), { username: pgSettings.user, password: pgSettings.password }, { onQuery: (sql) => void queries.push(sql) });
  return { c, queries };
}

before(async () => {
  db = await createPgDatabase('cr8t_plans');
  await db.client.query('CREATE TABLE person (id bigint PRIMARY KEY, name text, born date); CREATE TABLE visit (id bigint, person_id bigint, at timestamptz)');
});

after(async () => {
  await db?.drop();
});

test('catalog statements are planned once per connection (generic plans), and answer as before', async () => {
  const c = new Inspectable(testSource(), { username: pgSettings.user, password: pgSettings.password });
  try {
    assert.deepEqual(await c.ask('SHOW plan_cache_mode'), [{ plan_cache_mode: 'force_generic_plan' }]);
    for (let i = 0; i < 8; i++) {
      const columns = await c.getColumns('public', ['person', 'visit']);
      assert.deepEqual(columns.get('person')?.map((col) => `${col.name}:${col.datatype}:${col.primaryKey}`), ['id:bigint:1', 'name:text:null', 'born:date:null']);
      assert.deepEqual((await c.schemaTables('public'))?.map((t) => t.name), ['person', 'visit']);
      assert.deepEqual((await c.schemaTables('public', ['visit']))?.map((t) => [t.name, t.columns?.length]), [['visit', 3]]);
    }
    const plans = await c.ask<{ name: string; generic_plans: string; custom_plans: string }>(
      "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements WHERE name LIKE 'cr8tor\\_%' ORDER BY name",
    );
    assert.deepEqual(plans.map((p) => [p.name, Number(p.generic_plans), Number(p.custom_plans)]), [
      ['cr8tor_describe_named_tables', 8, 0],
      ['cr8tor_list_columns', 8, 0],
      ['cr8tor_list_tables', 8, 0],
    ]);
  } finally {
    await c.close();
  }
});

test('a schema and its tables are read in one round trip; a missing schema and an empty one are told apart', async () => {
  await db.client.query('CREATE SCHEMA empty_one');
  const { c, queries } = counting();
  try {
    const before = queries.length;
    assert.deepEqual((await c.schemaTables('public'))?.map((t) => t.name), ['person', 'visit']);
    assert.equal(queries.length - before, 1, 'the schema and its tables: one query');
    // Read afresh when asked again.
    assert.deepEqual((await c.schemaTables('public'))?.map((t) => t.name), ['person', 'visit']);
    assert.equal(queries.length - before, 2);
    assert.deepEqual(await c.schemaTables('empty_one'), [], 'a schema without tables exists');
    assert.equal(await c.schemaTables('no_such_schema'), null);
    assert.equal(queries.length - before, 4);
  } finally {
    await c.close();
  }
});

test('a request naming its tables reads the catalog rows of those alone; refusing a missing one reads the whole list for the message', async () => {
  const { c, queries } = counting();
  try {
    await c.ping();
    queries.length = 0;
    const named = await c.schemaTables('public', ['visit', 'person', 'nope']);
    assert.deepEqual(
      named?.map((t) => [t.name, t.description, t.columns?.map((col) => `${col.name}:${col.datatype}:${col.primaryKey}`)]),
      [['person', null, ['id:bigint:1', 'name:text:null', 'born:date:null']], ['visit', null, ['id:bigint:null', 'person_id:bigint:null', 'at:timestamp with time zone:null']]],
      'the named tables that exist, each with its columns, in name order',
    );
    assert.deepEqual(named?.[0]?.columns, (await c.getColumns('public', ['person'])).get('person'), 'the same columns as getColumns reads');
    queries.length = 0;
    assert.deepEqual(await c.schemaTables('public', ['nope']), [], 'the schema exists; none of the named tables does');
    assert.equal(await c.schemaTables('no_such_schema', ['visit']), null);
    assert.equal(queries.length, 2, 'one query each');

    queries.length = 0;
    const resolved = await resolveDataset(c, { schema_name: 'public', tables: [{ name: 'visit' }] });
    assert.deepEqual(resolved.tables.map((t) => [t.name, t.columns.map((col) => col.name)]), [['visit', ['id', 'person_id', 'at']]]);
    assert.equal(queries.length, 1, 'the named table with its columns: one round trip');

    queries.length = 0;
    await assert.rejects(resolveDataset(c, { schema_name: 'public', tables: [{ name: 'visit' }, { name: 'nope' }] }), (error: unknown) => {
      assert.ok(error instanceof AppError && error.code === 'TABLE_NOT_FOUND');
      assert.match(error.message, /^Table 'nope' not found in schema 'public' .* Available tables: 'person', 'visit'\.$/);
      return true;
    });
    assert.equal(queries.length, 2, 'the named tables with their columns, then the whole list for the message');
  } finally {
    await c.close();
  }
});
