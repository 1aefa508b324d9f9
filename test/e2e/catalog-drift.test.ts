/**
 * Approvals remembered, drift refused (issue #17, item 5), through the real
 * services on real PostgreSQL and MariaDB sources: a validation with a dataset
 * records the tables and columns it approved with their logical types and a
 * fingerprint (answered on `Project.validations`); a package after the source
 * changed (a column added, one dropped, one retyped) is refused with 409
 * CATALOG_DRIFT naming each, through the CLI's REST shim, the publish
 * service's own route, GraphQL and a job started with startPackage alike,
 * with nothing extracted or written;
 * an unchanged catalog, a new table outside the dataset and a re-validation
 * package as before; PACKAGE_ALLOW_CATALOG_DRIFT lets a drifted package run
 * with a warning; PACKAGE_REQUIRE_VALIDATION refuses an unvalidated one; with
 * the platform database the approval outlives a restart.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PACKAGE_PROJECT } from '../../gateway/src/rest/operations.js';
import { approvalFingerprint } from '../../subgraphs/publish/src/approvals/approval.js';
import { createMysqlDatabase, createPgDatabase, pgSettings, type TestMysqlDatabase, type TestPgDatabase } from '../support/databases.js';
import { LogLines } from '../support/log-lines.js';
import { startPlatform, type Platform } from '../support/platform.js';
import { dataset, graphqlInput, sqlSource, transferRequest, writeSourceSecrets, type SqlSourceBody, type TableSpec } from '../support/requests.js';

const GUARD = { timeout: 120_000 };

interface Source {
  type: 'postgresql' | 'mysql';
  body: SqlSourceBody;
  /** The schema a dataset names: public, or the MySQL database. */
  schema: string;
  exec(sql: string): Promise<void>;
  /** One ALTER TABLE: adds `email varchar(100)`, drops `born`, makes `id` a bigint. */
  drift(table: string): string;
  /** Drops `born` and makes `id` a bigint. */
  dropAndRetype(table: string): string;
  drop(): Promise<void>;
}

async function pgSource(): Promise<Source> {
  const db: TestPgDatabase = await createPgDatabase('drift_pg');
  return {
    type: 'postgresql',
    body: sqlSource('postgresql', db.database),
    schema: 'public',
    exec: async (sql) => void (await db.client.query(sql)),
    drift: (t) => `ALTER TABLE "${t}" ADD COLUMN email varchar(100), DROP COLUMN born, ALTER COLUMN id TYPE bigint`,
    dropAndRetype: (t) => `ALTER TABLE "${t}" DROP COLUMN born, ALTER COLUMN id TYPE bigint`,
    drop: () => db.drop(),
  };
}

async function mysqlSource(): Promise<Source> {
  const db: TestMysqlDatabase = await createMysqlDatabase('drift_my');
  return {
    type: 'mysql',
    body: sqlSource('mysql', db.database),
    schema: db.database,
    exec: async (sql) => void (await db.conn.query(sql)),
    drift: (t) => `ALTER TABLE \`${t}\` ADD COLUMN email varchar(100), DROP COLUMN born, MODIFY id bigint NOT NULL`,
    dropAndRetype: (t) => `ALTER TABLE \`${t}\` DROP COLUMN born, MODIFY id bigint NOT NULL`,
    drop: () => db.drop(),
  };
}

const q = (s: Source, name: string) => (s.type === 'mysql' ? `\`${name}\`` : `"${name}"`);

/** A fresh table `name`: id integer, name varchar(50), born date, two rows. */
async function table(s: Source, name: string): Promise<void> {
  await s.exec(`CREATE TABLE ${q(s, name)} (id integer NOT NULL PRIMARY KEY, name varchar(50), born date)`);
  await s.exec(`INSERT INTO ${q(s, name)} VALUES (1, 'Ada', '1815-12-10'), (2, 'Alan', '1912-06-23')`);
}

let startTimes = 0;
/** A project of its own for each case: its own start time, so nothing one case stages meets another. */
function project(): { project_name: string; project_start_time: string } {
  startTimes++;
  return { project_name: 'Drift', project_start_time: `20250401_${String(100000 + startTimes).slice(-6)}` };
}

function body(s: Source, tables: TableSpec[], p: ReturnType<typeof project>) {
  return transferRequest(s.body, dataset(s.schema, tables), p);
}

const driftDetail = (s: Source, p: ReturnType<typeof project>, differences: string) =>
  `The tables and columns of schema '${s.schema}' on the ${s.type} source ${s.body.host_url}:${s.body.port}/${s.body.database} differ from what the validation of project '${p.project_name}' (start time ${p.project_start_time}) approved: ${differences}. Nothing was extracted. Validate the project again to approve the catalog as it is now, or set PACKAGE_ALLOW_CATALOG_DRIFT to package it anyway.`;

const stagingOf = (platform: Platform, p: ReturnType<typeof project>) => path.join(platform.mountDir, 'staging', p.project_name, p.project_start_time);

async function validate(platform: Platform, b: ReturnType<typeof body>): Promise<void> {
  const res = await platform.post(platform.gateway, '/project/validate', b);
  assert.equal(res.status, 200, res.text);
}

const VALIDATIONS = 'query ($n: String!, $t: String!) { project(projectName: $n, projectStartTime: $t) { validations { outcome approval { schemaName tableCount columnCount fingerprint } } } }';

let sources: Source[] = [];
before(async () => {
  sources = [await pgSource(), await mysqlSource()];
});
after(async () => {
  for (const s of sources) await s.drop();
});

describe('a package against what its validation approved (no platform database; default settings)', () => {
  let platform: Platform;
  const logs = new LogLines();
  /** Every statement the services send to a source. */
  const statements: string[] = [];
  before(async () => {
    platform = await startPlatform({ logStream: logs.stream, connectorOptions: { onQuery: (sql) => void statements.push(sql) } });
    await writeSourceSecrets(platform, 'postgresql');
    await writeSourceSecrets(platform, 'mysql');
  });
  after(async () => platform?.close());

  for (const type of ['postgresql', 'mysql'] as const) {
    const src = () => sources.find((s) => s.type === type)!;

    test(`${type}: the validation records what it approved, with a fingerprint of the columns' logical types`, GUARD, async () => {
      const s = src();
      await table(s, 'approved');
      const p = project();
      await validate(platform, body(s, ['approved'], p));
      const res = await platform.graphql(platform.gateway, VALIDATIONS, { n: p.project_name, t: p.project_start_time });
      const fingerprint = approvalFingerprint(s.body.database, s.schema, [
        { name: 'approved', columns: [{ name: 'id', type: 'int32' }, { name: 'name', type: 'text(50)' }, { name: 'born', type: 'date' }] },
      ]);
      assert.deepEqual(res.body, { data: { project: { validations: [{ outcome: 'success', approval: { schemaName: s.schema, tableCount: 1, columnCount: 3, fingerprint } }] } } });
    });

    test(`${type}: validate, add, drop and retype columns, package: 409 naming each, on every face, nothing written`, GUARD, async () => {
      const s = src();
      await table(s, 'drifting');
      const p = project();
      const b = body(s, ['drifting'], p);
      await validate(platform, b);
      await s.exec(s.drift('drifting'));
      const detail = driftDetail(s, p, '3 columns differ (1 added, 1 removed, 1 retyped): drifting.born: removed (date); drifting.email: added (text(100)); drifting.id: int32 → int64');

      const shim = await platform.post(platform.gateway, '/project/package', b);
      assert.equal(shim.status, 409, shim.text);
      assert.deepEqual(shim.body, { status: 'error', payload: { detail } });
      const own = await platform.post(platform.publish, '/data-publish/package', b);
      assert.equal(own.status, 409, own.text);
      assert.deepEqual(own.body, { status: 'error', payload: { detail } });
      const gql = await platform.graphql(platform.gateway, PACKAGE_PROJECT, { request: graphqlInput(b) });
      assert.equal(gql.body.errors?.length, 1, gql.text);
      assert.equal(gql.body.errors[0].extensions.code, 'CATALOG_DRIFT');
      assert.equal(gql.body.errors[0].extensions.status, 409);
      assert.equal(gql.body.errors[0].extensions.detail, detail);
      assert.equal(gql.body.data, null);

      assert.equal(existsSync(stagingOf(platform, p)), false, 'nothing was staged');
      const refused = (await platform.auditEvents()).filter((e) => e.action === 'package' && e.project?.start_time === p.project_start_time);
      assert.equal(refused.length, 3);
      for (const e of refused) assert.equal(e.outcome, 'error');
      assert.ok(refused.every((e) => e.files === undefined && e.tables === undefined), 'no file or table in a refused package');

      // Validated again, the catalog as it is now is approved.
      await validate(platform, b);
      const again = await platform.post(platform.gateway, '/project/package', b);
      assert.equal(again.status, 200, again.text);
    });

    test(`${type}: a package started as a job (startPackage) ends FAILED with the same CATALOG_DRIFT`, GUARD, async () => {
      const s = src();
      await table(s, 'jobbed');
      const p = project();
      const b = body(s, ['jobbed'], p);
      await validate(platform, b);
      await s.exec(s.drift('jobbed'));
      const fields = 'id state error { code status detail }';
      const started = await platform.graphql(platform.gateway, `mutation ($r: ProjectTransferRequest!) { startPackage(request: $r) { ${fields} } }`, { r: graphqlInput(b) });
      assert.equal(started.body.errors, undefined, started.text);
      let job = started.body.data.startPackage;
      for (let i = 0; i < 300 && !['FAILED', 'SUCCEEDED', 'CANCELLED'].includes(job.state); i++) {
        await new Promise((r) => setTimeout(r, 100));
        job = (await platform.graphql(platform.gateway, `query ($id: ID!) { job(id: $id) { ${fields} } }`, { id: job.id })).body.data.job;
      }
      assert.equal(job.state, 'FAILED');
      assert.deepEqual(job.error, {
        code: 'CATALOG_DRIFT',
        status: 409,
        detail: driftDetail(s, p, '3 columns differ (1 added, 1 removed, 1 retyped): jobbed.born: removed (date); jobbed.email: added (text(100)); jobbed.id: int32 → int64'),
      });
      assert.equal(existsSync(stagingOf(platform, p)), false);
    });

    test(`${type}: columns named as the CLI names them after validating: a dropped one is drift (409), not a missing column`, GUARD, async () => {
      const s = src();
      await table(s, 'named');
      const p = project();
      const b = body(s, [{ name: 'named', columns: ['id', 'name', 'born'] }], p);
      await validate(platform, b);
      await s.exec(s.dropAndRetype('named'));
      const res = await platform.post(platform.gateway, '/project/package', b);
      assert.equal(res.status, 409, res.text);
      assert.equal(res.body.payload.detail, driftDetail(s, p, '2 columns differ (1 removed, 1 retyped): named.born: removed (date); named.id: int32 → int64'));
    });

    test(`${type}: an approved table dropped is drift (409, its columns removed), not a missing table`, GUARD, async () => {
      const s = src();
      await table(s, 'kept');
      await table(s, 'gone');
      const p = project();
      const b = body(s, ['kept', 'gone'], p);
      await validate(platform, b);
      await s.exec(`DROP TABLE ${q(s, 'gone')}`);
      const res = await platform.post(platform.publish, '/data-publish/package', b);
      assert.equal(res.status, 409, res.text);
      assert.equal(res.body.payload.detail, driftDetail(s, p, '3 columns differ (3 removed): gone.born: removed (date); gone.id: removed (int32); gone.name: removed (text(50))'));
      // A table never approved and missing is still the 404 it always was.
      const missing = await platform.post(platform.publish, '/data-publish/package', body(s, ['kept', 'never'], p));
      assert.equal(missing.status, 404, missing.text);
      assert.match(missing.body.payload.detail, /^Table 'never' not found/);
    });

    test(`${type}: an unchanged catalog packages; a new table outside the dataset does not matter; one inside it was not approved`, GUARD, async () => {
      const s = src();
      await table(s, 'steady');
      const p = project();
      const b = body(s, ['steady'], p);
      await validate(platform, b);
      await table(s, 'steady_new');
      const res = await platform.post(platform.gateway, '/project/package', b);
      assert.equal(res.status, 200, res.text);
      assert.ok(existsSync(stagingOf(platform, p)));

      const p2 = project();
      await validate(platform, body(s, ['steady'], p2));
      const wider = await platform.post(platform.publish, '/data-publish/package', body(s, ['steady', 'steady_new'], p2));
      assert.equal(wider.status, 409, wider.text);
      assert.equal(
        wider.body.payload.detail,
        driftDetail(s, p2, '3 columns differ (3 added): steady_new.born: added (date); steady_new.id: added (int32); steady_new.name: added (text(50))'),
      );
    });

    test(`${type}: the check costs no statement: a checked package sends the source what an unchecked one does`, GUARD, async () => {
      const s = src();
      await table(s, 'costly');
      const sent = async (route: string, b: unknown) => {
        const from = statements.length;
        const res = await platform.post(platform.publish, route, b);
        assert.equal(res.status, 200, res.text);
        return statements.slice(from);
      };
      const unchecked = await sent('/data-publish/package', body(s, ['costly'], project()));
      const p = project();
      await sent('/data-publish/validate', body(s, ['costly'], p));
      const checked = await sent('/data-publish/package', body(s, ['costly'], p));
      assert.ok(checked.length > 0);
      assert.equal(checked.length, unchecked.length, `checked:\n${checked.join('\n')}\nunchecked:\n${unchecked.join('\n')}`);
    });

    test(`${type}: a project no validation approved a dataset for is packaged, unchecked, with a warning`, GUARD, async () => {
      const s = src();
      await table(s, 'unvalidated');
      const p = project();
      const res = await platform.post(platform.publish, '/data-publish/package', body(s, ['unvalidated'], p));
      assert.equal(res.status, 200, res.text);
      const warned = logs.forRequest(res.requestId).filter((l) => l.catalog_check === 'no approval');
      assert.equal(warned.length, 1, 'one warning that the package was not checked');
      assert.match(warned[0]!.msg, /PACKAGE_REQUIRE_VALIDATION is off/);
    });
  }
});

describe('PACKAGE_ALLOW_CATALOG_DRIFT and PACKAGE_REQUIRE_VALIDATION', () => {
  let platform: Platform;
  const logs = new LogLines();
  before(async () => {
    platform = await startPlatform({ logStream: logs.stream, env: { PACKAGE_ALLOW_CATALOG_DRIFT: 'true', PACKAGE_REQUIRE_VALIDATION: 'true' } });
    await writeSourceSecrets(platform, 'postgresql');
    await writeSourceSecrets(platform, 'mysql');
  });
  after(async () => platform?.close());

  for (const type of ['postgresql', 'mysql'] as const) {
    const src = () => sources.find((s) => s.type === type)!;

    test(`${type}: drift allowed: the package runs, and a warning names each change`, GUARD, async () => {
      const s = src();
      await table(s, 'allowed');
      const p = project();
      const b = body(s, ['allowed'], p);
      await validate(platform, b);
      await s.exec(s.drift('allowed'));
      const res = await platform.post(platform.publish, '/data-publish/package', b);
      assert.equal(res.status, 200, res.text);
      const warned = logs.forRequest(res.requestId).filter((l) => l.catalog_drift);
      assert.equal(warned.length, 1);
      assert.equal(warned[0]!.level, 40);
      assert.equal(warned[0]!.catalog_drift.count, 3);
      assert.match(warned[0]!.msg, /allowed\.born: removed \(date\); allowed\.email: added \(text\(100\)\); allowed\.id: int32 → int64/);
    });

    test(`${type}: validation required: a project nothing was approved for is refused, nothing written`, GUARD, async () => {
      const s = src();
      await table(s, 'required');
      const p = project();
      const b = body(s, ['required'], p);
      for (const [base, route] of [[platform.gateway, '/project/package'], [platform.publish, '/data-publish/package']] as const) {
        const res = await platform.post(base, route, b);
        assert.equal(res.status, 409, res.text);
        assert.deepEqual(res.body.payload, {
          detail: `No validation of project 'Drift' (start time ${p.project_start_time}) approved a dataset, and PACKAGE_REQUIRE_VALIDATION requires one: validate the project with its dataset first. Nothing was extracted.`,
        });
      }
      assert.equal(existsSync(stagingOf(platform, p)), false);
      // A validation without a dataset approves nothing; with it, the package runs.
      const { dataset: _omitted, ...withoutDataset } = b;
      assert.equal((await platform.post(platform.publish, '/data-publish/validate', withoutDataset)).status, 200);
      assert.equal((await platform.post(platform.publish, '/data-publish/package', b)).status, 409);
      await validate(platform, b);
      assert.equal((await platform.post(platform.publish, '/data-publish/package', b)).status, 200);
    });
  }
});

describe('with the platform database: the approval outlives a restart of the services', () => {
  let store: TestPgDatabase;
  before(async () => {
    store = await createPgDatabase('drift_store');
  });
  after(async () => store?.drop());

  test('validated before the restart: after it, a drifted source is refused and an unchanged one packages', GUARD, async () => {
    const env = { PLATFORM_DATABASE_URL: `postgresql://${pgSettings.user}@${pgSettings.host}:${pgSettings.port}/${store.database}` };
    const cases = sources.map((s) => ({ s, drifted: project(), steady: project() }));
    const first = await startPlatform({ env });
    try {
      for (const c of cases) {
        await writeSourceSecrets(first, c.s.type);
        await table(c.s, `durable_drift`);
        await table(c.s, `durable_steady`);
        await validate(first, body(c.s, ['durable_drift'], c.drifted));
        await validate(first, body(c.s, ['durable_steady'], c.steady));
      }
    } finally {
      await first.close();
    }
    for (const c of cases) await c.s.exec(c.s.drift('durable_drift'));
    const second = await startPlatform({ env });
    try {
      for (const c of cases) {
        await writeSourceSecrets(second, c.s.type);
        const refused = await second.post(second.gateway, '/project/package', body(c.s, ['durable_drift'], c.drifted));
        assert.equal(refused.status, 409, refused.text);
        assert.equal(
          refused.body.payload.detail,
          driftDetail(c.s, c.drifted, '3 columns differ (1 added, 1 removed, 1 retyped): durable_drift.born: removed (date); durable_drift.email: added (text(100)); durable_drift.id: int32 → int64'),
        );
        const packaged = await second.post(second.gateway, '/project/package', body(c.s, ['durable_steady'], c.steady));
        assert.equal(packaged.status, 200, packaged.text);
      }
      const { rows } = await store.client.query('SELECT project_start_time, table_count, column_count FROM cr8tor_platform.approvals ORDER BY id');
      assert.deepEqual(rows, cases.flatMap((c) => [c.drifted, c.steady].map((p) => ({ project_start_time: p.project_start_time, table_count: 1, column_count: 3 }))));
    } finally {
      await second.close();
    }
  });
});
