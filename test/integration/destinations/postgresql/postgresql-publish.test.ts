/**
 * Publication from the PostgreSQL destination to OPAL (the protocol-level
 * double): every table of the project's recorded schemas, and no look-alike,
 * is provisioned, again without a change; no password in the result or the log.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AppError } from '../../../../lib/errors.js';
import { pgSettings } from '../../../support/databases.js';
import { DESTINATION, DEST_PASSWORD, PROJECT, RO_PASSWORD, START, TARGET, dest, destination, logLines, opal, packageFrom, packageTarget, pgConnector, readonlyRole, setUpPgDestination, source, tearDownPgDestination } from '../../../support/pg-destination-harness.js';

before(async () => {
  await setUpPgDestination();
  await packageTarget();
});
after(() => tearDownPgDestination());

describe('publish to OPAL', () => {
  test("finds every table of the project's recorded schemas (not a look-alike nobody recorded), provisions OPAL, and again changes nothing", async () => {
    const c = pgConnector(source.database);
    try {
      await packageFrom(c, 'other', ['extra']);
    } finally {
      await c.close();
    }
    // Schemas of the project's name shape that nobody recorded; and a bookkeeping table the original's loader left.
    await dest.client.query(`CREATE SCHEMA "pr004x20250205_010101_public"; CREATE TABLE "pr004x20250205_010101_public".decoy (x int)`);
    await dest.client.query(`CREATE SCHEMA "pr004_20250205_010101_byhand"; CREATE TABLE "pr004_20250205_010101_byhand".decoy (x int)`);
    await dest.client.query(`CREATE TABLE ${TARGET}._dlt_loads (x int)`);
    opal.clearLog();
    logLines.length = 0;
    const result = await destination.publish({ project: PROJECT, startTime: START, destination: DESTINATION });
    const expected = [
      ['pr004_20250205_010101_other', 'extra'],
      [TARGET, 'all_types'],
      [TARGET, 'person'],
      [TARGET, 'visit'],
    ];
    assert.deepEqual(result.data_published, expected.map(([s, t]) => ({
      postgresql_table_name: `${s}.${t}`,
      opal_resource_name: `tre_postgresql_${s}_${t}`,
      opal_project_name: PROJECT,
      opal_group_name: 'Pr004_group',
    })));
    const state = opal.state();
    assert.deepEqual(state.resources.map((r) => [r.name, r.parameters, r.credentials]), expected.map(([s, t]) => [
      `tre_postgresql_${s}_${t}`,
      { host: pgSettings.host, port: String(pgSettings.port), db: dest.database, table: t, schema: s, driver: 'postgresql' },
      { username: readonlyRole, password: RO_PASSWORD },
    ]));
    assert.deepEqual(state.users.map((u) => [u.name, u.groups]), [['dsuser_default', ['Pr004_group']]]);
    assert.deepEqual(state.permissions.map((p) => [p.node, p.principal, p.permission]), [
      ['/datashield', 'Pr004_group', 'DATASHIELD_USE'],
      ['/project/Pr004/resources', 'Pr004_group', 'RESOURCES_VIEW'],
    ]);
    const userPassword = opal.passwordOf('dsuser_default')!;
    for (const secret of [userPassword, RO_PASSWORD, opal.password, DEST_PASSWORD]) {
      assert.ok(!JSON.stringify(result).includes(secret), 'no password in the result');
      assert.ok(!logLines.join('\n').includes(secret), 'no password in the log');
    }
    assert.ok(logLines.some((l) => l.includes('OPAL: creating resource')), 'provisioning is logged');

    opal.clearLog();
    const again = await destination.publish({ project: PROJECT, startTime: START, destination: DESTINATION });
    assert.deepEqual(again, result);
    assert.deepEqual(opal.state(), state);
    assert.deepEqual(opal.writes(), []);
    assert.deepEqual(opal.unexpected, []);
  });

  test('a project with no tables has nothing to publish', async () => {
    await assert.rejects(
      destination.publish({ project: PROJECT, startTime: '20991231_235959', destination: DESTINATION }),
      (e: unknown) =>
        e instanceof AppError && e.code === 'NOTHING_TO_PUBLISH' &&
        e.detail === "No tables found in the schemas recorded for project 'Pr004' (start time 20991231_235959) in the PostgreSQL destination database. Nothing to publish to OPAL.",
    );
  });
});
