/**
 * Metadata of a MySQL/MariaDB source through the metadata service's REST
 * endpoint (`POST /metadata/project`), against a real database created for this
 * file. Where MySQL and MariaDB spell a type differently (MariaDB stores JSON as
 * longtext, and reports int as int(11)), the expectation is read from the
 * server's own information_schema rather than hard-coded.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogCost } from '../../../support/catalog-queries.js';
import { createMysqlDatabase, type TestMysqlDatabase } from '../../../support/databases.js';
import { startPlatform, type Platform } from '../../../support/platform.js';
import { dataset, sqlSource, transferRequest, writeSourceSecrets, type DatasetBody, type SqlSourceBody } from '../../../support/requests.js';

const FIXTURE = `
  CREATE TABLE person (
    person_id     INT NOT NULL COMMENT 'Person identifier',
    balance       DECIMAL(12,2) COMMENT 'Outstanding balance, GBP',
    postcode      VARCHAR(20),
    status        ENUM('a','b'),
    profile       JSON,
    photo         BLOB,
    registered_at DATETIME(6),
    note          TEXT
  ) COMMENT = 'People in the cohort';
  CREATE TABLE visit (visit_id INT, person_id INT, visited_on DATE);
  CREATE TABLE measurement (measurement_id BIGINT, person_id INT, value DOUBLE);
  CREATE VIEW adult_person AS SELECT person_id, postcode FROM person;
`;

const WIDE_TABLES = Array.from({ length: 12 }, (_, i) => `t${String(i + 1).padStart(2, '0')}`);

describe('MySQL/MariaDB metadata', () => {
  let db: TestMysqlDatabase;
  let wide: TestMysqlDatabase;
  let platform: Platform;
  let source: SqlSourceBody;

  /** COLUMN_TYPE of a column as this server's catalog holds it. */
  async function catalogType(table: string, column: string): Promise<string> {
    const [rows] = await db.conn.query('SELECT COLUMN_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?', [db.database, table, column]);
    const [row] = rows as Array<{ t: string }>;
    assert.ok(row, `no column ${table}.${column}`);
    return row.t;
  }

  before(async () => {
    db = await createMysqlDatabase();
    await db.conn.query(FIXTURE);
    wide = await createMysqlDatabase('cr8tw');
    for (const t of WIDE_TABLES) await wide.conn.query(`CREATE TABLE ${t} (id INT, label TEXT, at DATE)`);
    platform = await startPlatform();
    await writeSourceSecrets(platform, 'mysql');
    source = sqlSource('mysql', db.database);
  });

  after(async () => {
    await platform?.close();
    await wide?.drop();
    await db?.drop();
  });

  const metadata = (data: DatasetBody) => platform.post(platform.metadata, '/metadata/project', transferRequest(source, data));

  async function payload(data: DatasetBody) {
    const res = await metadata(data);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.status, 'success');
    return res.body.payload;
  }

  test('every table and view of the database, in name order, when no tables are requested', async () => {
    const m = await payload(dataset(null));
    assert.equal(m.schema_name, db.database);
    assert.deepEqual(
      m.tables.map((t: { name: string }) => t.name),
      ['adult_person', 'measurement', 'person', 'visit'],
    );
  });

  test('the source type names, table and column comments of every column', async () => {
    const m = await payload(dataset(db.database, ['person']));
    const [person] = m.tables;
    assert.equal(person.name, 'person');
    assert.equal(person.description, 'People in the cohort');
    const jsonType = await catalogType('person', 'profile');
    assert.ok(jsonType === 'json' || jsonType === 'longtext', `unexpected catalog type for JSON: ${jsonType}`);
    assert.deepEqual(person.columns, [
      { name: 'person_id', description: 'Person identifier', datatype: await catalogType('person', 'person_id') },
      { name: 'balance', description: 'Outstanding balance, GBP', datatype: 'decimal(12,2)' },
      { name: 'postcode', description: null, datatype: 'varchar(20)' },
      { name: 'status', description: null, datatype: "enum('a','b')" },
      { name: 'profile', description: null, datatype: jsonType },
      { name: 'photo', description: null, datatype: 'blob' },
      { name: 'registered_at', description: null, datatype: 'datetime(6)' },
      { name: 'note', description: null, datatype: 'text' },
    ]);
    assert.match(person.columns[0].datatype, /^int(\(11\))?$/);
  });

  test('a table without a comment has a null description', async () => {
    const m = await payload(dataset(db.database, ['visit']));
    assert.equal(m.tables[0].description, null);
    assert.ok(m.tables[0].columns.every((c: { description: unknown }) => c.description === null));
  });

  test('views are described like tables', async () => {
    const m = await payload(dataset(db.database, ['adult_person']));
    assert.equal(m.tables.length, 1);
    assert.equal(m.tables[0].name, 'adult_person');
    assert.deepEqual(
      m.tables[0].columns.map((c: { name: string; datatype: string }) => [c.name, c.datatype]),
      [
        ['person_id', await catalogType('adult_person', 'person_id')],
        ['postcode', 'varchar(20)'],
      ],
    );
  });

  // The catalog's TABLE_COMMENT of a view is the word 'VIEW', not a comment
  // (views cannot have one); lib/connectors/mysql reports it as the description.
  test('a view has a null description', async () => {
    const m = await payload(dataset(db.database, ['adult_person']));
    assert.equal(m.tables[0].description, null);
  });

  test('requested tables and columns come back in the requested order', async () => {
    const m = await payload(dataset(db.database, ['visit', { name: 'person', columns: ['registered_at', 'person_id', 'balance'] }, 'adult_person']));
    assert.deepEqual(
      m.tables.map((t: { name: string }) => t.name),
      ['visit', 'person', 'adult_person'],
    );
    assert.deepEqual(
      m.tables[1].columns.map((c: { name: string }) => c.name),
      ['registered_at', 'person_id', 'balance'],
    );
    assert.deepEqual(
      m.tables[0].columns.map((c: { name: string }) => c.name),
      ['visit_id', 'person_id', 'visited_on'],
    );
  });

  test('catalog is the database name; the dataset name and description are echoed', async () => {
    const m = await payload(dataset(db.database, ['visit'], { name: 'cohort_2025', description: 'Visits of the cohort' }));
    assert.equal(m.catalog, db.database);
    assert.equal(m.schema_name, db.database);
    assert.equal(m.name, 'cohort_2025');
    assert.equal(m.description, 'Visits of the cohort');
  });

  test('an unknown schema is a 404 naming it', async () => {
    const res = await metadata(dataset('no_such_schema'));
    assert.equal(res.status, 404);
    assert.equal(res.body.status, 'error');
    assert.match(res.body.payload.detail, /no_such_schema/);
  });

  test('an unknown table or column is a 404 naming it and listing what is available', async () => {
    const table = await metadata(dataset(db.database, ['person', 'no_such_table']));
    assert.equal(table.status, 404);
    assert.match(table.body.payload.detail, /'no_such_table'/);
    assert.match(table.body.payload.detail, /Available tables: 'adult_person', 'measurement', 'person', 'visit'/);
    const column = await metadata(dataset(db.database, [{ name: 'visit', columns: ['visit_id', 'surname'] }]));
    assert.equal(column.status, 404);
    assert.match(column.body.payload.detail, /'surname'/);
    assert.match(column.body.payload.detail, /Available columns: 'visit_id', 'person_id', 'visited_on'/);
  });

  test('metadata of 12 tables costs as many catalog queries as metadata of 1', async () => {
    const wideSource = sqlSource('mysql', wide.database);
    const one = await catalogCost(wideSource, dataset(null, ['t05']), platform.secretsDir);
    const twelve = await catalogCost(wideSource, dataset(null, WIDE_TABLES), platform.secretsDir);
    const all = await catalogCost(wideSource, dataset(null), platform.secretsDir);
    assert.deepEqual(one.tables, [{ name: 't05', columns: 3 }]);
    assert.deepEqual(twelve.tables, WIDE_TABLES.map((name) => ({ name, columns: 3 })));
    assert.deepEqual(all.tables, twelve.tables);
    assert.ok(one.queries > 0, 'the onQuery hook saw no query');
    assert.equal(twelve.queries, one.queries);
    assert.equal(all.queries, one.queries);
  });
});
