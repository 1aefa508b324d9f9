/**
 * The PostgreSQL destination through the gateway, as the CLI drives it:
 * validate, package into the destination database, publish to OPAL (played by
 * the protocol-level double), over REST and GraphQL. OPAL failing mid-way and
 * a wrong OPAL password give clear errors, a repeat recovers, and no password
 * ever reaches an answer or a log line. Without DESTINATION_* settings the
 * service still runs and a postgresql request is DESTINATION_NOT_CONFIGURED.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { pgAllTypes } from '../../../support/all-types.js';
import { createPgDatabase, pgSettings, type TestPgDatabase } from '../../../support/databases.js';
import { startPgDestinationPlatform, stopPgDestinationTest } from '../../../support/pg-destination.js';
import { startOpalDouble, type OpalDouble } from '../../../support/opal-double.js';
import { startPlatform, type Platform } from '../../../support/platform.js';
import { accessRequest, dataset, publishRequest, sqlSource, transferRequest, writeSourceSecrets } from '../../../support/requests.js';

const START = '20250401_101010';
const SCHEMA = 'pr004_20250401_101010_public';
const DESTINATION = { name: 'TRE', type: 'PostgreSQL', format: 'SQL' };
const RO_PASSWORD = 'Ro-e2e-password#5';

let platform: Platform;
let source: TestPgDatabase;
let dest: TestPgDatabase;
let opal: OpalDouble;
const logLines: string[] = [];
const role = `cr8tor_e2e_ro_${randomBytes(4).toString('hex')}`;

const project = { project_start_time: START };
const packageBody = () => ({ ...transferRequest(sqlSource('postgresql', source.database), dataset('public', ['all_types', 'person']), project), destination: DESTINATION });
const publishBody = () => ({ ...publishRequest(project), destination: DESTINATION });

before(async () => {
  source = await createPgDatabase('pge2e_src');
  dest = await createPgDatabase('pge2e_dst');
  for (const sql of pgAllTypes().setup) await source.client.query(sql);
  await source.client.query(`CREATE TABLE person (id bigint PRIMARY KEY, name text NOT NULL); INSERT INTO person VALUES (1, 'Ann'), (2, 'Bob')`);
  await dest.client.query(`CREATE ROLE ${pg.escapeIdentifier(role)} LOGIN`);
  opal = await startOpalDouble();
  platform = await startPgDestinationPlatform({ database: dest.database, role, readonlyPassword: RO_PASSWORD, opal, logLines, env: { DESTINATION_OPAL_NO_SSL_VERIFY: 'false' } });
});

after(() => stopPgDestinationTest({ platform, opal, databases: [source, dest], role }));

describe('postgresql destination through the gateway', () => {
  test('validate checks the destination database and OPAL', async () => {
    opal.clearLog();
    const res = await platform.post(platform.publish, '/data-publish/validate', { ...accessRequest(sqlSource('postgresql', source.database), project), destination: DESTINATION });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.payload, { validation_status: 'success' });
    assert.deepEqual(opal.requests.map((r) => `${r.method} ${r.path}`), ['GET /system/subject-profile/_current']);
  });

  test('package loads the tables and answers their schema-qualified names', async () => {
    const res = await platform.post(platform.gateway, '/project/package', packageBody());
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.payload, {
      destination_type: 'postgresql',
      data_retrieved: [{ table_name: `${SCHEMA}.all_types` }, { table_name: `${SCHEMA}.person` }],
    });
    const { rows } = await dest.client.query(`SELECT count(*)::int AS n FROM ${SCHEMA}.all_types`);
    assert.equal(rows[0].n, 4);
    const asRole = new pg.Client({ ...pgSettings, database: dest.database, user: role, password: 'any' });
    await asRole.connect();
    try {
      assert.deepEqual((await asRole.query(`SELECT name FROM ${SCHEMA}.person ORDER BY id`)).rows, [{ name: 'Ann' }, { name: 'Bob' }]);
    } finally {
      await asRole.end();
    }
  });

  test('publish provisions OPAL and answers the contract fields; again, nothing changes', async () => {
    const res = await platform.post(platform.gateway, '/project/publish', publishBody());
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const expected = ['all_types', 'person'].map((t) => ({
      postgresql_table_name: `${SCHEMA}.${t}`,
      opal_resource_name: `tre_postgresql_${SCHEMA}_${t}`,
      opal_project_name: 'Pr004',
      opal_group_name: 'Pr004_group',
    }));
    assert.deepEqual(res.body.payload, { destination_type: 'postgresql', data_published: expected });
    const state = opal.state();
    assert.deepEqual(state.resources.map((r) => r.name), expected.map((e) => e.opal_resource_name));
    assert.deepEqual(state.groups, [{ name: 'Pr004_group', members: ['dsuser_default'] }]);

    opal.clearLog();
    const again = await platform.post(platform.gateway, '/project/publish', publishBody());
    assert.deepEqual(again.body, res.body);
    assert.deepEqual(opal.state(), state);
    assert.deepEqual(opal.writes(), []);
  });

  test('GraphQL publishProject through the gateway answers the OPAL fields', async () => {
    const res = await platform.graphql(
      platform.gateway,
      'mutation P($r: ProjectPublishRequest!) { publishProject(request: $r) { destinationType dataPublished { filePath postgresqlTableName opalResourceName opalProjectName opalGroupName } } }',
      { r: { projectName: 'Pr004', projectStartTime: START, destination: DESTINATION } },
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.data.publishProject.dataPublished[1], {
      filePath: null,
      postgresqlTableName: `${SCHEMA}.person`,
      opalResourceName: `tre_postgresql_${SCHEMA}_person`,
      opalProjectName: 'Pr004',
      opalGroupName: 'Pr004_group',
    });
  });

  test('OPAL failing mid-way is a clear 502; publishing again completes', async () => {
    const other = { project_name: 'Pr005', project_start_time: START };
    const body = { ...transferRequest(sqlSource('postgresql', source.database), dataset('public', ['person']), other), destination: DESTINATION };
    assert.equal((await platform.post(platform.gateway, '/project/package', body)).status, 200);
    opal.failNext({ method: 'POST', path: /^\/project\/Pr005\/permissions\/resources$/ }, 500);
    const failed = await platform.post(platform.gateway, '/project/publish', { ...publishRequest(other), destination: DESTINATION });
    assert.equal(failed.status, 502, JSON.stringify(failed.body));
    assert.equal(failed.body.status, 'error');
    assert.match(failed.body.payload.detail, /^OPAL failed at step 'grant resources view to group Pr005_group': HTTP 500/);
    assert.ok(!failed.body.payload.detail.includes('127.0.0.1'), 'OPAL is named, not where it is');
    const logged = logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'PostgreSQL destination: publish failed' && l.project === 'Pr005');
    assert.equal(logged?.opal, opal.url, 'the log says where OPAL is');
    assert.equal(logged.database.database, dest.database);
    const ok = await platform.post(platform.gateway, '/project/publish', { ...publishRequest(other), destination: DESTINATION });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(
      opal.state().permissions.filter((p) => p.principal === 'Pr005_group').map((p) => p.permission),
      ['DATASHIELD_USE', 'RESOURCES_VIEW'],
    );
    assert.deepEqual(opal.state().users, [{ name: 'dsuser_default', authenticationType: 'PASSWORD', groups: ['Pr004_group', 'Pr005_group'], enabled: true }]);
  });

  test('a wrong OPAL password fails validate and publish clearly, without the password', async () => {
    const wrong = 'Wrong-opal-pw#3';
    await platform.writeSecret('opal-password', wrong);
    try {
      const validate = await platform.post(platform.publish, '/data-publish/validate', { ...accessRequest(sqlSource('postgresql', source.database), project), destination: DESTINATION });
      assert.equal(validate.status, 503, JSON.stringify(validate.body));
      const publish = await platform.post(platform.gateway, '/project/publish', publishBody());
      assert.equal(publish.status, 503, JSON.stringify(publish.body));
      for (const res of [validate, publish]) {
        assert.match(res.body.payload.detail, /rejected the credentials of user 'administrator' \(password from secret 'opal-password'\) at step 'check credentials': HTTP 401/);
        assert.ok(!JSON.stringify(res.body).includes(wrong));
      }
    } finally {
      await platform.writeSecret('opal-password', opal.password);
    }
  });

  test('no password appears in any answer or log line', async () => {
    const userPassword = opal.passwordOf('dsuser_default');
    assert.ok(userPassword);
    const everything = logLines.join('\n');
    assert.ok(logLines.length > 0);
    for (const secret of [userPassword, opal.password, RO_PASSWORD, 'Wrong-opal-pw#3']) {
      assert.ok(!everything.includes(secret), 'not in the logs');
    }
    assert.ok(everything.includes('OPAL: creating user in group'), 'provisioning steps are logged');
    assert.deepEqual(opal.unexpected, []);
  });
});

describe('without DESTINATION_* settings', () => {
  test('the service runs and a postgresql request is DESTINATION_NOT_CONFIGURED', async () => {
    const bare = await startPlatform();
    try {
      await writeSourceSecrets(bare, 'postgresql');
      const res = await bare.post(bare.gateway, '/project/package', packageBody());
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.match(res.body.payload.detail, /Destination type 'postgresql' is not configured on this service; configured: filestore\./);
    } finally {
      await bare.close();
    }
  });
});
