/**
 * The Databricks connector against a protocol-level double of a workspace
 * (test/support/databricks/): the OAuth M2M token endpoint, the Unity Catalog
 * REST API and a SQL warehouse speaking Thrift TCLIService over HTTPS to the
 * real `@databricks/sql` driver. Wire requests are asserted where they carry
 * meaning: client authentication, token caching and renewal, paging, the
 * statements and fetch sizes, no telemetry.
 *
 * What the double verifies: the HTTP and Thrift conversation, the SQL the
 * connector generates (routed by pattern; anything else is refused and
 * recorded); results both as column-based rows (protocol V4) and as Arrow
 * batches (V8). What it does not verify: Databricks' own SQL semantics and
 * formats (CAST, unix_micros, to_json, DESCRIBE HISTORY are emulated),
 * CloudFetch and LZ4-compressed results (the double never answers them,
 * which the server may choose), and the real token endpoint's response
 * beyond access_token/expires_in.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import os from 'node:os';
import { failure } from '../../../support/app-error.js';
import { datasetSchema, sourceSchema, type DatabricksSourceConfig } from '../../../../lib/contract/index.js';
import type { ConnectorOptions } from '../../../../lib/connectors/connector.js';
import { resolveDataset } from '../../../../lib/connectors/index.js';
import { DatabricksConnector } from '../../../../lib/connectors/databricks/connector.js';
import type { DatabricksSettings } from '../../../../lib/connectors/databricks/settings.js';
import { clearTokenCache } from '../../../../lib/connectors/databricks/token.js';
import { databricksLogicalType, isoFromAnsiInterval, utcFromMicros } from '../../../../lib/connectors/databricks/types.js';
import { parseCsv, readAll } from '../../../support/csv-text.js';
import {
  DBX_ALL_TYPES_COLUMNS, DBX_ALL_TYPES_CSV, DatabricksDouble, PROTOCOL, SERVICE_PRINCIPAL, databricksSource, dbxAllTypesTable, type DbxCatalog,
} from '../../../support/databricks/index.js';

function catalogs(): DbxCatalog[] {
  return [
    {
      name: 'research',
      schemas: {
        cohort: {
          comment: 'The cohort',
          tables: [
            dbxAllTypesTable(),
            { name: 'person', comment: 'People in the cohort', version: 12, columns: [{ name: 'id', typeName: 'LONG', typeText: 'bigint', nullable: false, comment: 'Person identifier' }, { name: 'note', typeName: 'STRING', typeText: 'string' }], primaryKey: ['id'], rows: [[1n, 'a'], [2n, null]] },
            { name: 'adults', tableType: 'VIEW', columns: [{ name: 'id', typeName: 'LONG', typeText: 'bigint' }], rows: [[1n]] },
            { name: 'places', columns: [{ name: 'id', typeName: 'INT', typeText: 'int' }, { name: 'shape', typeName: 'GEOGRAPHY', typeText: 'geography(4326)' }], rows: [[1, 'POINT(1 2)']] },
            { name: 'numbers', version: 5, columns: [{ name: 'n', typeName: 'INT', typeText: 'int' }], rows: () => Array.from({ length: 10 }, (_, i) => [i + 1]) },
            { name: 'zzz_last', columns: [{ name: 'id', typeName: 'INT', typeText: 'int' }], rows: [] },
            { name: 'browsed', browseOnly: true, columns: [{ name: 'id', typeName: 'INT', typeText: 'int' }], rows: [[1]] },
          ],
        },
        empty: { tables: [] },
      },
    },
  ];
}

let double: DatabricksDouble;

function source(host = '127.0.0.1', d: DatabricksDouble = double): DatabricksSourceConfig {
  return sourceSchema.parse(databricksSource(d, 'research', { host })) as DatabricksSourceConfig;
}

function connector(options: ConnectorOptions = {}, settings: DatabricksSettings = {}, d: DatabricksDouble = double, principal = SERVICE_PRINCIPAL): DatabricksConnector {
  return new DatabricksConnector(source('127.0.0.1', d), principal, options, settings, d.ca);
}

before(async () => {
  double = await new DatabricksDouble({ clients: { [SERVICE_PRINCIPAL.clientId]: SERVICE_PRINCIPAL.clientSecret }, catalogs: catalogs(), pageRows: 4 }).start();
});

after(async () => {
  assert.deepEqual(double.unexpected, [], 'the double understood every request (no telemetry, no feature flags)');
  assert.deepEqual(double.warehouse.unexpected, []);
  assert.deepEqual(double.warehouse.open, { sessions: 0, operations: 0 }, 'every operation and session was closed');
  await double.close();
});

describe('Databricks type mapping', () => {
  test('every case column maps to its logical type', () => {
    for (const x of DBX_ALL_TYPES_COLUMNS) {
      assert.deepEqual(databricksLogicalType({ typeName: x.column.typeName, typeText: x.column.typeText }), x.logical, x.column.name);
      assert.deepEqual(databricksLogicalType({ typeText: x.column.typeText }), x.logical, `${x.column.name} from type_text alone`);
    }
    assert.deepEqual(databricksLogicalType({ typeName: 'DECIMAL', typeText: 'decimal(10,0)', precision: 10, scale: 0 }), { kind: 'decimal', precision: 10, scale: 0 });
    assert.deepEqual(databricksLogicalType({ typeName: 'ARRAY', typeText: 'array<timestamp>' }), { kind: 'json' });
    assert.deepEqual(databricksLogicalType({ typeName: 'VARIANT', typeText: 'variant' }), { kind: 'json' });
  });

  test('types without a faithful mapping have none', () => {
    for (const [typeName, typeText] of <Array<[string, string]>>[['GEOGRAPHY', 'geography(4326)'], ['GEOMETRY', 'geometry'], ['NULL', 'void'], ['USER_DEFINED_TYPE', 'x'], ['TABLE_TYPE', 'table']]) {
      assert.equal(databricksLogicalType({ typeName, typeText }), undefined, typeName);
    }
  });

  test('intervals and instants in their canonical forms', () => {
    assert.equal(isoFromAnsiInterval("INTERVAL '1-2' YEAR TO MONTH"), 'P1Y2M');
    assert.equal(isoFromAnsiInterval("INTERVAL '-3 04:05:06.5' DAY TO SECOND"), 'P-3DT-4H-5M-6.5S');
    assert.equal(isoFromAnsiInterval("INTERVAL '100' HOUR"), 'PT100H');
    assert.equal(isoFromAnsiInterval("INTERVAL '10:20' HOUR TO MINUTE"), 'PT10H20M');
    assert.equal(isoFromAnsiInterval("INTERVAL '0' SECOND"), 'PT0S');
    assert.throws(() => isoFromAnsiInterval('3 days'), /not an ANSI interval/);
    assert.equal(utcFromMicros('0'), '1970-01-01T00:00:00+00:00');
    assert.equal(utcFromMicros('-1'), '1969-12-31T23:59:59.999999+00:00');
    assert.equal(utcFromMicros('-62135596800000000'), '0001-01-01T00:00:00+00:00');
    assert.equal(utcFromMicros('253402300799999999'), '9999-12-31T23:59:59.999999+00:00');
  });
});

describe('OAuth M2M token', () => {
  test('one client-credentials request with HTTP Basic auth, then the same token for Unity Catalog and the warehouse', async () => {
    clearTokenCache();
    const tokensBefore = double.tokenRequests.length;
    const from = double.requests.length;
    const c = connector();
    try {
      assert.notEqual(await c.schemaTables('cohort'), null);
      await c.ping();
    } finally {
      await c.close();
    }
    const token = double.tokenRequests.slice(tokensBefore);
    assert.deepEqual(token, [{ clientId: SERVICE_PRINCIPAL.clientId, body: { grant_type: 'client_credentials', scope: 'all-apis' }, status: 200 }]);
    const sent = double.requests.slice(from);
    assert.equal(sent[0]!.path, '/oidc/v1/token');
    assert.equal(sent[0]!.credentials, `basic:${SERVICE_PRINCIPAL.clientId}`);
    const bearers = new Set(sent.slice(1).map((r) => r.credentials));
    assert.equal(bearers.size, 1, 'one token for everything');
    assert.match([...bearers][0]!, /^bearer:dapi-double-/);
    assert.deepEqual(sent.slice(1).map((r) => r.thrift ?? `${r.method} ${r.path}`), [
      'GET /api/2.1/unity-catalog/schemas/research.cohort', ...Array(4).fill('GET /api/2.1/unity-catalog/tables'),
      'OpenSession', 'ExecuteStatement', 'CloseOperation', 'CloseSession',
    ]);
  });

  test('the token is cached for the process: a second connector asks for none', async () => {
    const tokensBefore = double.tokenRequests.length;
    const c = connector();
    try {
      await c.schemaTables('cohort');
    } finally {
      await c.close();
    }
    assert.equal(double.tokenRequests.length, tokensBefore);
  });

  test('a token is renewed shortly before it expires', async () => {
    const short = await new DatabricksDouble({ clients: { [SERVICE_PRINCIPAL.clientId]: SERVICE_PRINCIPAL.clientSecret }, catalogs: catalogs(), tokenLifetimeS: 1 }).start();
    try {
      const c = connector({}, {}, short);
      try {
        await c.schemaTables('cohort');
        await c.schemaTables('cohort');
        assert.equal(short.tokenRequests.length, 1, 'still fresh');
        // Half of a one-second lifetime: renewed before it runs out.
        await new Promise((resolve) => setTimeout(resolve, 600));
        await c.schemaTables('cohort');
        assert.equal(short.tokenRequests.length, 2, 'renewed');
      } finally {
        await c.close();
      }
      assert.deepEqual(short.unexpected, []);
    } finally {
      await short.close();
    }
  });

  test('a token the workspace stops accepting is dropped and replaced, for Unity Catalog and for the warehouse', async () => {
    const c = connector();
    try {
      await c.ping();
      const tokensBefore = double.tokenRequests.length;
      double.expireTokens();
      assert.notEqual(await c.schemaTables('cohort'), null);
      assert.equal(double.tokenRequests.length, tokensBefore + 1, 'one new token after the 401');
      double.expireTokens();
      await c.ping();
      assert.equal(double.tokenRequests.length, tokensBefore + 2, 'and again for the warehouse');
      const refused = double.requests.filter((r) => r.status === 401);
      assert.ok(refused.some((r) => r.path.startsWith('/api/2.1/unity-catalog/')) && refused.some((r) => r.thrift === 'ExecuteStatement'), 'both were refused once');
    } finally {
      await c.close();
    }
  });

  test('credentials the token endpoint refuses: SOURCE_AUTH_FAILED naming the secret, never the secret', async () => {
    clearTokenCache();
    const c = connector({}, {}, double, { clientId: SERVICE_PRINCIPAL.clientId, clientSecret: 'wrong-secret' });
    const error = await failure(c.schemaTables('cohort'));
    await c.close();
    assert.equal(error.code, 'SOURCE_AUTH_FAILED');
    assert.match(error.message, /The databrickssql source https:\/\/127\.0\.0\.1 \(catalog research\) refused the service principal's OAuth credentials \(invalid_client\) \(client id from secret 'dbx-client-id'\)\./);
    assert.doesNotMatch(error.message, /wrong-secret|dose-double/);
  });
});

describe('Unity Catalog metadata', () => {
  test('schemas by GET, 404 meaning absent', async () => {
    const c = connector();
    try {
      assert.notEqual(await c.schemaTables('cohort'), null);
      assert.equal(await c.schemaTables('nope'), null);
      assert.notEqual(await c.schemaTables('empty'), null);
    } finally {
      await c.close();
    }
  });

  test('tables are listed page by page until next_page_token is gone, an empty page included', async () => {
    const from = double.requests.length;
    const c = connector();
    try {
      const tables = (await c.schemaTables('cohort'))!;
      assert.deepEqual(tables.map((t) => t.name), ['adults', 'all_types', 'numbers', 'person', 'places', 'zzz_last']);
      assert.deepEqual(tables.find((t) => t.name === 'person'), { name: 'person', description: 'People in the cohort' });
      assert.equal(tables.find((t) => t.name === 'zzz_last')!.description, null);
    } finally {
      await c.close();
    }
    const pages = double.requests.slice(from).filter((r) => r.path === '/api/2.1/unity-catalog/tables');
    assert.deepEqual(pages.map((r) => r.query.page_token ?? null), [null, 'p1', 'p2', 'p3']);
    for (const p of pages) assert.deepEqual({ ...p.query, page_token: undefined }, { catalog_name: 'research', schema_name: 'cohort', max_results: '0', omit_columns: 'true', omit_properties: 'true', page_token: undefined });
  });

  test('columns from each TableInfo: type_text, logical type, comment, nullability, position and primary key', async () => {
    const c = connector();
    try {
      const columns = await c.getColumns('cohort', ['all_types', 'person', 'missing']);
      assert.equal(columns.has('missing'), false);
      const all = columns.get('all_types')!;
      assert.deepEqual(all.map((x) => [x.name, x.datatype]), DBX_ALL_TYPES_COLUMNS.map((x) => [x.column.name, x.column.typeText]));
      for (const [i, x] of DBX_ALL_TYPES_COLUMNS.entries()) assert.deepEqual(all[i]!.logical, x.logical, x.column.name);
      assert.deepEqual(all[0], { name: 'id', description: 'Row key', datatype: 'int', nullable: false, position: 1, logical: { kind: 'int32' }, primaryKey: 1 });
      assert.deepEqual(columns.get('person')!.map((x) => [x.name, x.description, x.primaryKey, x.nullable]), [['id', 'Person identifier', 1, false], ['note', null, null, true]]);
    } finally {
      await c.close();
    }
  });

  test('tables named to schemaTables: one GET each, columns included, no listing; the schema is asked only when one is missing', async () => {
    const c = connector();
    const paths = (from: number) => double.requests.slice(from).map((r) => r.path).filter((p) => p.startsWith('/api/2.1/unity-catalog/'));
    try {
      let from = double.requests.length;
      const tables = (await c.schemaTables('cohort', ['person', 'numbers', 'person']))!;
      assert.deepEqual(tables.map((t) => [t.name, t.description]), [['numbers', null], ['person', 'People in the cohort']]);
      assert.deepEqual(tables[1]!.columns!.map((x) => [x.name, x.datatype, x.primaryKey, x.nullable]), [['id', 'bigint', 1, false], ['note', 'string', null, true]]);
      assert.deepEqual(paths(from).sort(), ['/api/2.1/unity-catalog/tables/research.cohort.numbers', '/api/2.1/unity-catalog/tables/research.cohort.person'], 'one GET per table, none for the schema or the listing');

      from = double.requests.length;
      assert.deepEqual((await c.schemaTables('cohort', ['nope', 'person']))!.map((t) => t.name), ['person']);
      assert.ok(paths(from).includes('/api/2.1/unity-catalog/schemas/research.cohort'), 'a table missing: the schema is asked');
      assert.equal(await c.schemaTables('nope', ['person']), null, 'a missing schema is still null');

      from = double.requests.length;
      assert.deepEqual((await c.schemaTables('cohort', ['browsed', 'person']))!.map((t) => t.name), ['person'], 'a table the principal may only browse is not found, as the listing does not show it');
      assert.ok(paths(from).includes('/api/2.1/unity-catalog/tables/research.cohort.browsed'));

      from = double.requests.length;
      assert.deepEqual(await c.schemaTables('cohort', ['a/b', 'x.y', 'has space', `tab\tname`, 'x'.repeat(256), 'Person']), []);
      assert.deepEqual(paths(from).filter((p) => p.includes('/tables/')), ['/api/2.1/unity-catalog/tables/research.cohort.Person'], 'names Unity Catalog cannot hold are not asked for; another case is not the table');

      // Through resolveDataset: the columns came with the tables, so none is asked for again.
      from = double.requests.length;
      const resolved = await resolveDataset(c, datasetSchema.parse({ name: 'd', schema_name: 'cohort', tables: [{ name: 'person' }, { name: 'numbers' }] }));
      assert.deepEqual(resolved.tables.map((t) => [t.name, t.columns.length]), [['person', 2], ['numbers', 1]]);
      assert.equal(paths(from).length, 2);
      const missing = await failure(resolveDataset(c, datasetSchema.parse({ name: 'd', schema_name: 'cohort', tables: [{ name: 'person' }, { name: 'Nope' }] })));
      assert.equal(missing.code, 'TABLE_NOT_FOUND');
      assert.match(missing.message, /Table 'Nope' not found in schema 'cohort' .* Available tables: 'adults', 'all_types', 'numbers', 'person', 'places', 'zzz_last'\.$/);
    } finally {
      await c.close();
    }
  });

  test('a column type without a mapping is reported, and refused only for extraction', async () => {
    const c = connector();
    try {
      const shape = (await c.getColumns('cohort', ['places'])).get('places')![1]!;
      assert.equal(shape.datatype, 'geography(4326)');
      assert.equal(shape.unsupported, true);
      const refused = await failure(resolveDataset(c, datasetSchema.parse({ name: 'd', schema_name: 'cohort', tables: [{ name: 'places' }] }), { forExtraction: true }));
      assert.equal(refused.code, 'SOURCE_NOT_SUPPORTED');
      assert.match(refused.message, /Column 'shape' of table 'cohort\.places' on the databrickssql source .* has type 'geography\(4326\)'/);
    } finally {
      await c.close();
    }
  });
});

describe('extraction from the SQL warehouse', () => {
  test('the all-types table: its Delta version pinned, every value in canonical text', async () => {
    const from = double.warehouse.calls.length;
    const c = connector();
    try {
      const resolved = await resolveDataset(c, datasetSchema.parse({ name: 'd', schema_name: 'cohort', tables: [{ name: 'all_types' }] }), { forExtraction: true });
      const snapshot = await c.snapshot();
      try {
        const csv = await readAll(snapshot.csv('cohort', 'all_types', resolved.tables[0]!.columns));
        const rows = parseCsv(csv);
        const expected = parseCsv(DBX_ALL_TYPES_CSV);
        for (let r = 0; r < expected.length; r++) {
          for (let i = 0; i < expected[r]!.length; i++) assert.equal(rows[r]![i], expected[r]![i], `row ${r}, column ${expected[0]![i]}`);
        }
        assert.equal(csv, DBX_ALL_TYPES_CSV);
        assert.equal(snapshot.rowsRead('cohort', 'all_types'), 4);
        const said = snapshot as unknown as { consistency: string; caveat: boolean };
        assert.equal(said.caveat, true);
        assert.match(said.consistency, /no snapshot across tables: each Delta table was read at one pinned version .* Read: cohort\.all_types version 3\.$/);
      } finally {
        await snapshot.close();
      }
    } finally {
      await c.close();
    }
    const statements = double.warehouse.calls.slice(from).filter((x) => x.method === 'ExecuteStatement').map((x) => x.statement);
    assert.equal(statements[0], 'DESCRIBE HISTORY `research`.`cohort`.`all_types` LIMIT 1');
    assert.match(statements[1]!, /^SELECT `id` AS c0, `c_tinyint` AS c1, .* CAST\(`c_bigint` AS STRING\) AS c4, CAST\(`c_decimal` AS STRING\) AS c5, .* CAST\(unix_micros\(`c_timestamp`\) AS STRING\) AS c14, .* lower\(hex\(`c_binary`\)\) AS c16, to_json\(`c_array_int`, map\('ignoreNullFields', 'false'\)\) AS c17, .* FROM `research`\.`cohort`\.`all_types` VERSION AS OF 3$/);
  });

  test('rows come in fetches of at most the configured size, each asked for only when the last was taken', async () => {
    const from = double.warehouse.calls.length;
    const c = connector({}, { fetchRows: 3 });
    try {
      await c.schemaTables('cohort');
      const columns = (await c.getColumns('cohort', ['numbers'])).get('numbers')!;
      const snapshot = await c.snapshot();
      try {
        assert.equal(await readAll(snapshot.csv('cohort', 'numbers', columns)), `n\n${Array.from({ length: 10 }, (_, i) => i + 1).join('\n')}\n`);
      } finally {
        await snapshot.close();
      }
    } finally {
      await c.close();
    }
    const calls = double.warehouse.calls.slice(from);
    const select = calls.findIndex((x) => x.statement?.startsWith('SELECT `n`'));
    assert.equal(calls[select]!.statement, 'SELECT `n` AS c0 FROM `research`.`cohort`.`numbers` VERSION AS OF 5');
    assert.equal(calls[select]!.maxRows, 3, 'direct results capped at one fetch');
    const fetches = calls.slice(select + 1).filter((x) => x.method === 'FetchResults');
    assert.deepEqual(fetches.map((f) => [f.maxRows, f.rows]), [[3, 3], [3, 3], [3, 1]]);
  });

  test('a token that stops working between fetches is replaced and the fetch repeated: no row lost or doubled', async () => {
    const c = connector({}, { fetchRows: 2 });
    try {
      const columns = (await c.getColumns('cohort', ['numbers'])).get('numbers')!;
      const snapshot = await c.snapshot();
      try {
        let csv = '';
        let chunks = 0;
        for await (const chunk of snapshot.csv('cohort', 'numbers', columns)) {
          csv += (chunk as Buffer).toString('utf8');
          if (chunks++ === 0) double.expireTokens();
        }
        assert.equal(csv, `n\n${Array.from({ length: 10 }, (_, i) => i + 1).join('\n')}\n`);
      } finally {
        await snapshot.close();
      }
    } finally {
      await c.close();
    }
    assert.equal(double.requests.filter((r) => r.status === 401).at(-1)?.thrift, 'FetchResults');
  });

  test('a view has no version: read as it is, and the log says so', async () => {
    const from = double.warehouse.calls.length;
    const c = connector();
    try {
      await c.schemaTables('cohort');
      const columns = (await c.getColumns('cohort', ['adults'])).get('adults')!;
      const snapshot = await c.snapshot();
      try {
        assert.equal(await readAll(snapshot.csv('cohort', 'adults', columns)), 'id\n1\n');
        assert.match((snapshot as unknown as { consistency: string }).consistency, /Read: cohort\.adults \(not versioned\)\.$/);
      } finally {
        await snapshot.close();
      }
    } finally {
      await c.close();
    }
    assert.ok(!double.warehouse.calls.slice(from).some((x) => x.statement?.startsWith('DESCRIBE HISTORY')));
  });

  test('without direct results the driver polls the status and asks for the metadata', async () => {
    const polled = await new DatabricksDouble({ clients: { [SERVICE_PRINCIPAL.clientId]: SERVICE_PRINCIPAL.clientSecret }, catalogs: catalogs(), directResults: false, pageRows: 1 }).start();
    try {
      const c = connector({}, {}, polled);
      try {
        const columns = (await c.getColumns('cohort', ['person'])).get('person')!;
        const snapshot = await c.snapshot();
        assert.equal(await readAll(snapshot.csv('cohort', 'person', columns)), 'id,note\n1,a\n2,\n');
        await snapshot.close();
      } finally {
        await c.close();
      }
      const methods = polled.warehouse.calls.map((x) => x.method);
      assert.ok(methods.includes('GetOperationStatus') && methods.includes('GetResultSetMetadata'), methods.join(','));
      assert.deepEqual(polled.unexpected, []);
      assert.deepEqual(polled.warehouse.open, { sessions: 0, operations: 0 });
    } finally {
      await polled.close();
    }
  });

  test('a statement the warehouse fails (a table dropped meanwhile) names the source and the reason', async () => {
    const c = connector();
    try {
      const columns = (await c.getColumns('cohort', ['person'])).get('person')!;
      const snapshot = await c.snapshot();
      const error = await failure(readAll(snapshot.csv('cohort', 'gone', columns)));
      assert.equal(error.code, 'SOURCE_QUERY_FAILED');
      assert.match(error.message, /SQL warehouse \/sql\/1\.0\/warehouses\/double01 of the databrickssql source .* failed: \[TABLE_OR_VIEW_NOT_FOUND\]/);
      await snapshot.close();
    } finally {
      await c.close();
    }
  });
});

describe('column-based result sets', () => {
  test('an older warehouse (protocol V4: no Arrow) answers column-based rows: the same bytes', async () => {
    const arrow = await new DatabricksDouble({
      clients: { [SERVICE_PRINCIPAL.clientId]: SERVICE_PRINCIPAL.clientSecret }, catalogs: catalogs(), protocolVersion: PROTOCOL.V4, pageRows: 3,
    }).start();
    try {
      const c = connector({}, { fetchRows: 3 }, arrow);
      try {
        await c.schemaTables('cohort');
        const columns = (await c.getColumns('cohort', ['all_types'])).get('all_types')!;
        const snapshot = await c.snapshot();
        try {
          assert.equal(await readAll(snapshot.csv('cohort', 'all_types', columns)), DBX_ALL_TYPES_CSV);
        } finally {
          await snapshot.close();
        }
      } finally {
        await c.close();
      }
      const executes = arrow.warehouse.calls.filter((x) => x.method === 'ExecuteStatement');
      assert.ok(executes.length > 0 && executes.every((x) => !x.canReadArrow && !x.canLz4 && !x.canDownload && x.format === 'column'), 'nothing the server cannot give was asked for');
      assert.deepEqual(arrow.unexpected, []);
      assert.deepEqual(arrow.warehouse.open, { sessions: 0, operations: 0 });
    } finally {
      await arrow.close();
    }
  });
});

describe('the warehouse', () => {
  test('a stopped warehouse: asked again while it starts, then a clear error', async () => {
    const c = connector({}, { warehouseStartTimeoutMs: 1200 });
    double.warehouseState = { state: 'STOPPED' };
    try {
      const started = Date.now();
      const error = await failure(c.ping());
      assert.equal(error.code, 'SOURCE_UNREACHABLE');
      assert.match(error.message, /The SQL warehouse \/sql\/1\.0\/warehouses\/double01 of the databrickssql source https:\/\/127\.0\.0\.1 \(catalog research\) is not running or not accepting sessions \(HTTP 503\); start it, or retry once it has started \(waited 1 s\)\./);
      assert.ok(Date.now() - started < 5000);
      assert.ok(double.requests.filter((r) => r.status === 503).length >= 2, 'asked more than once');
    } finally {
      double.warehouseState = { state: 'RUNNING' };
      await c.close();
    }
  });

  test('a warehouse that starts meanwhile is used once it answers', async () => {
    const c = connector({}, { warehouseStartTimeoutMs: 10_000 });
    double.warehouseState = { state: 'STOPPED', startAfter: 2 };
    try {
      await c.ping();
    } finally {
      double.warehouseState = { state: 'RUNNING' };
      await c.close();
    }
  });

  test('a wrong http_path is named', async () => {
    const wrong = new DatabricksConnector(sourceSchema.parse(databricksSource(double, 'research', { httpPath: '/sql/1.0/warehouses/nope' })) as DatabricksSourceConfig, SERVICE_PRINCIPAL, {}, {}, double.ca);
    const error = await failure(wrong.ping());
    await wrong.close();
    assert.match(error.message, /There is no SQL warehouse \/sql\/1\.0\/warehouses\/nope of the databrickssql source .* \(HTTP 40\d\): check http_path\.|answered HTTP 40\d/);
    double.unexpected.splice(double.unexpected.findIndex((u) => u.includes('/sql/1.0/warehouses/nope')), 1);
  });

  test('telemetry is off: every connection the connector opens goes to the workspace, none to a telemetry or feature-flag host', async (t) => {
    // The driver never reports to loopback names (127.*, localhost), so the double is reached by this
    // host's own name. With telemetry on, the same driver connects to {host}:443 for its feature flags
    // as soon as connect() is called (seen while writing this test; it then retries for 30 s).
    const name = os.hostname();
    const address = await lookup(name).catch(() => undefined);
    if (!address || !address.address.startsWith('127.') || !/^[A-Za-z0-9.-]+$/.test(name)) return t.skip(`${name} does not resolve to a loopback address`);
    const connects: string[] = [];
    const original = net.Socket.prototype.connect;
    net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
      const target = args[0] as { host?: string; port?: number } | number;
      connects.push(typeof target === 'object' ? `${target.host}:${target.port}` : String(target));
      return (original as (...a: unknown[]) => net.Socket).apply(this, args);
    } as typeof original;
    try {
      const c = new DatabricksConnector(source(name), SERVICE_PRINCIPAL, {}, {}, double.ca);
      try {
        await c.ping();
      } finally {
        await c.close();
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      net.Socket.prototype.connect = original;
    }
    assert.ok(connects.length > 0);
    assert.deepEqual([...new Set(connects)], [`${name}:${double.port}`]);
    assert.deepEqual(double.requests.filter((r) => /feature-flags|telemetry/.test(r.path)), []);
  });
});
