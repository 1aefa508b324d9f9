/**
 * Schemas of the PostgreSQL destination belong to a project by record, not by
 * name: attacked through the gateway with project names that collide, against
 * the real destination database and the OPAL double. Project names may hold
 * `_`, so `Pa` (start 20250101_000000) loading schema `x_20250202_000000_y` and
 * `Pa_20250101_000000_x` (start 20250202_000000) loading schema `y` name the same
 * schema, and every schema of `Pa_20250101_000000_z` starts with `Pa`'s prefix.
 * Proves: one project's package never replaces another's schema (409 naming the
 * owner, rows intact), not even when both load at once; one project's publish
 * never provisions OPAL for another's tables; a schema nobody recorded (the
 * original service's, or made by hand) is refused until an operator adopts it
 * with the documented INSERT; projects differing only by case are one project;
 * the registry is the platform's own
 * (the read-only role reads nothing of it, the loading user owns it), is created
 * once by racing replicas, and one the service cannot use (not granted, another
 * layout) is reported as not ready.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { AppError } from '../../../../lib/errors.js';
import { checkRegistryUsable, ensureRegistry, recordedSchemas } from '../../../../subgraphs/publish/src/destinations/postgresql/registry.js';
import { createPgDatabase, dropPgRole, pgSettings, type TestPgDatabase } from '../../../support/databases.js';
import { startOpalDouble, type OpalDouble } from '../../../support/opal-double.js';
import { startPgDestinationPlatform, stopPgDestinationTest } from '../../../support/pg-destination.js';
import type { Platform } from '../../../support/platform.js';
import { dataset, graphqlInput, publishRequest, sqlSource, transferRequest } from '../../../support/requests.js';

const DESTINATION = { name: 'TRE', type: 'postgresql', format: 'sql' };
const A = { project_name: 'Pa', project_start_time: '20250101_000000' };
/** Its name and start time spell A's name, start time and the first part of A's schema `x_20250202_000000_y`. */
const B = { project_name: 'Pa_20250101_000000_x', project_start_time: '20250202_000000' };
/** Every schema of it starts with A's prefix `pa_20250101_000000`. */
const C = { project_name: 'Pa_20250101_000000_z', project_start_time: '20250202_000000' };
const SHARED = 'pa_20250101_000000_x_20250202_000000_y';
const RO_PASSWORD = 'Ro-registry-password#3';
/** How long reading a `slow` view takes: long enough for two packages to be loading at once. */
const SLOW_SECONDS = 1;

let platform: Platform;
let source: TestPgDatabase;
let dest: TestPgDatabase;
let opal: OpalDouble;
const logLines: string[] = [];
const role = `cr8tor_reg_ro_${randomBytes(4).toString('hex')}`;

type Project = { project_name: string; project_start_time: string };
const packageBody = (project: Project, schema: string, tables: string[]) => ({
  ...transferRequest(sqlSource('postgresql', source.database), dataset(schema, tables), project),
  destination: DESTINATION,
});
const publishBody = (project: Project) => ({ ...publishRequest(project), destination: DESTINATION });
const packageAs = (project: Project, schema: string, tables: string[]) => platform.post(platform.gateway, '/project/package', packageBody(project, schema, tables));
const publishAs = (project: Project) => platform.post(platform.gateway, '/project/publish', publishBody(project));

/** Every row of a destination table, as text, for "unchanged" checks. */
async function content(schema: string, table: string): Promise<string[]> {
  const { rows } = await dest.client.query(`SELECT t::text AS r FROM ${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table)} t ORDER BY 1`);
  return rows.map((r) => r.r as string);
}

/** The registry's rows (without the load times), by schema. */
async function registry(): Promise<Array<Record<string, unknown>>> {
  const { rows } = await dest.client.query(
    'SELECT schema_name, project_key, project_name, start_time, source_schema FROM cr8tor_publisher.loads ORDER BY schema_name COLLATE "C"',
  );
  return rows;
}

async function tablesOf(schema: string): Promise<string[]> {
  const { rows } = await dest.client.query('SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1', [schema]);
  return rows.map((r) => r.tablename as string);
}

before(async () => {
  source = await createPgDatabase('pgreg_src');
  dest = await createPgDatabase('pgreg_dst');
  await source.client.query(`
    CREATE TABLE public.person (id int PRIMARY KEY, name text);
    INSERT INTO public.person VALUES (1, 'Ann'), (2, 'Bob');
    CREATE SCHEMA "x_20250202_000000_y";
    CREATE TABLE "x_20250202_000000_y".patient (id int PRIMARY KEY, diagnosis text);
    INSERT INTO "x_20250202_000000_y".patient VALUES (1, 'A''s patient one'), (2, 'A''s patient two');
    CREATE SCHEMA y;
    CREATE TABLE y.patient (id int PRIMARY KEY, diagnosis text);
    INSERT INTO y.patient VALUES (9, 'B''s row');
    CREATE TABLE y.other (k text);
    INSERT INTO y.other VALUES ('B''s other');
    CREATE VIEW "x_20250202_000000_y".slow AS SELECT g AS id, 'first' AS who FROM pg_sleep(${SLOW_SECONDS}) AS s, generate_series(1, 50) AS g;
    CREATE VIEW y.slow AS SELECT g AS id, 'second' AS who FROM pg_sleep(${SLOW_SECONDS}) AS s, generate_series(1, 50) AS g;
  `);
  await dest.client.query(`CREATE ROLE ${pg.escapeIdentifier(role)} LOGIN PASSWORD ${pg.escapeLiteral(RO_PASSWORD)}`);
  // A site whose read-only role is granted every new table by default must still not read the registry.
  await dest.client.query(`ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO ${pg.escapeIdentifier(role)}`);
  opal = await startOpalDouble();
  platform = await startPgDestinationPlatform({ database: dest.database, role, readonlyPassword: RO_PASSWORD, opal, logLines });
});

after(() => stopPgDestinationTest({ platform, opal, databases: [source, dest], role }));

describe('colliding project names', () => {
  test("a package whose schema is recorded for another project is refused with 409 naming the owner; the owner's rows stay", async () => {
    const first = await packageAs(A, 'x_20250202_000000_y', ['patient']);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body.payload.data_retrieved, [{ table_name: `${SHARED}.patient` }]);
    const before = await content(SHARED, 'patient');
    assert.deepEqual(before, ["(1,\"A's patient one\")", "(2,\"A's patient two\")"]);

    const refused = await packageAs(B, 'y', ['patient', 'other']);
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(refused.body.status, 'error');
    assert.equal(
      refused.body.payload.detail,
      `Schema '${SHARED}' of the PostgreSQL destination database belongs to project 'Pa' (start time 20250101_000000); ` +
        `project 'Pa_20250101_000000_x' (start time 20250202_000000) may not replace it. Nothing was changed.`,
    );
    assert.deepEqual(await content(SHARED, 'patient'), before, "A's rows are intact");
    assert.deepEqual(await tablesOf(SHARED), ['patient'], 'no table of B was added');
    assert.deepEqual(await registry(), [{ schema_name: SHARED, project_key: 'pa', project_name: 'Pa', start_time: '20250101_000000', source_schema: 'x_20250202_000000_y' }]);
    const { rows: loading } = await dest.client.query(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'cr8tor\\_loading%'`);
    assert.deepEqual(loading, [], 'no temporary schema is left');

    const graphql = await platform.graphql(
      platform.gateway,
      'mutation ($r: ProjectTransferRequest!) { packageProject(request: $r) { dataRetrieved { tableName } } }',
      { r: graphqlInput(packageBody(B, 'y', ['patient'])) },
    );
    assert.equal(graphql.body.errors?.[0]?.extensions?.code, 'SCHEMA_OWNED_BY_ANOTHER_PROJECT', JSON.stringify(graphql.body));
    assert.equal(graphql.body.errors[0].extensions.status, 409);
    assert.deepEqual(await content(SHARED, 'patient'), before);
  });

  test("a publish provisions OPAL only for its own project's recorded schemas, not another project's that share its prefix", async () => {
    const c = await packageAs(C, 'y', ['patient']);
    assert.equal(c.status, 200, JSON.stringify(c.body));
    const cSchema = 'pa_20250101_000000_z_20250202_000000_y';
    assert.deepEqual(c.body.payload.data_retrieved, [{ table_name: `${cSchema}.patient` }]);
    opal.clearLog();

    const published = await publishAs(A);
    assert.equal(published.status, 200, JSON.stringify(published.body));
    assert.deepEqual(published.body.payload.data_published.map((e: any) => e.postgresql_table_name), [`${SHARED}.patient`]);
    const resources = opal.state().resources.map((r) => [r.project, r.name]);
    assert.deepEqual(resources, [['Pa', `tre_postgresql_${SHARED}_patient`]], "no OPAL resource for C's table");
    assert.ok(!JSON.stringify(opal.requests).includes(cSchema), 'OPAL never heard of C’s schema from A’s publish');

    const other = await publishAs(C);
    assert.equal(other.status, 200, JSON.stringify(other.body));
    assert.deepEqual(other.body.payload.data_published.map((e: any) => [e.postgresql_table_name, e.opal_project_name]), [[`${cSchema}.patient`, C.project_name]]);
    assert.deepEqual(opal.state().resources.filter((r) => r.project === 'Pa').map((r) => r.name), [`tre_postgresql_${SHARED}_patient`]);
    assert.deepEqual(opal.unexpected, []);
  });

  test('projects whose names differ only by case are one project: either spelling replaces and publishes its schemas', async () => {
    const upper = { ...A, project_name: 'PA' };
    const replaced = await packageAs(upper, 'x_20250202_000000_y', ['patient']);
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    assert.deepEqual((await registry()).find((r) => r.schema_name === SHARED), {
      schema_name: SHARED, project_key: 'pa', project_name: 'PA', start_time: '20250101_000000', source_schema: 'x_20250202_000000_y',
    });
    const published = await publishAs({ ...A, project_name: 'pA' });
    assert.equal(published.status, 200, JSON.stringify(published.body));
    assert.deepEqual(published.body.payload.data_published.map((e: any) => e.postgresql_table_name), [`${SHARED}.patient`]);
  });

  test('a recorded schema of the same project but another start time is refused', async () => {
    // Only a hand-made record can do this (the start time is part of the name): an adoption with the wrong start time.
    await dest.client.query(`CREATE SCHEMA pa_20250404_000000_public`);
    await dest.client.query(
      `INSERT INTO cr8tor_publisher.loads (schema_name, project_name, start_time, source_schema) VALUES ('pa_20250404_000000_public', 'Pa', '20250101_000000', 'public')`,
    );
    const refused = await packageAs({ ...A, project_start_time: '20250404_000000' }, 'public', ['person']);
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.match(refused.body.payload.detail, /^Schema 'pa_20250404_000000_public' of the PostgreSQL destination database belongs to project 'Pa' \(start time 20250101_000000\)/);
    assert.deepEqual(await tablesOf('pa_20250404_000000_public'), []);
  });
});

describe('two colliding packages at once', () => {
  test('both load, one swaps in and is recorded; the other is refused at its swap, naming the first, and changes nothing', async () => {
    const first = { project_name: 'Pb', project_start_time: '20250101_000000' };
    const second = { project_name: 'Pb_20250101_000000_x', project_start_time: '20250202_000000' };
    const shared = 'pb_20250101_000000_x_20250202_000000_y';
    // Different projects take different project locks: only the registry keeps them apart.
    const answers = await Promise.all([packageAs(first, 'x_20250202_000000_y', ['slow']), packageAs(second, 'y', ['slow'])]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 409], JSON.stringify(answers.map((a) => a.body)));
    const winner = answers[0]!.status === 200 ? first : second;
    const loser = winner === first ? second : first;
    const refused = answers.find((a) => a.status === 409)!;
    assert.match(
      refused.body.payload.detail,
      new RegExp(`^Schema '${shared}' of the PostgreSQL destination database belongs to project '${winner.project_name}' \\(start time ${winner.project_start_time}\\); project '${loser.project_name}'`),
    );
    const { rows } = await dest.client.query(`SELECT DISTINCT who FROM ${shared}.slow`);
    assert.deepEqual(rows, [{ who: winner === first ? 'first' : 'second' }], "only the winner's rows are there");
    const record = (await registry()).find((r) => r.schema_name === shared);
    assert.equal(record?.project_name, winner.project_name);
  });
});

describe('schemas nobody recorded', () => {
  const LEGACY = 'pa_20250505_000000_public';
  const legacy = { ...A, project_start_time: '20250505_000000' };

  test('a schema loaded by the original service or by hand is refused until an operator adopts it; then it is replaced and published', async () => {
    await dest.client.query(`CREATE SCHEMA ${LEGACY}; CREATE TABLE ${LEGACY}.person (id int, name text); INSERT INTO ${LEGACY}.person VALUES (7, 'legacy')`);
    const refused = await packageAs(legacy, 'public', ['person']);
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(
      refused.body.payload.detail,
      `Schema '${LEGACY}' exists in the PostgreSQL destination database but no project is recorded as its owner; it was not replaced. ` +
        `An operator can adopt it for project 'Pa' (start time 20250505_000000) in the registry table cr8tor_publisher.loads (see the operator's guide).`,
    );
    assert.deepEqual(await content(LEGACY, 'person'), ['(7,legacy)']);
    const unpublished = await publishAs(legacy);
    assert.equal(unpublished.status, 409, JSON.stringify(unpublished.body));
    assert.match(unpublished.body.payload.detail, /^No tables found in the schemas recorded for project 'Pa' \(start time 20250505_000000\)/);

    // An adoption as the operator's guide (docs/deployment.md) shows it.
    await dest.client.query(
      `INSERT INTO cr8tor_publisher.loads (schema_name, project_name, start_time) VALUES ('${LEGACY}', 'Pa', '20250505_000000')`,
    );
    const published = await publishAs(legacy);
    assert.equal(published.status, 200, JSON.stringify(published.body));
    assert.deepEqual(published.body.payload.data_published.map((e: any) => e.postgresql_table_name), [`${LEGACY}.person`]);
    const replaced = await packageAs(legacy, 'public', ['person']);
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    assert.deepEqual(await content(LEGACY, 'person'), ['(1,Ann)', '(2,Bob)']);
  });
});

describe('the registry', () => {
  test('the read-only role reads nothing of it, even with default privileges granting it every table', async () => {
    const asRole = new pg.Client({ ...pgSettings, database: dest.database, user: role, password: RO_PASSWORD });
    await asRole.connect();
    try {
      await assert.rejects(asRole.query('SELECT * FROM cr8tor_publisher.loads'), /permission denied for schema cr8tor_publisher/);
      const { rows } = await asRole.query(
        `SELECT has_schema_privilege(current_user, 'cr8tor_publisher', 'USAGE') AS usage,
                has_table_privilege(current_user, (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'cr8tor_publisher' AND c.relname = 'loads'), 'SELECT') AS sel`,
      );
      assert.deepEqual(rows[0], { usage: false, sel: false });
      assert.deepEqual((await asRole.query(`SELECT count(*)::int AS n FROM ${SHARED}.patient`)).rows, [{ n: 2 }], 'it still reads the loaded tables');
    } finally {
      await asRole.end();
    }
    const { rows: owner } = await dest.client.query(
      `SELECT pg_get_userbyid(n.nspowner) AS schema_owner, pg_get_userbyid(c.relowner) AS table_owner
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'cr8tor_publisher' AND c.relname = 'loads'`,
    );
    assert.deepEqual(owner, [{ schema_owner: pgSettings.user, table_owner: pgSettings.user }], 'the loading user owns it');
  });
});

describe('a registry this service cannot use', () => {
  test('validate, package and publish answer 503 naming it, and change nothing', async () => {
    const comment = "COMMENT ON TABLE cr8tor_publisher.loads IS 'cr8tor-publisher registry version 2: from a later release'";
    await dest.client.query(comment);
    try {
      const before = await registry();
      const answers = [
        await platform.post(platform.gateway, '/project/validate', packageBody(A, 'x_20250202_000000_y', ['patient'])),
        await packageAs(A, 'x_20250202_000000_y', ['patient']),
        await publishAs(A),
      ];
      for (const answer of answers) {
        assert.equal(answer.status, 503, JSON.stringify(answer.body));
        assert.equal(
          answer.body.payload.detail,
          'The registry table cr8tor_publisher.loads of the PostgreSQL destination database has layout version 2; this service reads version 1.',
        );
      }
      assert.deepEqual(await registry(), before);
    } finally {
      await dest.client.query(comment.replace(/version 2: from a later release/, 'version 1: which project and start time loaded each schema'));
    }
  });
});

describe('the registry, created by the loading user', () => {
  let fresh: TestPgDatabase;
  const loader = `cr8tor_reg_loader_${randomBytes(4).toString('hex')}`;
  const asLoader = async (): Promise<pg.Client> => {
    const client = new pg.Client({ ...pgSettings, database: fresh.database, user: loader, password: 'Loader-pw#9' });
    await client.connect();
    return client;
  };

  before(async () => {
    fresh = await createPgDatabase('pgreg_fresh');
    await fresh.client.query(`CREATE ROLE ${pg.escapeIdentifier(loader)} LOGIN PASSWORD 'Loader-pw#9'`);
    await fresh.client.query(`GRANT CREATE ON DATABASE ${pg.escapeIdentifier(fresh.database)} TO ${pg.escapeIdentifier(loader)}`);
  });

  after(async () => {
    await fresh?.drop();
    await dropPgRole(loader);
  });

  test('replicas creating it at the same moment all succeed, and it is created once, owned by the loading user', async () => {
    const clients = await Promise.all(Array.from({ length: 6 }, asLoader));
    try {
      await Promise.all(clients.map((c) => ensureRegistry((sql, values) => c.query(sql, values), role)));
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
    const { rows } = await fresh.client.query(
      `SELECT pg_get_userbyid(n.nspowner) AS schema_owner, pg_get_userbyid(c.relowner) AS table_owner
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'cr8tor_publisher' AND c.relkind = 'r'`,
    );
    assert.deepEqual(rows, [{ schema_owner: loader, table_owner: loader }]);
  });

  test('one made by someone else and not granted makes the destination not ready, naming the grants; granted, it is usable', async () => {
    await fresh.client.query(`ALTER TABLE cr8tor_publisher.loads OWNER TO ${pg.escapeIdentifier(pgSettings.user)}`);
    const client = await asLoader();
    const q = (sql: string, values?: unknown[]) => client.query(sql, values);
    try {
      await assert.rejects(checkRegistryUsable(q), (e: unknown) => {
        assert.ok(e instanceof AppError);
        assert.equal(e.code, 'DESTINATION_NOT_READY');
        assert.match(e.detail, /may not read and write the registry table cr8tor_publisher\.loads .*grant it USAGE on schema cr8tor_publisher and SELECT, INSERT, UPDATE on the table/);
        return true;
      });
      await fresh.client.query(`GRANT SELECT, INSERT, UPDATE ON cr8tor_publisher.loads TO ${pg.escapeIdentifier(loader)}`);
      await checkRegistryUsable(q);
    } finally {
      await client.end();
    }
  });

  test('one of another layout version is refused, for readiness and for packaging', async () => {
    await fresh.client.query(`COMMENT ON TABLE cr8tor_publisher.loads IS 'cr8tor-publisher registry version 2: from the future'`);
    const client = await asLoader();
    const q = (sql: string, values?: unknown[]) => client.query(sql, values);
    try {
      for (const check of [() => checkRegistryUsable(q), () => ensureRegistry(q, role), () => recordedSchemas(q, { project: 'Pa', startTime: '20250101_000000' })]) {
        await assert.rejects(check(), (e: unknown) => e instanceof AppError && e.code === 'DESTINATION_NOT_READY' && /registry table cr8tor_publisher\.loads .* has layout version 2; this service reads version 1/.test(e.detail));
      }
    } finally {
      await client.end();
    }
  });
});
