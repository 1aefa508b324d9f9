/**
 * The contract's request schemas (lib/contract): what the CLI sends is accepted
 * and normalised, what it cannot mean is rejected with the offending field named.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accessRequestSchema,
  DEFAULT_PORTS,
  describeSource,
  destinationSchema,
  parseRequest,
  publishRequestSchema,
  sourceSchema,
  toGraphQL,
  fromGraphQL,
  transferRequestSchema,
} from '../../lib/contract/index.js';
import { AppError } from '../../lib/errors.js';
import { accessRequest, dataset, publishRequest, sqlSource, transferRequest } from '../support/requests.js';

const pgSource = () => sqlSource('postgresql', 'my_database', { host: 'db.example.org' });

/** The 422 detail parseRequest gives for a body, failing when the body is accepted. */
function rejection(schema: Parameters<typeof parseRequest>[0], body: unknown): string {
  try {
    parseRequest(schema, body);
  } catch (error) {
    assert.ok(error instanceof AppError, `not an AppError: ${String(error)}`);
    assert.equal(error.code, 'INVALID_REQUEST');
    assert.equal(error.status, 422);
    return error.detail;
  }
  assert.fail(`accepted: ${JSON.stringify(body)}`);
}

describe('source', () => {
  test('type names arrive in any case', () => {
    for (const [sent, parsed] of [
      ['postgresql', 'postgresql'],
      ['PostgreSQL', 'postgresql'],
      ['POSTGRESQL', 'postgresql'],
      ['MySQL', 'mysql'],
      [' mysql ', 'mysql'],
      ['MsSql', 'mssql'],
    ]) {
      assert.equal(sourceSchema.parse({ ...pgSource(), type: sent }).type, parsed, sent);
    }
  });

  test('sqlserver, in any case, is an alias of mssql', () => {
    assert.equal(sourceSchema.parse({ ...pgSource(), type: 'sqlserver' }).type, 'mssql');
    assert.equal(sourceSchema.parse({ ...pgSource(), type: 'SQLServer' }).type, 'mssql');
  });

  test('an unknown type is rejected listing the known ones', () => {
    const detail = rejection(accessRequestSchema, accessRequest({ ...pgSource(), type: 'oracle' }));
    assert.match(detail, /source\.type/);
    for (const known of ['postgresql', 'mysql', 'mssql', 'sqlserver', 'databrickssql']) assert.match(detail, new RegExp(known));
  });

  test('a port absent or null takes the type default; a given port is kept', () => {
    assert.deepEqual(DEFAULT_PORTS, { postgresql: 5432, mysql: 3306, mssql: 1433, databrickssql: 443 });
    for (const type of ['postgresql', 'mysql', 'mssql', 'sqlserver'] as const) {
      const expected = DEFAULT_PORTS[type === 'sqlserver' ? 'mssql' : type];
      const { port: _port, ...withoutPort } = pgSource();
      assert.equal(sourceSchema.parse({ ...withoutPort, type }).port, expected, `${type}, absent`);
      assert.equal(sourceSchema.parse({ ...pgSource(), type, port: null }).port, expected, `${type}, null`);
    }
    assert.equal(sourceSchema.parse({ ...pgSource(), port: 6543 }).port, 6543);
  });

  test('a Databricks source defaults to port 443', () => {
    const parsed = sourceSchema.parse({
      name: 'dbx',
      type: 'DatabricksSQL',
      host_url: 'https://adb-123.4.azuredatabricks.net',
      http_path: '/sql/1.0/warehouses/abc123',
      catalog: 'main',
      credentials: { provider: 'AzureKeyVault', spn_clientid: 'dbx-client-id', spn_secret: 'dbx-secret' },
    });
    assert.equal(parsed.type, 'databrickssql');
    assert.equal(parsed.port, 443);
    assert.equal('name' in parsed, false);
  });

  test("the source's name is ignored, not rejected", () => {
    const parsed = sourceSchema.parse(pgSource());
    assert.equal('name' in parsed, false);
    assert.deepEqual(parsed, {
      type: 'postgresql',
      host_url: 'db.example.org',
      database: 'my_database',
      port: 5432,
      credentials: { provider: 'AzureKeyVault', username_key: 'postgresql-user', password_key: 'postgresql-password' },
    });
  });

  test('secret names must be names, never paths or values', () => {
    for (const bad of ['../etc/passwd', 'a/b', 'has space', '', 'x'.repeat(128)]) {
      const body = accessRequest({ ...pgSource(), credentials: { provider: 'AzureKeyVault', username_key: bad, password_key: 'pg-password' } });
      assert.match(rejection(accessRequestSchema, body), /source\.credentials\.username_key/, bad);
    }
  });

  test('a port that is not a whole number in range is rejected naming source.port', () => {
    for (const port of ['5432', 5432.5, 0, 70000]) {
      assert.match(rejection(accessRequestSchema, accessRequest({ ...pgSource(), port } as never)), /source\.port/, String(port));
    }
  });

  test('the source description names type, host, port and database, never credentials', () => {
    const text = describeSource(sourceSchema.parse(pgSource()));
    assert.equal(text, 'postgresql source db.example.org:5432/my_database');
    assert.doesNotMatch(text, /postgresql-user|postgresql-password/);
  });
});

describe('dataset', () => {
  test('the fields the CLI adds (description, staging_path, publish_path) are ignored', () => {
    const body = transferRequest(pgSource(), { ...dataset('public', ['person']), staging_path: { a: 1 }, publish_path: { b: 2 } } as never);
    const parsed = transferRequestSchema.parse(body);
    assert.equal('staging_path' in parsed.dataset, false);
    assert.equal('publish_path' in parsed.dataset, false);
    assert.deepEqual(parsed.dataset.tables, [{ name: 'person', description: null, columns: null }]);
  });

  test('null descriptions and datatypes are accepted at every level', () => {
    const body = transferRequest(pgSource(), dataset('public', [{ name: 'person', columns: ['person_id'] }]));
    const parsed = transferRequestSchema.parse(body);
    assert.equal(parsed.dataset.description, null);
    assert.deepEqual(parsed.dataset.tables?.[0]?.columns, [{ name: 'person_id', datatype: null, description: null }]);
  });

  test('tables and columns may be absent, null or empty', () => {
    for (const tables of [undefined, null, []]) {
      const { tables: _t, ...rest } = dataset('public');
      const parsed = transferRequestSchema.parse(transferRequest(pgSource(), (tables === undefined ? rest : { ...rest, tables }) as never));
      assert.deepEqual(parsed.dataset.tables ?? [], [], String(tables));
    }
    const parsed = transferRequestSchema.parse(transferRequest(pgSource(), { ...dataset('public'), tables: [{ name: 'person', columns: [] }] } as never));
    assert.deepEqual(parsed.dataset.tables?.[0]?.columns, []);
  });

  test('a table or column name that is empty or has control characters is rejected naming it', () => {
    const body = transferRequest(pgSource(), dataset('public', [{ name: 'person', columns: ['ok', 'bad\nname'] }, '']));
    const detail = rejection(transferRequestSchema, body);
    assert.match(detail, /dataset\.tables\[0\]\.columns\[1\]\.name/);
    assert.match(detail, /dataset\.tables\[1\]\.name/);
  });

  test('a transfer request needs a dataset', () => {
    const { dataset: _d, ...body } = transferRequest(pgSource(), dataset('public'));
    assert.match(rejection(transferRequestSchema, body), /dataset/);
  });
});

describe('extract_config', () => {
  test('may be absent, null, or name a backend engine that is ignored', () => {
    const { extract_config: _e, ...absent } = accessRequest(pgSource());
    for (const body of [absent, { ...absent, extract_config: null }, { ...absent, extract_config: { backend_engine: 'pyarrow' } }, { ...absent, extract_config: { backend_engine: null } }]) {
      assert.doesNotThrow(() => parseRequest(accessRequestSchema, body), JSON.stringify(body));
    }
  });
});

describe('destination', () => {
  const parse = (d: Record<string, unknown>) => destinationSchema.parse({ name: 'LSC', ...d });

  test('filestore takes csv or duckdb in any case, csv by default', () => {
    assert.deepEqual(parse({ type: 'filestore', format: 'duckdb' }), { name: 'LSC', type: 'filestore', format: 'duckdb' });
    assert.equal(parse({ type: 'FileStore', format: 'DuckDB' }).format, 'duckdb');
    assert.equal(parse({ type: 'FILESTORE', format: 'CSV' }).format, 'csv');
    assert.equal(parse({ type: 'filestore' }).format, 'csv');
    assert.equal(parse({ type: 'filestore', format: null }).format, 'csv');
  });

  test('postgresql takes sql in any case, sql by default', () => {
    assert.deepEqual(parse({ type: 'PostgreSQL' }), { name: 'LSC', type: 'postgresql', format: 'sql' });
    assert.equal(parse({ type: 'postgresql', format: 'SQL' }).format, 'sql');
  });

  test('a format the type does not take is rejected naming destination.format', () => {
    for (const d of [
      { type: 'filestore', format: 'sql' },
      { type: 'filestore', format: 'parquet' },
      { type: 'postgresql', format: 'csv' },
      { type: 'postgresql', format: 'duckdb' },
    ]) {
      assert.match(rejection(publishRequestSchema, { ...publishRequest(), destination: { name: 'LSC', ...d } }), /destination\.format/, JSON.stringify(d));
    }
  });

  test('an unknown type or a name that cannot name a mount is rejected naming the field', () => {
    assert.match(rejection(publishRequestSchema, { ...publishRequest(), destination: { name: 'LSC', type: 'ftp' } }), /destination\.type/);
    assert.match(rejection(publishRequestSchema, { ...publishRequest(), destination: { name: 'L S C', type: 'filestore' } }), /destination\.name/);
    assert.match(rejection(publishRequestSchema, { ...publishRequest(), destination: { name: '../x', type: 'filestore' } }), /destination\.name/);
  });
});

describe('project', () => {
  test('project_start_time is a real YYYYMMDD_HHMMSS date and time', () => {
    for (const ok of ['20250205_010101', '20240229_235959', '20251231_000000']) {
      assert.doesNotThrow(() => publishRequestSchema.parse(publishRequest({ project_start_time: ok })), ok);
    }
    for (const bad of ['2025-02-05 01:01:01', '20250205010101', '20250205_0101', '20250230_010101', '20250229_000000', '20251301_000000', '20250205_240000', '20250205_006000', '20250205_000060', ' 20250205_010101']) {
      assert.match(rejection(publishRequestSchema, publishRequest({ project_start_time: bad })), /project_start_time/, bad);
    }
  });

  test('project_name has no white space', () => {
    assert.doesNotThrow(() => publishRequestSchema.parse(publishRequest({ project_name: 'Pr004' })));
    for (const bad of ['Pr 004', 'Pr\t004', '', ' Pr004']) {
      assert.match(rejection(publishRequestSchema, publishRequest({ project_name: bad })), /project_name/, JSON.stringify(bad));
    }
  });

  test('unknown top-level fields are ignored', () => {
    const parsed = publishRequestSchema.parse({ ...publishRequest(), destination_type: 'LSC', extra: 1 });
    assert.equal('extra' in parsed, false);
    assert.equal('destination_type' in parsed, false);
  });
});

describe('parseRequest', () => {
  test('lists every offending field in one 422 detail', () => {
    const detail = rejection(transferRequestSchema, {
      ...transferRequest({ ...pgSource(), port: 'abc' } as never, dataset('public')),
      project_start_time: 'yesterday',
      destination: { name: 'LSC', type: 'filestore', format: 'xml' },
    });
    assert.match(detail, /^Invalid request body: /);
    assert.match(detail, /project_start_time/);
    assert.match(detail, /source\.port/);
    assert.match(detail, /destination\.format/);
  });

  test('a body that is not a JSON object is a 422', () => {
    for (const body of [null, [], 'text', 42]) assert.match(rejection(transferRequestSchema, body), /expected a JSON object/);
  });

  test('says a missing field is required', () => {
    const { source: _s, ...body } = transferRequest(pgSource(), dataset('public'));
    assert.equal(rejection(transferRequestSchema, body), 'Invalid request body: source: is required.');
    const { database: _d, ...noDatabase } = pgSource();
    assert.equal(rejection(accessRequestSchema, accessRequest(noDatabase as never)), 'Invalid request body: source.database: is required.');
  });

  test('gives one reason per bad field', () => {
    assert.equal(rejection(publishRequestSchema, publishRequest({ project_start_time: 'soon' })), 'Invalid request body: project_start_time: must be YYYYMMDD_HHMMSS.');
  });
});

describe('snake_case and camelCase', () => {
  test('converting to camelCase and back gives the contract body again', () => {
    const body = transferRequest(pgSource(), dataset('public', [{ name: 'person', columns: ['person_id'] }]));
    const camel = toGraphQL(body) as Record<string, unknown>;
    assert.equal('projectStartTime' in camel, true);
    assert.equal('hostUrl' in (camel.source as object), true);
    assert.deepEqual(fromGraphQL(camel), body);
  });
});
