/**
 * System catalogs are never data (issue #11, item 6): metadata and extraction
 * refuse a source's own bookkeeping (PostgreSQL pg_* and information_schema,
 * MySQL/MariaDB mysql, information_schema, performance_schema and sys, SQL
 * Server sys and INFORMATION_SCHEMA, Databricks' `system` catalog and every
 * information_schema) with a 422 naming the schema, before any query: the
 * sources and doubles see no connection, no statement, no request. Before the
 * fix, `pg_catalog.pg_authid` and `mysql.user` packaged password hashes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { clearTokenCache } from '../../../lib/connectors/databricks/token.js';
import { createMysqlDatabase, type TestMysqlDatabase } from '../../support/databases.js';
import { DatabricksDouble, SERVICE_PRINCIPAL, databricksSource } from '../../support/databricks/index.js';
import { startFakeMysql, type FakeMysql } from '../../support/fake-mysql.js';
import { startFakePostgres, type FakePostgres } from '../../support/fake-postgres.js';
import { startPlatform, type Answer, type Platform } from '../../support/platform.js';
import { dataset, sqlSource, transferRequest, type SqlSourceBody } from '../../support/requests.js';
import { writeFourSourceSecrets } from '../../support/source-secrets.js';
import { mssqlSource, startTdsDouble, type StartedTds } from '../../support/tds/index.js';

let platform: Platform;
let myDb: TestMysqlDatabase;
let tds: StartedTds;
let dbx: DatabricksDouble;
/** Servers that would answer a connection by asking for the password: a connection shows as a 502, and in their count. */
let fakePg: FakePostgres;
let fakeMy: FakeMysql;
/** Every statement a connector sent. */
const statements: string[] = [];

before(async () => {
  clearTokenCache();
  myDb = await createMysqlDatabase('syscat');
  await myDb.conn.query('CREATE TABLE person (person_id INT)');
  fakePg = await startFakePostgres('cleartext');
  fakeMy = await startFakeMysql('mysql_clear_password');
  tds = await startTdsDouble([{ name: 'research', snapshotIsolation: true, schemas: { dbo: [{ name: 'person', columns: [{ name: 'id', type: 'int' }], rows: [[1]] }] } }]);
  dbx = await new DatabricksDouble({
    clients: { [SERVICE_PRINCIPAL.clientId]: SERVICE_PRINCIPAL.clientSecret },
    catalogs: [{ name: 'system', schemas: { access: { tables: [] } } }, { name: 'research', schemas: { cohort: { tables: [] } } }],
  }).start();
  platform = await startPlatform({ connectorOptions: { tlsCa: `${tds.ca}\n${dbx.ca}`, connectTimeoutMs: 3000, onQuery: (sql) => void statements.push(sql) } });
  await writeFourSourceSecrets(platform);
});

after(async () => {
  await platform?.close();
  await fakePg?.stop();
  await fakeMy?.stop();
  await tds?.double.close();
  await dbx?.close();
  await myDb?.drop();
});

/** Metadata, and a package (extraction), for the source and dataset, through the gateway and straight to the subgraphs. */
function attempts(source: SqlSourceBody, schema: string | null, tables: string[]): Array<[string, () => Promise<Answer>]> {
  const body = transferRequest(source, dataset(schema, tables), { project_start_time: '20250601_000001' });
  return [
    ['gateway /project/validate', () => platform.post(platform.gateway, '/project/validate', body)],
    ['gateway /project/package', () => platform.post(platform.gateway, '/project/package', body)],
    ['metadata /metadata/project', () => platform.post(platform.metadata, '/metadata/project', body)],
    ['publish /data-publish/package', () => platform.post(platform.publish, '/data-publish/package', body)],
  ];
}

/** Asserts a 422 naming the schema (or catalog) for every attempt, with no statement sent. */
async function assertRefused(source: SqlSourceBody, schema: string | null, tables: string[], named: RegExp): Promise<void> {
  const sent = statements.length;
  for (const [what, attempt] of attempts(source, schema, tables)) {
    const answer = await attempt();
    assert.equal(answer.status, 422, `${what} ${schema}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.status, 'error');
    assert.match(answer.body.payload.detail, named, what);
    assert.match(answer.body.payload.detail, /is a system catalog, not data/, what);
  }
  assert.deepEqual(statements.slice(sent), [], 'no statement reached the source');
}

describe('PostgreSQL: pg_* and information_schema', () => {
  for (const [schema, table] of [['pg_catalog', 'pg_authid'], ['information_schema', 'tables'], ['pg_toast', 'pg_toast_1255'], ['pg_temp_1', 'x'], ['pg_toast_temp_1', 'x'], ['pg_anything', 'x']] as const) {
    test(`${schema}.${table}: 422 naming the schema, and no connection`, async () => {
      const at = (host: string, port: number) => sqlSource('postgresql', 'postgres', { host, port });
      // The fake would ask for the password: a connection would show as a 502 and in its count.
      await assertRefused(at(fakePg.host, fakePg.port), schema, [table], new RegExp(`^Schema '${schema}' on the postgresql source`));
      assert.equal(fakePg.connections, 0);
    });
  }

  test('a schema that only resembles one is data (PostgreSQL names are case-sensitive): it is looked up', async () => {
    const answer = await platform.post(platform.metadata, '/metadata/project', transferRequest(sqlSource('postgresql', 'postgres'), dataset('PG_CATALOG', ['pg_authid'])));
    assert.equal(answer.status, 404, JSON.stringify(answer.body));
    assert.match(answer.body.payload.detail, /Schema 'PG_CATALOG' not found/);
  });
});

describe('MySQL and MariaDB: mysql, information_schema, performance_schema, sys, in any case', () => {
  for (const [schema, table] of [['mysql', 'user'], ['MySQL', 'user'], ['information_schema', 'TABLES'], ['PERFORMANCE_SCHEMA', 'threads'], ['sys', 'x'], ['Sys', 'x']] as const) {
    test(`${schema}.${table}: 422 naming the schema, and no connection`, async () => {
      await assertRefused(sqlSource('mysql', 'research', { host: fakeMy.host, port: fakeMy.port }), schema, [table], new RegExp(`^Schema '${schema}' on the mysql source`));
      assert.equal(fakeMy.connections, 0);
    });
  }

  test('without schema_name, a source database that is a system schema is refused too (the default schema is the database)', async () => {
    await assertRefused(sqlSource('mysql', 'mysql'), null, ['user'], /^Schema 'mysql' on the mysql source/);
    await assertRefused(sqlSource('mysql', 'Information_Schema'), null, [], /^Schema 'Information_Schema'/);
  });

  test('an ordinary database answers (control)', async () => {
    const answer = await platform.post(platform.metadata, '/metadata/project', transferRequest(sqlSource('mysql', myDb.database), dataset(null, ['person'])));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  });
});

describe('SQL Server: sys and INFORMATION_SCHEMA, in any case', () => {
  for (const schema of ['sys', 'SYS', 'INFORMATION_SCHEMA', 'information_schema']) {
    test(`${schema}: 422 naming the schema; the double sees no connection and no query`, async () => {
      await assertRefused(mssqlSource(tds.double, 'research'), schema, ['sql_logins'], new RegExp(`^Schema '${schema}' on the mssql source`));
      assert.equal(tds.double.accepted, 0);
      assert.deepEqual(tds.double.requests, []);
    });
  }
});

describe('Databricks: the system catalog and information_schema', () => {
  const source = (catalog: string) => databricksSource(dbx, catalog) as unknown as SqlSourceBody;
  for (const [catalog, schema, named] of [['system', 'access', /^Catalog 'system'/], ['SYSTEM', 'access', /^Catalog 'SYSTEM'/], ['research', 'information_schema', /^Schema 'information_schema'/], ['research', 'Information_Schema', /^Schema 'Information_Schema'/]] as const) {
    test(`${catalog}.${schema}: 422 naming it; the workspace double sees no request, not even for a token`, async () => {
      await assertRefused(source(catalog), schema, ['audit'], named);
      assert.deepEqual(dbx.requests, []);
      assert.deepEqual(dbx.tokenRequests, []);
    });
  }
});
