/**
 * Metadata of a PostgreSQL source through the metadata service's REST endpoint
 * (`POST /metadata/project`), against a real database created for this file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogCost } from '../../../support/catalog-queries.js';
import { createPgDatabase, type TestPgDatabase } from '../../../support/databases.js';
import { startPlatform, type Platform } from '../../../support/platform.js';
import { dataset, sqlSource, transferRequest, writeSourceSecrets, type DatasetBody, type SqlSourceBody } from '../../../support/requests.js';

const FIXTURE = `
  CREATE TYPE person_status AS ENUM ('active', 'withdrawn');
  CREATE TABLE person (
    person_id     integer NOT NULL,
    balance       numeric(12,2),
    postcode      character varying(20),
    registered_at timestamp with time zone,
    scores        integer[],
    status        person_status,
    profile       json,
    settings      jsonb,
    photo         bytea,
    external_id   uuid,
    note          text
  );
  COMMENT ON TABLE person IS 'People in the cohort';
  COMMENT ON COLUMN person.person_id IS 'Person identifier';
  COMMENT ON COLUMN person.balance IS 'Outstanding balance, GBP';
  CREATE TABLE visit (visit_id integer, person_id integer, visited_on date);
  CREATE TABLE measurement (measurement_id bigint, person_id integer, value double precision);
  CREATE VIEW adult_person AS SELECT person_id, postcode FROM person;
  COMMENT ON VIEW adult_person IS 'People aged 18 or over';

  CREATE SCHEMA clinic;
  CREATE TABLE clinic.site (site_id integer, site_name text);

  CREATE SCHEMA wide;
`;

/** Twelve tables of three columns in schema `wide`, for the query-count test. */
const WIDE_TABLES = Array.from({ length: 12 }, (_, i) => `t${String(i + 1).padStart(2, '0')}`);

describe('PostgreSQL metadata', () => {
  let db: TestPgDatabase;
  let platform: Platform;
  let source: SqlSourceBody;

  before(async () => {
    db = await createPgDatabase();
    await db.client.query(FIXTURE);
    for (const t of WIDE_TABLES) await db.client.query(`CREATE TABLE wide.${t} (id integer, label text, at date)`);
    platform = await startPlatform();
    await writeSourceSecrets(platform, 'postgresql');
    source = sqlSource('postgresql', db.database);
  });

  after(async () => {
    await platform?.close();
    await db?.drop();
  });

  const metadata = (data: DatasetBody) => platform.post(platform.metadata, '/metadata/project', transferRequest(source, data));

  async function payload(data: DatasetBody) {
    const res = await metadata(data);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'success');
    return res.body.payload;
  }

  test('every table and view of the schema, in name order, when no tables are requested', async () => {
    const m = await payload(dataset('public'));
    assert.deepEqual(
      m.tables.map((t: { name: string }) => t.name),
      ['adult_person', 'measurement', 'person', 'visit'],
    );
  });

  test('an empty table list and an absent schema_name mean every table of public', async () => {
    const body = dataset(null);
    const m = await payload(body);
    assert.equal(m.schema_name, 'public');
    assert.deepEqual(
      m.tables.map((t: { name: string }) => t.name),
      ['adult_person', 'measurement', 'person', 'visit'],
    );
  });

  test('the source type names, table and column comments of every column', async () => {
    const m = await payload(dataset('public', ['person']));
    assert.equal(m.tables.length, 1);
    const [person] = m.tables;
    assert.equal(person.name, 'person');
    assert.equal(person.description, 'People in the cohort');
    assert.deepEqual(person.columns, [
      { name: 'person_id', description: 'Person identifier', datatype: 'integer' },
      { name: 'balance', description: 'Outstanding balance, GBP', datatype: 'numeric(12,2)' },
      { name: 'postcode', description: null, datatype: 'character varying(20)' },
      { name: 'registered_at', description: null, datatype: 'timestamp with time zone' },
      { name: 'scores', description: null, datatype: 'integer[]' },
      { name: 'status', description: null, datatype: 'person_status' },
      { name: 'profile', description: null, datatype: 'json' },
      { name: 'settings', description: null, datatype: 'jsonb' },
      { name: 'photo', description: null, datatype: 'bytea' },
      { name: 'external_id', description: null, datatype: 'uuid' },
      { name: 'note', description: null, datatype: 'text' },
    ]);
  });

  test('a table without a comment has a null description', async () => {
    const m = await payload(dataset('public', ['visit']));
    assert.equal(m.tables[0].description, null);
    assert.ok(m.tables[0].columns.every((c: { description: unknown }) => c.description === null));
  });

  test('views are described like tables, with their comment', async () => {
    const m = await payload(dataset('public', ['adult_person']));
    assert.deepEqual(m.tables, [
      {
        name: 'adult_person',
        description: 'People aged 18 or over',
        columns: [
          { name: 'person_id', description: null, datatype: 'integer' },
          { name: 'postcode', description: null, datatype: 'character varying(20)' },
        ],
      },
    ]);
  });

  test('requested tables and columns come back in the requested order', async () => {
    const m = await payload(
      dataset('public', ['visit', { name: 'person', columns: ['external_id', 'person_id', 'balance'] }, 'adult_person']),
    );
    assert.deepEqual(
      m.tables.map((t: { name: string }) => t.name),
      ['visit', 'person', 'adult_person'],
    );
    assert.deepEqual(
      m.tables[1].columns.map((c: { name: string }) => c.name),
      ['external_id', 'person_id', 'balance'],
    );
    assert.deepEqual(
      m.tables[0].columns.map((c: { name: string }) => c.name),
      ['visit_id', 'person_id', 'visited_on'],
    );
  });

  test('catalog is the database name; the dataset name and description are echoed', async () => {
    const m = await payload(dataset('public', ['visit'], { name: 'cohort_2025', description: 'Visits of the cohort' }));
    assert.equal(m.catalog, db.database);
    assert.equal(m.schema_name, 'public');
    assert.equal(m.name, 'cohort_2025');
    assert.equal(m.description, 'Visits of the cohort');
  });

  test('another schema lists only its own tables', async () => {
    const m = await payload(dataset('clinic'));
    assert.equal(m.schema_name, 'clinic');
    assert.deepEqual(m.tables, [
      {
        name: 'site',
        description: null,
        columns: [
          { name: 'site_id', description: null, datatype: 'integer' },
          { name: 'site_name', description: null, datatype: 'text' },
        ],
      },
    ]);
  });

  test('an unknown schema is a 404 naming it', async () => {
    const res = await metadata(dataset('no_such_schema'));
    assert.equal(res.status, 404);
    assert.equal(res.body.status, 'error');
    assert.match(res.body.payload.detail, /no_such_schema/);
    assert.match(res.body.payload.detail, new RegExp(db.database));
  });

  test('metadata of 12 tables costs as many catalog queries as metadata of 1: one when they are named, two for every table', async () => {
    const one = await catalogCost(source, dataset('wide', ['t05']), platform.secretsDir);
    const twelve = await catalogCost(source, dataset('wide', WIDE_TABLES), platform.secretsDir);
    const all = await catalogCost(source, dataset('wide'), platform.secretsDir);
    assert.deepEqual(one.tables, [{ name: 't05', columns: 3 }]);
    assert.deepEqual(twelve.tables, WIDE_TABLES.map((name) => ({ name, columns: 3 })));
    assert.deepEqual(all.tables, twelve.tables);
    assert.equal(one.queries, 1, 'named tables are read with their columns');
    assert.equal(twelve.queries, one.queries);
    assert.equal(all.queries, 2, 'every table: the list, then their columns in one query');
  });
});
