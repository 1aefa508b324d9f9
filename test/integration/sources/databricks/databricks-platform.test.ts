/**
 * Databricks end to end, as the CLI drives it: metadata, validate, package
 * and publish through the gateway for a `databrickssql` source, against the
 * workspace double (OAuth token endpoint, Unity Catalog REST, SQL warehouse
 * over Thrift) with the real `@databricks/sql` driver on the wire. Failures
 * answer the contract's envelope naming the source, never a secret or token.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { validateBag } from '../../../../scripts/support/bag-validate.js';
import type { SourceConnectorOptions } from '../../../../lib/connectors/index.js';
import { clearTokenCache } from '../../../../lib/connectors/databricks/token.js';
import { parseCsv } from '../../../support/csv-text.js';
import { startPlatform, type Platform } from '../../../support/platform.js';
import { dataset, publishRequest, type SqlSourceBody } from '../../../support/requests.js';
import { DBX_ALL_TYPES_CSV, DatabricksDouble, SERVICE_PRINCIPAL, databricksSource, dbxAllTypesTable, type DatabricksSourceBody } from '../../../support/databricks/index.js';

let double: DatabricksDouble;
let platform: Platform;
const logLines: string[] = [];

const PROJECT = { project_name: 'Pr004', project_start_time: '20250501_000000' };

/** A contract body for a Databricks source (the shared builders are typed for SQL sources). */
function body(source: DatabricksSourceBody, data?: ReturnType<typeof dataset>, project: Partial<typeof PROJECT> = {}, format = 'duckdb') {
  return {
    ...PROJECT,
    ...project,
    destination: { name: 'LSC', type: 'filestore', format },
    source: source as unknown as SqlSourceBody,
    extract_config: null,
    ...(data ? { dataset: data } : {}),
  };
}

before(async () => {
  clearTokenCache();
  double = await new DatabricksDouble({
    clients: { [SERVICE_PRINCIPAL.clientId]: SERVICE_PRINCIPAL.clientSecret },
    pageRows: 2,
    catalogs: [
      {
        name: 'research',
        schemas: {
          cohort: {
            tables: [
              dbxAllTypesTable(),
              {
                name: 'person',
                comment: 'People in the cohort',
                version: 12,
                columns: [
                  { name: 'id', typeName: 'LONG', typeText: 'bigint', nullable: false, comment: 'Person identifier' },
                  { name: 'name', typeName: 'STRING', typeText: 'string', nullable: false },
                  { name: 'note', typeName: 'STRING', typeText: 'string' },
                ],
                primaryKey: ['id'],
                rows: [[1n, 'Ann', 'said "hi", left'], [2n, 'Bob', ''], [3n, 'Zoë 🚀', null]],
              },
            ],
          },
        },
      },
    ],
  }).start();
  const connectorOptions: SourceConnectorOptions = { tlsCa: double.ca, connectTimeoutMs: 3000, databricks: { warehouseStartTimeoutMs: 800 } };
  platform = await startPlatform({ connectorOptions, logStream: { write: (line) => void logLines.push(line) } });
  await platform.writeSecret('dbx-client-id', SERVICE_PRINCIPAL.clientId);
  await platform.writeSecret('dbx-client-secret', SERVICE_PRINCIPAL.clientSecret);
  await platform.writeSecret('dbx-wrong-secret', 'not-the-secret');
});

after(async () => {
  await platform?.close();
  assert.deepEqual(double.unexpected, [], 'the double understood every request');
  assert.deepEqual(double.warehouse.unexpected, []);
  assert.deepEqual(double.warehouse.open, { sessions: 0, operations: 0 });
  await double?.close();
});

function sha512(bytes: Buffer): string {
  return createHash('sha512').update(bytes).digest('hex');
}

/** No answer may carry the client secret or any token the double issued. */
function assertNoSecret(answer: unknown): void {
  const text = JSON.stringify(answer);
  assert.ok(!text.includes(SERVICE_PRINCIPAL.clientSecret) && !text.includes('not-the-secret'), 'no client secret');
  assert.ok(!text.includes('dapi-double-'), 'no token');
}

describe('databrickssql through the gateway', () => {
  const source = () => databricksSource(double, 'research');

  test('/project/validate opens a warehouse session, then answers the metadata from Unity Catalog', async () => {
    // A start time of its own: what it approves (three columns of all_types) is not what the packages below read.
    const res = await platform.post(platform.gateway, '/project/validate', body(source(), dataset('cohort', ['person', { name: 'all_types', columns: ['c_decimal', 'c_timestamp', 'c_array_int'] }]), { project_start_time: '20250501_090000' }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertNoSecret(res.body);
    assert.deepEqual(res.body.payload, {
      name: 'dataset_1',
      description: null,
      catalog: 'research',
      schema_name: 'cohort',
      tables: [
        {
          name: 'person',
          description: 'People in the cohort',
          columns: [
            { name: 'id', description: 'Person identifier', datatype: 'bigint' },
            { name: 'name', description: null, datatype: 'string' },
            { name: 'note', description: null, datatype: 'string' },
          ],
        },
        {
          name: 'all_types',
          description: 'Every Databricks type the publisher maps',
          columns: [
            { name: 'c_decimal', description: null, datatype: 'decimal(12,2)' },
            { name: 'c_timestamp', description: null, datatype: 'timestamp' },
            { name: 'c_array_int', description: null, datatype: 'array<int>' },
          ],
        },
      ],
    });
  });

  test('/data-publish/validate answers success after SELECT 1 on the warehouse', async () => {
    const res = await platform.post(platform.publish, '/data-publish/validate', body(source()));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.payload, { validation_status: 'success' });
  });

  let run = 0;
  for (const format of ['csv', 'duckdb'] as const) {
    test(`package and publish as ${format}: the files hold the source rows, the bag validates`, async () => {
      const startTime = `20250501_0000${String(run++).padStart(2, '0')}`;
      const project = { project_start_time: startTime };
      const packaged = await platform.post(platform.gateway, '/project/package', body(source(), dataset('cohort', ['all_types', 'person']), project, format));
      assert.equal(packaged.status, 200, JSON.stringify(packaged.body));
      const staging = path.join(platform.mountDir, 'staging', 'Pr004', startTime);
      if (format === 'csv') {
        assert.equal(await readFile(path.join(staging, 'data/outputs/all_types.csv'), 'utf8'), DBX_ALL_TYPES_CSV);
        assert.deepEqual(parseCsv(await readFile(path.join(staging, 'data/outputs/person.csv'), 'utf8')), [
          ['id', 'name', 'note'], ['1', 'Ann', 'said "hi", left'], ['2', 'Bob', ''], ['3', 'Zoë 🚀', null],
        ]);
      }
      const published = await platform.post(platform.gateway, '/project/publish', { ...publishRequest(project), destination: { name: 'LSC', type: 'filestore', format } });
      assert.equal(published.status, 200, JSON.stringify(published.body));
      const production = path.join(platform.mountDir, 'production', 'Pr004', startTime);
      for (const f of published.body.payload.data_published) assert.equal(f.hash_value, sha512(await readFile(path.join(production, f.file_path))));
      assert.deepEqual((await validateBag(production)).problems, []);
      if (format === 'duckdb') {
        const db = await DuckDBInstance.create(path.join(production, 'data/outputs/database.duckdb'), { access_mode: 'READ_ONLY' });
        const conn = await db.connect();
        try {
          const rows = async (sql: string) => (await conn.runAndReadAll(sql)).getRows().map((r) => r.map((v) => (v === null ? null : String(v))));
          const types = new Map((await rows(`SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'cohort' AND table_name = 'all_types'`)).map(([n, t]) => [n, t]));
          assert.equal(types.get('c_tinyint'), 'TINYINT');
          assert.equal(types.get('c_bigint'), 'BIGINT');
          assert.equal(types.get('c_decimal_wide'), 'DECIMAL(38,10)');
          assert.equal(types.get('c_timestamp'), 'TIMESTAMP WITH TIME ZONE');
          assert.equal(types.get('c_timestamp_ntz'), 'TIMESTAMP');
          assert.equal(types.get('c_array_int'), 'INTEGER[]');
          assert.equal(types.get('c_map'), 'JSON');
          assert.equal(types.get('c_interval_dt'), 'INTERVAL');
          assert.deepEqual(await rows(`SELECT CAST(c_bigint AS VARCHAR), CAST(c_decimal_wide AS VARCHAR) FROM cohort.all_types WHERE id = 2`), [['-9223372036854775808', '-0.0000000001']]);
          assert.deepEqual(await rows('SELECT count(*) FROM cohort.person'), [['3']]);
        } finally {
          conn.closeSync();
          db.closeSync();
        }
      }
    });
  }

  test('the package log warns what consistency Databricks gave, with the Delta versions read', () => {
    const said = logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'source snapshot consistency');
    assert.ok(said.length >= 2);
    assert.equal(said[0].level, 40, 'a warning');
    assert.match(said[0].consistency, /no snapshot across tables: each Delta table was read at one pinned version .* Read: cohort\.all_types version 3; cohort\.person version 12\.$/);
  });

  test('one OAuth token served every call so far', () => {
    assert.equal(double.tokenRequests.length, 1);
    assert.equal(double.tokenRequests[0]!.status, 200);
  });
});

describe('failures answer an envelope naming the source, never a secret', () => {
  test('a service principal the token endpoint refuses', async () => {
    clearTokenCache();
    const res = await platform.post(platform.gateway, '/project/validate', body(databricksSource(double, 'research', { secretKey: 'dbx-wrong-secret' }), dataset('cohort', ['person'])));
    assert.equal(res.status, 502, JSON.stringify(res.body));
    assert.equal(res.body.status, 'error');
    assert.match(res.body.payload.detail, /The databrickssql source https:\/\/127\.0\.0\.1 \(catalog research\) refused the service principal's OAuth credentials \(invalid_client\) \(client id from secret 'dbx-client-id'\)\./);
    assertNoSecret(res.body);
  });

  test('an unknown catalog or schema (Unity Catalog 404)', async () => {
    const noCatalog = await platform.post(platform.metadata, '/metadata/project', body(databricksSource(double, 'elsewhere'), dataset('cohort', [])));
    assert.equal(noCatalog.status, 404, JSON.stringify(noCatalog.body));
    assert.match(noCatalog.body.payload.detail, /Schema 'cohort' not found on the databrickssql source https:\/\/127\.0\.0\.1 \(catalog elsewhere\)\./);
    const noSchema = await platform.post(platform.metadata, '/metadata/project', body(databricksSource(double, 'research'), dataset('nope', [])));
    assert.equal(noSchema.status, 404, JSON.stringify(noSchema.body));
    assert.match(noSchema.body.payload.detail, /Schema 'nope' not found/);
  });

  test('an unknown table lists the tables that exist', async () => {
    const res = await platform.post(platform.metadata, '/metadata/project', body(databricksSource(double, 'research'), dataset('cohort', ['persons'])));
    assert.equal(res.status, 404, JSON.stringify(res.body));
    assert.match(res.body.payload.detail, /Table 'persons' not found in schema 'cohort' on the databrickssql source .* Available tables: 'all_types', 'person'\./);
  });

  test('a token that expired early is replaced without the caller noticing', async () => {
    await platform.post(platform.metadata, '/metadata/project', body(databricksSource(double, 'research'), dataset('cohort', ['person'])));
    const tokens = double.tokenRequests.length;
    double.expireTokens();
    const res = await platform.post(platform.gateway, '/project/validate', body(databricksSource(double, 'research'), dataset('cohort', ['person'])));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(double.tokenRequests.length, tokens + 1, 'one new token after the expiry');
    assert.ok(double.requests.some((r) => r.status === 401), 'the expired token was refused once');
  });

  test('a stopped warehouse: validate fails clearly once the start wait is over', async () => {
    double.warehouseState = { state: 'STOPPED' };
    try {
      const res = await platform.post(platform.publish, '/data-publish/validate', body(databricksSource(double, 'research')));
      assert.equal(res.status, 502, JSON.stringify(res.body));
      assert.match(res.body.payload.detail, /The SQL warehouse \/sql\/1\.0\/warehouses\/double01 of the databrickssql source https:\/\/127\.0\.0\.1 \(catalog research\) is not running or not accepting sessions \(HTTP 503\)/);
      assertNoSecret(res.body);
      // Metadata comes from Unity Catalog and does not need the warehouse.
      const meta = await platform.post(platform.metadata, '/metadata/project', body(databricksSource(double, 'research'), dataset('cohort', ['person'])));
      assert.equal(meta.status, 200, JSON.stringify(meta.body));
    } finally {
      double.warehouseState = { state: 'RUNNING' };
    }
  });

  test('a CloudFetch file cut short while packaging: an envelope naming the source and the rows, never the signed link', async () => {
    double.warehouse.options.cloudFetch = { minRows: 0, fileRows: 1, fileFaults: { 1: 'truncated' } };
    try {
      const res = await platform.post(platform.gateway, '/project/package', body(databricksSource(double, 'research'), dataset('cohort', ['person']), { project_start_time: '20250501_000059' }, 'csv'));
      assert.equal(res.status, 502, JSON.stringify(res.body));
      assert.equal(res.body.status, 'error');
      assert.match(res.body.payload.detail, /Downloading the CloudFetch file of rows 1–1 \(from 127\.0\.0\.1:\d+\) for the databrickssql source https:\/\/127\.0\.0\.1 \(catalog research\) failed: the file was cut short/);
      assert.doesNotMatch(JSON.stringify(res.body), /sig=|\/results\//);
      assertNoSecret(res.body);
    } finally {
      delete double.warehouse.options.cloudFetch;
    }
  });

  test('a secret that is not there', async () => {
    const res = await platform.post(platform.metadata, '/metadata/project', body(databricksSource(double, 'research', { clientIdKey: 'dbx-no-such-secret' }), dataset('cohort', [])));
    assert.equal(res.status, 404, JSON.stringify(res.body));
    assert.match(res.body.payload.detail, /dbx-no-such-secret/);
  });
});
