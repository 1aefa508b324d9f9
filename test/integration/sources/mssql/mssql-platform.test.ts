/**
 * SQL Server end to end, as the CLI drives it: metadata, validate, package
 * and publish through the gateway (REST shims, GraphQL to both subgraphs),
 * for source type `mssql` and its alias `sqlserver`, against the TDS double
 * with the real `tedious` on the wire (TLS on, the double's CA trusted through
 * the connector options the SOURCE_TLS_CA_FILE setting fills). Failures answer
 * the contract's envelope naming the source, never a secret.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { validateBag } from '../../../../scripts/support/bag-validate.js';
import type { SourceConnectorOptions } from '../../../../lib/connectors/index.js';
import { parseCsv } from '../../../support/csv-text.js';
import { LogLines } from '../../../support/log-lines.js';
import { startPlatform, type Platform } from '../../../support/platform.js';
import { accessRequest, dataset, publishRequest, transferRequest } from '../../../support/requests.js';
import { MSSQL_LOGIN, mssqlSource, startTdsDouble, type StartedTds } from '../../../support/tds/index.js';
import { concurrencyError, type ConcurrencyErrorNumber } from '../../../support/tds/sqlserver-errors.js';
import { MSSQL_ALL_TYPES_CSV, mssqlAllTypesTable } from '../../../support/tds/all-types.js';

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

let started: StartedTds;
let platform: Platform;
const logs = new LogLines();

before(async () => {
  started = await startTdsDouble([
    {
      name: 'research',
      snapshotIsolation: true,
      schemas: {
        dbo: [
          mssqlAllTypesTable(),
          {
            name: 'person',
            description: 'People in the cohort',
            columns: [
              { name: 'id', type: 'bigint', nullable: false, description: 'Person identifier' },
              { name: 'name', type: 'nvarchar(40)', nullable: false },
              { name: 'note', type: 'nvarchar(max)' },
            ],
            primaryKey: ['id'],
            rows: [[1n, 'Ann', 'said "hi", left'], [2n, 'Bob', ''], [3n, 'Zoë 🚀', null]],
          },
          {
            name: 'visit',
            columns: [
              { name: 'id', type: 'int', nullable: false },
              { name: 'person_id', type: 'bigint', nullable: false },
              { name: 'site', type: 'varchar(20)' },
              { name: 'amount', type: 'decimal(12,2)' },
            ],
            primaryKey: ['id'],
            rows: [[10, 1n, 'Preston', '12.50'], [11, 1n, 'Lancaster', null], [12, 3n, 'Preston', '-0.01']],
          },
        ],
      },
    },
  ]);
  const connectorOptions: SourceConnectorOptions = { tlsCa: started.ca, connectTimeoutMs: 3000 };
  platform = await startPlatform({ connectorOptions, logStream: logs.stream });
  await platform.writeSecret('mssql-user', MSSQL_LOGIN.user);
  await platform.writeSecret('mssql-password', MSSQL_LOGIN.password);
  await platform.writeSecret('mssql-wrong-password', 'not-the-password');
});

after(async () => {
  await platform?.close();
  await started?.double.close();
  assert.deepEqual(started.double.unexpected, [], 'the double understood every statement');
});

function sha512(bytes: Buffer): string {
  return createHash('sha512').update(bytes).digest('hex');
}

/** Nothing secret may appear in an answer: not the password, not the login's name either. */
function assertNoSecret(body: unknown): void {
  const text = JSON.stringify(body);
  assert.ok(!text.includes(MSSQL_LOGIN.password), 'no password in the answer');
  assert.ok(!text.includes('not-the-password'), 'no wrong password in the answer');
}

let run = 0;
for (const type of ['mssql', 'sqlserver']) {
  describe(`source type ${type}`, () => {
    const source = () => mssqlSource(started.double, 'research', { type });

    test('/project/validate checks the connection, then answers the metadata from INFORMATION_SCHEMA and MS_Description', async () => {
      const res = await platform.post(platform.gateway, '/project/validate', transferRequest(source(), dataset('dbo', ['person', { name: 'visit', columns: ['amount', 'id'] }])));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body.payload, {
        name: 'dataset_1',
        description: null,
        catalog: 'research',
        schema_name: 'dbo',
        tables: [
          {
            name: 'person',
            description: 'People in the cohort',
            columns: [
              { name: 'id', description: 'Person identifier', datatype: 'bigint' },
              { name: 'name', description: null, datatype: 'nvarchar(40)' },
              { name: 'note', description: null, datatype: 'nvarchar(max)' },
            ],
          },
          { name: 'visit', description: null, columns: [{ name: 'amount', description: null, datatype: 'decimal(12,2)' }, { name: 'id', description: null, datatype: 'int' }] },
        ],
      });
    });

    test('/data-publish/validate answers success after a login and SELECT 1', async () => {
      const res = await platform.post(platform.publish, '/data-publish/validate', accessRequest(source()));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, { status: 'success', payload: { validation_status: 'success' } });
    });

    for (const format of ['csv', 'duckdb'] as const) {
      test(`package and publish as ${format}: the files hold the source rows, the bag validates`, async () => {
        const startTime = `20250401_0000${String(run++).padStart(2, '0')}`;
        const project = { project_start_time: startTime };
        const destination = { name: 'LSC', type: 'filestore', format };
        const packaged = await platform.post(platform.gateway, '/project/package', { ...transferRequest(source(), dataset('dbo', ['all_types', 'person', 'visit']), project), destination });
        assert.equal(packaged.status, 200, JSON.stringify(packaged.body));
        const staging = path.join(platform.mountDir, 'staging', 'Pr004', startTime);
        if (format === 'csv') {
          assert.deepEqual(packaged.body.payload.data_retrieved.map((f: { file_path: string }) => f.file_path).sort(), ['data/outputs/all_types.csv', 'data/outputs/person.csv', 'data/outputs/visit.csv']);
          assert.equal(await readFile(path.join(staging, 'data/outputs/all_types.csv'), 'utf8'), MSSQL_ALL_TYPES_CSV);
          assert.deepEqual(parseCsv(await readFile(path.join(staging, 'data/outputs/person.csv'), 'utf8')), [['id', 'name', 'note'], ...PERSON_ROWS]);
          assert.deepEqual(parseCsv(await readFile(path.join(staging, 'data/outputs/visit.csv'), 'utf8')), [['id', 'person_id', 'site', 'amount'], ...VISIT_ROWS]);
        } else {
          assert.deepEqual(packaged.body.payload.data_retrieved, [{ file_path: 'data/outputs/database.duckdb' }]);
        }

        const published = await platform.post(platform.gateway, '/project/publish', { ...publishRequest(project), destination });
        assert.equal(published.status, 200, JSON.stringify(published.body));
        const production = path.join(platform.mountDir, 'production', 'Pr004', startTime);
        for (const f of published.body.payload.data_published) {
          const bytes = await readFile(path.join(production, f.file_path));
          assert.equal(f.hash_value, sha512(bytes));
          assert.equal(f.total_bytes, bytes.length);
        }
        assert.equal(existsSync(staging), false);
        assert.deepEqual((await validateBag(production)).problems, []);

        if (format === 'duckdb') {
          const db = await DuckDBInstance.create(path.join(production, 'data/outputs/database.duckdb'), { access_mode: 'READ_ONLY' });
          const conn = await db.connect();
          try {
            const rows = async (sql: string) => (await conn.runAndReadAll(sql)).getRows().map((r) => r.map((v) => (v === null ? null : String(v))));
            assert.deepEqual(await rows('SELECT CAST(id AS VARCHAR), name, note FROM dbo.person ORDER BY id'), PERSON_ROWS);
            assert.deepEqual(await rows('SELECT CAST(id AS VARCHAR), CAST(person_id AS VARCHAR), site, CAST(amount AS VARCHAR) FROM dbo.visit ORDER BY id'), VISIT_ROWS);
            const types = await rows(`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'dbo' AND table_name = 'all_types' ORDER BY ordinal_position`);
            const typeOf = new Map(types.map(([n, t]) => [n, t]));
            assert.equal(typeOf.get('c_tinyint'), 'UTINYINT');
            assert.equal(typeOf.get('c_money'), 'DECIMAL(19,4)');
            assert.equal(typeOf.get('c_datetimeoffset'), 'TIMESTAMP WITH TIME ZONE');
            assert.equal(typeOf.get('c_uuid'), 'UUID');
            assert.equal(typeOf.get('c_varbinary_max'), 'BLOB');
            // DuckDB keeps microseconds: the 100 ns digit the CSV keeps is cut there.
            assert.deepEqual(await rows(`SELECT CAST(c_datetime2_7 AS VARCHAR) FROM dbo.all_types WHERE id = 1`), [['2024-02-29 13:45:10.123456']]);
          } finally {
            conn.closeSync();
            db.closeSync();
          }
        }
      });
    }
  });
}

describe('the package log says what consistency the source gave', () => {
  test('SQL Server with snapshot isolation: one SNAPSHOT transaction', () => {
    const said = logs.lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'source snapshot consistency');
    assert.ok(said.length > 0, 'a consistency line per package');
    assert.match(said[0].consistency, /SQL Server database 'research': all tables read in one SNAPSHOT-isolation transaction/);
    assert.equal(said[0].level, 30, 'info, not a warning');
  });
});

describe('failures answer an envelope naming the source, never a secret', () => {
  test('a login the server refuses', async () => {
    const body = transferRequest(mssqlSource(started.double, 'research', { passwordKey: 'mssql-wrong-password' }), dataset('dbo', ['person']));
    const res = await platform.post(platform.gateway, '/project/validate', body);
    assert.equal(res.status, 502, JSON.stringify(res.body));
    assert.equal(res.body.status, 'error');
    assert.match(res.body.payload.detail, /The mssql source 127\.0\.0\.1:\d+\/research rejected the credentials \(user name from secret 'mssql-user'\)/);
    assertNoSecret(res.body);
  });

  test('a table that does not exist lists the tables that do', async () => {
    const res = await platform.post(platform.gateway, '/project/validate', transferRequest(mssqlSource(started.double, 'research'), dataset('dbo', ['persons'])));
    assert.equal(res.status, 404, JSON.stringify(res.body));
    assert.match(res.body.payload.detail, /Table 'persons' not found in schema 'dbo' on the mssql source .* Available tables: 'all_types', 'person', 'visit'\./);
  });

  test('a schema that does not exist', async () => {
    const res = await platform.post(platform.metadata, '/metadata/project', transferRequest(mssqlSource(started.double, 'research'), dataset('audit', [])));
    assert.equal(res.status, 404, JSON.stringify(res.body));
    assert.match(res.body.payload.detail, /Schema 'audit' not found on the mssql source 127\.0\.0\.1:\d+\/research/);
  });

  test('a database the server does not have', async () => {
    const res = await platform.post(platform.publish, '/data-publish/validate', accessRequest(mssqlSource(started.double, 'elsewhere')));
    assert.equal(res.status, 404, JSON.stringify(res.body));
    assert.match(res.body.payload.detail, /Database 'elsewhere' does not exist on the mssql source/);
  });

  test('a server nobody answers at: the caller is told no reason, the log is', async () => {
    const body = accessRequest({ ...mssqlSource(started.double, 'research'), port: 1 });
    const res = await platform.post(platform.publish, '/data-publish/validate', body);
    assert.equal(res.status, 502, JSON.stringify(res.body));
    assert.equal(res.body.payload.detail, 'Cannot connect to mssql source 127.0.0.1:1/research; the reason is in the service log.');
    logs.assertReason(res.requestId, /connection refused/, 'validate');
    assertNoSecret(res.body);
  });
});

describe('concurrency errors of the source: a transient envelope saying to send the call again, and the call sent again succeeds', () => {
  // Each error at the moment SQL Server raises it: 3952 and 3960 at the first read of the transaction, 3961 when a
  // later table is first read, 1205 and 1222 while rows are streaming.
  const cases: Array<{ number: ConcurrencyErrorNumber; table: string; afterRows?: number; detail: RegExp }> = [
    { number: 3952, table: 'all_types', detail: /stopped allowing SNAPSHOT isolation .*\(SQL Server error 3952: ALLOW_SNAPSHOT_ISOLATION was switched off\)\. This is transient: send the call again\. The publisher then reads in one SERIALIZABLE transaction\./ },
    { number: 3960, table: 'all_types', detail: /aborted this read's SNAPSHOT transaction on an update conflict .*\(SQL Server error 3960\)\. This is transient: send the call again\./ },
    { number: 3961, table: 'visit', detail: /changed by DDL in another session after its SNAPSHOT transaction began \(SQL Server error 3961\)\. This is transient: send the call again\./ },
    { number: 1205, table: 'person', afterRows: 1, detail: /chose this read as the victim of a deadlock .*\(SQL Server error 1205\)\. This is transient: send the call again\./ },
    { number: 1222, table: 'visit', afterRows: 2, detail: /was not granted in time \(SQL Server error 1222, lock request time-out\)\. This is transient: send the call again\./ },
  ];
  for (const [i, c] of cases.entries()) {
    test(`error ${c.number} ${c.afterRows === undefined ? `at the first read of ${c.table}` : `after ${c.afterRows} row(s) of ${c.table}`}`, async () => {
      const startTime = `20250402_0000${String(i).padStart(2, '0')}`;
      const body = { ...transferRequest(mssqlSource(started.double, 'research'), dataset('dbo', ['all_types', 'person', 'visit']), { project_start_time: startTime }), destination: { name: 'LSC', type: 'filestore', format: 'csv' } };
      const error = concurrencyError(c.number, { database: 'research', table: `dbo.${c.table}` });
      started.double.faults.push({
        match: new RegExp(`FROM \\[dbo\\]\\.\\[${c.table}\\]$`),
        error: { number: error.number, message: error.message, severity: error.severity, state: error.state, rollsBack: error.rollsBack },
        ...(c.afterRows === undefined ? {} : { afterRows: c.afterRows }),
      });
      const failed = await platform.post(platform.gateway, '/project/package', body);
      assert.equal(failed.status, 502, JSON.stringify(failed.body));
      assert.equal(failed.body.status, 'error');
      assert.match(failed.body.payload.detail, /mssql source 127\.0\.0\.1:\d+\/research/);
      assert.match(failed.body.payload.detail, c.detail);
      assert.deepEqual(started.double.faults, [], 'the error was raised');
      assert.equal(existsSync(path.join(platform.mountDir, 'staging', 'Pr004', startTime)), false, 'nothing half-written is left');
      const again = await platform.post(platform.gateway, '/project/package', body);
      assert.equal(again.status, 200, JSON.stringify(again.body));
    });
  }
});
