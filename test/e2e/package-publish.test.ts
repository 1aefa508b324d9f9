/**
 * Package then publish through the gateway, as the CLI does it, from a
 * PostgreSQL schema and a MariaDB database, as CSV and as DuckDB: the files hold
 * exactly the source rows, the hashes match, the bag validates, staging is gone.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { validateBag } from '../../scripts/support/bag-validate.js';
import { mysqlAllTypes, parseCsv, pgAllTypes, type SourceCase } from '../support/all-types.js';
import { createMysqlDatabase, createPgDatabase, type TestMysqlDatabase, type TestPgDatabase } from '../support/databases.js';
import { startPlatform, type Platform } from '../support/platform.js';
import { dataset, publishRequest, sqlSource, transferRequest, writeSourceSecrets } from '../support/requests.js';

const NOTHING_TO_PUBLISH = 'No files found in Staging. Nothing to publish to Production.';

/** Two related tables beside the all-types table, the same on both sources. */
const RELATED_SETUP = [
  `CREATE TABLE person (id bigint PRIMARY KEY, name varchar(40) NOT NULL, note text)`,
  `CREATE TABLE visit (id integer PRIMARY KEY, person_id bigint NOT NULL REFERENCES person (id), site varchar(20), amount decimal(12,2))`,
  `INSERT INTO person VALUES (1, 'Ann', 'said "hi", left'), (2, 'Bob', ''), (3, 'Zoë 🚀', NULL)`,
  `INSERT INTO visit VALUES (10, 1, 'Preston', 12.50), (11, 1, 'Lancaster', NULL), (12, 3, 'Preston', -0.01)`,
];
const PERSON_ROWS = [
  ['1', 'Ann', 'said "hi", left'],
  ['2', 'Bob', ''],
  ['3', 'Zoë 🚀', null],
];
const VISIT_ROWS = [
  ['10', '1', 'Preston', '12.50'],
  ['11', '1', 'Lancaster', null],
  ['12', '3', 'Preston', '-0.01'],
];

let platform: Platform;
let pgDb: TestPgDatabase;
let myDb: TestMysqlDatabase;
let pgCase: SourceCase;
let myCase: SourceCase;

before(async () => {
  platform = await startPlatform();
  await writeSourceSecrets(platform, 'postgresql');
  await writeSourceSecrets(platform, 'mysql');
  pgDb = await createPgDatabase('pkg');
  pgCase = pgAllTypes();
  for (const sql of [...pgCase.setup, ...RELATED_SETUP]) await pgDb.client.query(sql);
  myDb = await createMysqlDatabase('pkg');
  const [version] = (await myDb.conn.query('SELECT VERSION() AS v')) as unknown as [Array<{ v: string }>];
  myCase = mysqlAllTypes(/mariadb/i.test(version[0]!.v) ? 'mariadb' : 'mysql');
  for (const sql of [...myCase.setup, ...RELATED_SETUP]) await myDb.conn.query(sql);
});

after(async () => {
  await platform?.close();
  await pgDb?.drop();
  await myDb?.drop();
});

function sha512(bytes: Buffer): string {
  return createHash('sha512').update(bytes).digest('hex');
}

function projectDirs(startTime: string) {
  return {
    staging: path.join(platform.mountDir, 'staging', 'Pr004', startTime),
    production: path.join(platform.mountDir, 'production', 'Pr004', startTime),
  };
}

const sources = [
  { label: 'PostgreSQL', body: () => sqlSource('postgresql', pgDb.database), schema: 'public', allTypes: () => pgCase },
  { label: 'MariaDB', body: () => sqlSource('mysql', myDb.database), schema: null, allTypes: () => myCase },
];

let run = 0;
for (const source of sources) {
  for (const format of ['csv', 'duckdb'] as const) {
    describe(`${source.label} → ${format}`, () => {
      const startTime = `20250301_0000${String(run++).padStart(2, '0')}`;
      const project = { project_start_time: startTime };
      const request = () => {
        const body = transferRequest(source.body(), dataset(source.schema, ['all_types', 'person', 'visit']), project);
        return { ...body, destination: { name: 'LSC', type: 'filestore', format } };
      };
      const publish = () => ({ ...publishRequest(project), destination: { name: 'LSC', type: 'filestore', format } });

      test('package stages one file per table (CSV) or one database (DuckDB) with the source rows', async () => {
        const res = await platform.post(platform.gateway, '/project/package', request());
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.status, 'success');
        const files = res.body.payload.data_retrieved.map((f: { file_path: string }) => f.file_path).sort();
        const expected = format === 'csv' ? ['data/outputs/all_types.csv', 'data/outputs/person.csv', 'data/outputs/visit.csv'] : ['data/outputs/database.duckdb'];
        assert.deepEqual(files, expected);
        for (const entry of res.body.payload.data_retrieved) assert.deepEqual(Object.keys(entry), ['file_path']);
        const { staging } = projectDirs(startTime);
        if (format === 'csv') {
          const allTypes = await readFile(path.join(staging, 'data/outputs/all_types.csv'), 'utf8');
          assert.equal(allTypes, source.allTypes().expectedCsv);
          const person = parseCsv(await readFile(path.join(staging, 'data/outputs/person.csv'), 'utf8'));
          assert.deepEqual(person, [['id', 'name', 'note'], ...PERSON_ROWS]);
          const visit = parseCsv(await readFile(path.join(staging, 'data/outputs/visit.csv'), 'utf8'));
          assert.deepEqual(visit, [['id', 'person_id', 'site', 'amount'], ...VISIT_ROWS]);
        } else {
          assert.ok(existsSync(path.join(staging, 'data/outputs/database.duckdb')));
        }
      });

      test('publish moves the package to a valid bag, answers true hashes and sizes, and clears staging', async () => {
        const res = await platform.post(platform.gateway, '/project/publish', publish());
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const { staging, production } = projectDirs(startTime);
        const published = res.body.payload.data_published;
        assert.equal(published.length, format === 'csv' ? 3 : 1);
        for (const f of published) {
          assert.deepEqual(Object.keys(f).sort(), ['file_path', 'hash_value', 'total_bytes']);
          const bytes = await readFile(path.join(production, f.file_path));
          assert.equal(f.hash_value, sha512(bytes));
          assert.equal(f.total_bytes, bytes.length);
        }
        assert.equal(existsSync(staging), false, 'the staging folder is removed');
        const bag = await validateBag(production);
        assert.deepEqual(bag.problems, []);
        assert.equal(bag.valid, true);
        const manifest = await readFile(path.join(production, 'manifest-sha512.txt'), 'utf8');
        for (const f of published) assert.ok(manifest.includes(`${f.hash_value}  ${f.file_path}`), `manifest lists ${f.file_path}`);

        if (format === 'duckdb') {
          const db = await DuckDBInstance.create(path.join(production, 'data/outputs/database.duckdb'), { access_mode: 'READ_ONLY' });
          const conn = await db.connect();
          const schema = source.schema ?? myDb.database;
          const rows = async (sql: string) => (await conn.runAndReadAll(sql)).getRows().map((r) => r.map((v) => (v === null ? null : String(v))));
          assert.deepEqual(await rows(`SELECT CAST(id AS VARCHAR), name, note FROM "${schema}"."person" ORDER BY id`), PERSON_ROWS);
          assert.deepEqual(await rows(`SELECT CAST(id AS VARCHAR), CAST(person_id AS VARCHAR), site, CAST(amount AS VARCHAR) FROM "${schema}"."visit" ORDER BY id`), VISIT_ROWS);
          const count = (await rows(`SELECT count(*) FROM "${schema}"."all_types"`))[0]?.[0];
          assert.equal(count, String(source.allTypes().expectedRows.length));
          const types = await rows(`SELECT data_type FROM information_schema.columns WHERE table_schema = '${schema}' AND table_name = 'visit' ORDER BY ordinal_position`);
          assert.deepEqual(types.flat(), ['INTEGER', 'BIGINT', 'VARCHAR', 'DECIMAL(12,2)']);
          conn.closeSync();
          db.closeSync();
        }
      });

      test('publishing again with nothing staged fails with the contract message', async () => {
        const res = await platform.post(platform.gateway, '/project/publish', publish());
        assert.equal(res.body.status, 'error');
        assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
        assert.equal(res.body.payload.detail, NOTHING_TO_PUBLISH);
      });
    });
  }
}

describe('selection and GraphQL', () => {
  test('only the requested columns are extracted, in the requested order', async () => {
    const body = transferRequest(sqlSource('postgresql', pgDb.database), dataset('public', [{ name: 'person', columns: ['note', 'id'] }]), { project_start_time: '20250302_000000' });
    const res = await platform.post(platform.gateway, '/project/package', { ...body, destination: { name: 'LSC', type: 'filestore', format: 'csv' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const csv = await readFile(path.join(projectDirs('20250302_000000').staging, 'data/outputs/person.csv'), 'utf8');
    assert.deepEqual(parseCsv(csv), [['note', 'id'], ...PERSON_ROWS.map(([id, , note]) => [note, id])]);
  });

  test('packageProject and publishProject through the gateway answer Long byte counts', async () => {
    const request = {
      projectName: 'Pr004',
      projectStartTime: '20250303_000000',
      destination: { name: 'LSC', type: 'FileStore', format: 'CSV' },
      source: { type: 'postgresql', hostUrl: sqlSource('postgresql', pgDb.database).host_url, port: sqlSource('postgresql', pgDb.database).port, database: pgDb.database, credentials: { usernameKey: 'postgresql-user', passwordKey: 'postgresql-password' } },
      dataset: { schemaName: 'public', tables: [{ name: 'visit' }] },
    };
    const packaged = await platform.graphql(platform.gateway, 'mutation P($r: ProjectTransferRequest!) { packageProject(request: $r) { destinationType dataRetrieved { filePath tableName } } }', { r: request });
    assert.deepEqual(packaged.body.data.packageProject, { destinationType: 'filestore', dataRetrieved: [{ filePath: 'data/outputs/visit.csv', tableName: null }] });
    const { projectName, projectStartTime, destination } = request;
    const published = await platform.graphql(platform.gateway, 'mutation P($r: ProjectPublishRequest!) { publishProject(request: $r) { destinationType dataPublished { filePath hashValue totalBytes } } }', {
      r: { projectName, projectStartTime, destination },
    });
    const [file] = published.body.data.publishProject.dataPublished;
    const onDisk = path.join(projectDirs('20250303_000000').production, 'data/outputs/visit.csv');
    assert.equal(file.totalBytes, (await stat(onDisk)).size);
    assert.equal(file.hashValue, sha512(await readFile(onDisk)));
  });
});

describe('a package cut short', () => {
  test('a source connection killed mid-extract leaves nothing in staging and a clear error', async () => {
    await pgDb.client.query(`CREATE TABLE big AS SELECT g AS id, repeat(md5(g::text), 8) AS payload FROM generate_series(1, 400000) AS g`);
    const startTime = '20250304_000000';
    const body = transferRequest(sqlSource('postgresql', pgDb.database), dataset('public', ['big']), { project_start_time: startTime });
    const pending = platform.post(platform.gateway, '/project/package', { ...body, destination: { name: 'LSC', type: 'filestore', format: 'csv' } });
    let killed = false;
    for (let i = 0; i < 400 && !killed; i++) {
      const { rows } = await pgDb.client.query(
        `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE datname = $1 AND application_name = 'cr8tor-publisher' AND query ILIKE 'COPY%'`,
        [pgDb.database],
      );
      killed = rows.some((r) => r.done);
      if (!killed) await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(killed, 'the extraction query was seen and terminated');
    const res = await pending;
    assert.equal(res.body.status, 'error');
    assert.equal(res.status, 502, JSON.stringify(res.body));
    assert.match(res.body.payload.detail, /postgresql source/);
    const projectStaging = path.join(platform.mountDir, 'staging', 'Pr004');
    const left = existsSync(projectStaging) ? await readdir(projectStaging) : [];
    assert.deepEqual(left.filter((n) => n.includes(startTime)), [], 'no staged or partial folder remains');
    const again = await platform.post(platform.gateway, '/project/publish', { ...publishRequest({ project_start_time: startTime }), destination: { name: 'LSC', type: 'filestore', format: 'csv' } });
    assert.equal(again.body.payload.detail, NOTHING_TO_PUBLISH);
  });
});

describe('a DuckDB package that cannot keep a primary key', () => {
  test('completes with every row; its audit event says which key was left out and why, the answer is the contract\'s', async () => {
    // DuckDB indexes no list: a PostgreSQL key on an array column cannot be declared there.
    await pgDb.client.query(`CREATE TABLE listkey (k integer[] PRIMARY KEY, v text)`);
    await pgDb.client.query(`INSERT INTO listkey VALUES ('{1,2}', 'a'), ('{3}', 'b')`);
    const startTime = '20250305_000000';
    const body = transferRequest(sqlSource('postgresql', pgDb.database), dataset('public', ['listkey']), { project_start_time: startTime });
    const res = await platform.post(platform.gateway, '/project/package', { ...body, destination: { name: 'LSC', type: 'filestore', format: 'duckdb' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.payload, { destination_type: 'filestore', data_retrieved: [{ file_path: 'data/outputs/database.duckdb' }] });
    const events = (await platform.auditEvents()).filter((e) => e.action === 'package' && e.project?.start_time === startTime);
    assert.equal(events.length, 1);
    assert.equal(events[0].outcome, 'success');
    assert.equal(events[0].warnings.length, 1);
    assert.match(events[0].warnings[0], /^The primary key \(k\) of table 'listkey' is not kept: Invalid type Error/);
    const db = await DuckDBInstance.create(path.join(projectDirs(startTime).staging, 'data/outputs/database.duckdb'), { access_mode: 'READ_ONLY' });
    const conn = await db.connect();
    try {
      assert.deepEqual((await conn.runAndReadAll('SELECT k, v FROM public.listkey ORDER BY rowid')).getRowsJson(), [[[1, 2], 'a'], [[3], 'b']]);
    } finally {
      conn.closeSync();
      db.closeSync();
    }
    // The same table as CSV has nothing to warn of, and its event records no warnings.
    const csvStart = '20250305_000001';
    const csv = await platform.post(platform.gateway, '/project/package', { ...body, project_start_time: csvStart, destination: { name: 'LSC', type: 'filestore', format: 'csv' } });
    assert.equal(csv.status, 200, JSON.stringify(csv.body));
    const [plain] = (await platform.auditEvents()).filter((e) => e.action === 'package' && e.project?.start_time === csvStart);
    assert.equal(plain.outcome, 'success');
    assert.equal('warnings' in plain, false);
  });
});

