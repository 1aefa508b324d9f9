/**
 * The metadata service's catalog pools on SQL Server, against the TDS double
 * (the real tedious client): one login serves request after request, other
 * credentials log in on their own, and a failed login closes the user's pools.
 * The double counts logins and open connections.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { datasetSchema, sourceSchema, type SqlSourceConfig } from '../../../../lib/contract/index.js';
import { CatalogPools, resolveDataset } from '../../../../lib/connectors/index.js';
import { MssqlConnector } from '../../../../lib/connectors/mssql/connector.js';
import { failure } from '../../../support/app-error.js';
import { settle } from '../../../support/metadata-pool.js';
import { MSSQL_LOGIN, mssqlSource, startTdsDouble, type StartedTds } from '../../../support/tds/index.js';
import { researchDatabase } from '../../../support/tds/research-db.js';

const OTHER = { user: 'other_reader', password: 'Other-Passw0rd!' };

describe('SQL Server catalog pools', () => {
  let started: StartedTds;

  before(async () => {
    started = await startTdsDouble([researchDatabase('research', true)], { logins: { [MSSQL_LOGIN.user]: MSSQL_LOGIN.password, [OTHER.user]: OTHER.password } });
  });

  after(async () => {
    await started.double.close();
    assert.deepEqual(started.double.unexpected, [], 'the double understood every statement');
  });

  async function describeAs(pools: CatalogPools, username: string, password: string): Promise<string[]> {
    const source = sourceSchema.parse(mssqlSource(started.double, 'research')) as SqlSourceConfig;
    const c = new MssqlConnector(source, { username, password }, { catalogPools: pools }, {}, started.ca);
    try {
      return (await resolveDataset(c, datasetSchema.parse({ name: 'pool', schema_name: 'dbo', tables: [] }))).tables.map((t) => t.name);
    } finally {
      await c.close();
    }
  }

  const logins = () => started.double.logins.filter((l) => l.accepted).length;

  test('one login serves request after request; other credentials log in on their own; a failed login closes the pools of the user', async () => {
    const pools = new CatalogPools({ poolsMax: 10, connectionsPerPool: 2, idleMs: 60_000 });
    const before = logins();
    const tables = await describeAs(pools, MSSQL_LOGIN.user, MSSQL_LOGIN.password);
    assert.ok(tables.length > 0);
    await describeAs(pools, MSSQL_LOGIN.user, MSSQL_LOGIN.password);
    await describeAs(pools, MSSQL_LOGIN.user, MSSQL_LOGIN.password);
    assert.equal(logins() - before, 1, 'one login for three requests');
    assert.equal(started.double.openConnections, 1);

    await describeAs(pools, OTHER.user, OTHER.password);
    assert.equal(logins() - before, 2, 'another login has a connection of its own');
    assert.deepEqual(pools.stats(), { pools: 2, connections: 2 });

    assert.equal((await failure(describeAs(pools, MSSQL_LOGIN.user, 'not-the-password'))).code, 'SOURCE_AUTH_FAILED');
    assert.deepEqual(pools.stats(), { pools: 1, connections: 1 }, "the user's pool is closed; the other user's stays");
    assert.equal(await settle(async () => started.double.openConnections, (n) => n === 1), 1);
    await pools.close();
    assert.equal(await settle(async () => started.double.openConnections, (n) => n === 0), 0);
  });
});
