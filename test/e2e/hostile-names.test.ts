/**
 * Hostile names cannot make the product read what was not approved, write
 * outside its storage, or answer 500. Every name that reaches a path or a query
 * (project name, start time, destination name, schema, table and column names,
 * secret names) is checked, then used only quoted or through path-containment
 * checks. Each case is sent through the gateway and straight to the subgraphs
 * (REST and GraphQL); each answer is the contract's envelope with a 4xx status;
 * nothing appears outside the mount's project folders; and on the sources only
 * catalog queries and the approved SELECT/COPY ran. Malformed bodies and HTTP
 * are in hostile-bodies.test.ts.
 */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { validateBag } from '../../scripts/support/bag-validate.js';
import { parseCsv } from '../support/csv-text.js';
import { accessRequest, dataset, graphqlInput, publishRequest, transferRequest, type DatasetBody } from '../support/requests.js';
import { EVIL_COLUMN, EVIL_TABLE, LOOKALIKE, M, TEN_KB, body, envelope, extractionStatements, graphqlError, graphqlOperations, markedPaths, myDb, mySource, pgDb, pgSource, platform, restEndpoints, setUpHostile, statementsDuring, tearDownHostile, touchesNothing, type Answer } from '../support/hostile-platform.js';

before(() => setUpHostile());
after(() => tearDownHostile());

// ---------------------------------------------------------------- names reaching paths

const HOSTILE = {
  project_name: [`../${M}`, `../../${M}`, `/tmp/${M}`, `${M}/../..`, `a/${M}`, `a\\${M}`, `${M}\u0000`, `${M}\u0000/../x`, M.repeat(TEN_KB / M.length), '..', '.', `.${M}`, ` ${M}`, `${M}\n`, ''],
  project_start_time: [`../${M}`, `/tmp/${M}`, `20250205_010101/../../${M}`, '20250205_010101\u0000', '20250205_010101/', `20250205_010101${'1'.repeat(TEN_KB)}`, '20251332_250000', '２０２５０２０５_０１０１０１'],
  destination_name: [`../${M}`, `/tmp/${M}`, `LSC/../${M}`, 'LSC\u0000', 'L'.repeat(TEN_KB), 'LSC\\..', `LSC ${M}`],
  secret_name: [`../${M}`, '/etc/passwd', `a/${M}`, '..', `${M}\u0000`, 's'.repeat(TEN_KB), `${M}.txt`],
};

function withField(field: keyof typeof HOSTILE, value: string): any {
  switch (field) {
    case 'project_name':
      return body({ project_name: value });
    case 'project_start_time':
      return body({ project_start_time: value });
    case 'destination_name':
      return body({ destination: { name: value, type: 'filestore', format: 'csv' } });
    case 'secret_name':
      return body({ source: { ...pgSource, credentials: { ...pgSource.credentials, password_key: value } } });
  }
}

describe('names that reach paths', () => {
  for (const field of Object.keys(HOSTILE) as Array<keyof typeof HOSTILE>) {
    test(`${field}: ../, absolute, / and \\, NUL, 10 KB … are a 422 on every REST endpoint; nothing is written anywhere`, async () => {
      await touchesNothing(async () => {
        for (const value of HOSTILE[field]) {
          for (const e of restEndpoints(platform)) {
            const sent = e.shape(withField(field, value));
            // The metadata service reads no destination; publish endpoints read no source.
            if ((field === 'destination_name' && e.route === '/metadata/project') || (field === 'secret_name' && e.route.endsWith('/publish'))) continue;
            const detail = envelope(await platform.post(e.base, e.route, sent), 422, `${e.name} ${field}=${JSON.stringify(value.slice(0, 40))}`);
            const named = field === 'destination_name' ? 'destination.name' : field === 'secret_name' ? 'source.credentials.password_key' : field;
            assert.ok(detail.includes(named), `${e.name}: the detail names ${named}: ${detail}`);
            assert.ok(detail.length < 2000, `${e.name}: the detail does not echo 10 KB: ${detail.length} characters`);
          }
        }
      });
    });
  }

  test('the same through GraphQL, at the gateway and at the subgraphs: an error with status 422', async () => {
    await touchesNothing(async () => {
      for (const field of Object.keys(HOSTILE) as Array<keyof typeof HOSTILE>) {
        for (const value of HOSTILE[field]) {
          for (const op of graphqlOperations(platform)) {
            if ((field === 'destination_name' && op.name.includes('datasetMetadata')) || (field === 'secret_name' && op.name.includes('publishProject'))) continue;
            const res = await platform.graphql(op.base, op.query, { r: op.input(withField(field, value)) });
            graphqlError(res, 422, `${op.name} ${field}=${JSON.stringify(value.slice(0, 40))}`);
          }
        }
      }
    });
  });

  test('a destination without a mount is a 422 naming the variable to set; lower case finds the LSC mount', async () => {
    await touchesNothing(async () => {
      for (const e of restEndpoints(platform).filter((x) => x.route !== '/metadata/project')) {
        const detail = envelope(await platform.post(e.base, e.route, e.shape(body({ destination: { name: `NOPE_${M}`, type: 'filestore' } }))), 422, e.name);
        assert.match(detail, new RegExp(`TARGET_STORAGE_ACCOUNT_NOPE_${M.toUpperCase()}_SDE_MNT_PATH`));
      }
    });
    const lower = await platform.post(platform.publish, '/data-publish/validate', { ...accessRequest(pgSource), destination: { name: 'lsc', type: 'filestore' } });
    assert.equal(lower.status, 200, JSON.stringify(lower.body));
  });
});

// ---------------------------------------------------------------- names reaching queries

describe('names that reach queries: PostgreSQL', () => {
  test(`a table literally named ${JSON.stringify(EVIL_TABLE)} is extracted as a name: only the approved COPYs ran, nothing was dropped`, async () => {
    const start = '20250501_000001';
    const data = dataset('public', [{ name: EVIL_TABLE, columns: [EVIL_COLUMN, "it's"] }, 'person']);
    let answer: Answer | undefined;
    const sqls = await statementsDuring('postgresql', async () => {
      answer = await platform.post(platform.gateway, '/project/package', body({ project_start_time: start }, data));
    });
    assert.equal(answer!.status, 200, JSON.stringify(answer!.body));
    const copies = extractionStatements(sqls);
    assert.deepEqual(copies.length, 2, sqls.join('\n'));
    assert.match(copies[0]!, /^COPY \(SELECT .*"""; DROP TABLE person; --".* FROM "public"\."x""; DROP TABLE person; --"\) TO STDOUT/s);
    assert.match(copies[1]!, /FROM "public"\."person"\)/);
    const outputs = path.join(platform.mountDir, 'staging', 'Pr004', start, 'data', 'outputs');
    assert.deepEqual((await readdir(outputs)).sort(), ['person.csv', 'x_; DROP TABLE person; --.csv']);
    assert.deepEqual(parseCsv(await readFile(path.join(outputs, 'x_; DROP TABLE person; --.csv'), 'utf8')), [[EVIL_COLUMN, "it's"], ['1', 'a;b'], ['2', '--c'], ['3', null]]);
    assert.equal((await pgDb.client.query('SELECT count(*)::int AS n FROM person')).rows[0].n, 2, 'person is still there');
  });

  test('the same table into DuckDB keeps its name, quoted', async () => {
    const start = '20250501_000002';
    const answer = await platform.post(platform.gateway, '/project/package', body({ project_start_time: start, destination: { name: 'LSC', type: 'filestore', format: 'duckdb' } }, dataset('public', [EVIL_TABLE])));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const instance = await DuckDBInstance.create(path.join(platform.mountDir, 'staging', 'Pr004', start, 'data', 'outputs', 'database.duckdb'), { access_mode: 'READ_ONLY' });
    const conn = await instance.connect();
    try {
      const rows = (await conn.runAndReadAll(`SELECT * FROM "public"."x""; DROP TABLE person; --" ORDER BY 1`)).getRows();
      assert.deepEqual(rows.map((r) => r.map((v) => (v === null ? null : String(v)))), [['1', 'a;b'], ['2', '--c'], ['3', null]]);
      const columns = (await conn.runAndReadAll(`SELECT column_name FROM information_schema.columns WHERE table_name = '${EVIL_TABLE.replaceAll("'", "''")}' ORDER BY ordinal_position`)).getRows().flat();
      assert.deepEqual(columns, [EVIL_COLUMN, "it's"]);
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  });

  test('hostile names that do not exist are a 404 (table, column, schema); no COPY ran, nothing was dropped or staged', async () => {
    const cases: Array<[string, DatasetBody, RegExp]> = [
      ['table', dataset('public', ['y"; DROP TABLE person; --']), /^Table 'y"; DROP TABLE person; --' not found in schema 'public'.*Available tables: .*'person'/],
      ['column', dataset('public', [{ name: 'person', columns: ['name"; DROP TABLE person; --'] }]), /^Column 'name"; DROP TABLE person; --' not found in table 'person'/],
      ['schema', dataset('public"; DROP TABLE person; --', ['person']), /^Schema 'public"; DROP TABLE person; --' not found/],
      ['look-alike', dataset('public', [LOOKALIKE]), new RegExp(`^Table '${LOOKALIKE}' not found.*'person'`)],
      ['case', dataset('public', ['PERSON']), /^Table 'PERSON' not found/],
    ];
    await touchesNothing(async () => {
      for (const [what, data, pattern] of cases) {
        for (const e of restEndpoints(platform).filter((x) => !x.route.endsWith('/publish') && !x.route.endsWith('/data-publish/validate'))) {
          const sqls = await statementsDuring('postgresql', async () => {
            const detail = envelope(await platform.post(e.base, e.route, e.shape(body({ project_start_time: '20250501_000003' }, data))), 404, `${e.name} ${what}`);
            assert.match(detail, pattern, `${e.name} ${what}`);
          });
          assert.deepEqual(extractionStatements(sqls), [], `${e.name} ${what}: nothing was read`);
        }
        const gql = await platform.graphql(platform.gateway, 'query ($r: MetadataRequest!) { datasetMetadata(request: $r) { tables { name } } }', { r: graphqlInput({ source: pgSource, dataset: data }) });
        graphqlError(gql, 404, `GraphQL ${what}`);
      }
    });
    assert.equal((await pgDb.client.query('SELECT count(*)::int AS n FROM person')).rows[0].n, 2);
  });

  test('schema, table and column names with NUL or control characters, or 10 KB long, are a 422 naming their place', async () => {
    const cases: Array<[string, any]> = [
      ['dataset.schema_name', body({}, dataset(`public\u0000${M}`, ['person']))],
      ['dataset.schema_name', body({}, dataset('s'.repeat(TEN_KB), ['person']))],
      ['dataset.tables[0].name', body({}, dataset('public', [`person\u0000; DROP TABLE person`]))],
      ['dataset.tables[0].name', body({}, dataset('public', [`person\n${M}`]))],
      ['dataset.tables[0].name', body({}, dataset('public', ['t'.repeat(TEN_KB)]))],
      ['dataset.tables[0].columns[0].name', body({}, dataset('public', [{ name: 'person', columns: [`name\u0000`] }]))],
      ['dataset.tables[0].columns[0].name', body({}, dataset('public', [{ name: 'person', columns: ['c'.repeat(TEN_KB)] }]))],
      ['source.database', body({ source: { ...pgSource, database: `db\u0000${M}` } })],
    ];
    await touchesNothing(async () => {
      for (const [place, sent] of cases) {
        for (const e of restEndpoints(platform).filter((x) => !x.route.endsWith('/publish') && (place === 'source.database' || !x.route.endsWith('/data-publish/validate')))) {
          const sqls = await statementsDuring('postgresql', async () => {
            const detail = envelope(await platform.post(e.base, e.route, e.shape(sent)), 422, `${e.name} ${place}`);
            assert.ok(detail.includes(place), `${e.name}: the detail names ${place}: ${detail}`);
          });
          assert.deepEqual(sqls, [], `${e.name} ${place}: nothing was sent to the source`);
        }
      }
    });
  });

  test('"Person" and "person" are two tables, each extracted as itself', async () => {
    const start = '20250501_000004';
    const answer = await platform.post(platform.gateway, '/project/package', body({ project_start_time: start }, dataset('public', ['person', 'Person'])));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const outputs = path.join(platform.mountDir, 'staging', 'Pr004', start, 'data', 'outputs');
    // File names never differ by case alone (a researcher's filesystem may fold case).
    assert.deepEqual((await readdir(outputs)).sort(), ['Person.csv', 'person~2.csv']);
    assert.deepEqual(parseCsv(await readFile(path.join(outputs, 'Person.csv'), 'utf8')), [['id', 'label'], ['10', 'upper']]);
    assert.deepEqual(parseCsv(await readFile(path.join(outputs, 'person~2.csv'), 'utf8')), [['person_id', 'name'], ['1', 'Ada'], ['2', 'Grace']]);
  });

  test('table names that look like paths become safe file names inside data/outputs; the bag is valid', async () => {
    const start = '20250501_000005';
    const tables = [`../../${M}`, `/${M}abs`, `a\\${M}`, '..', `.${M}`, `${M}:*?<>|`];
    const answer = await platform.post(platform.gateway, '/project/package', body({ project_start_time: start }, dataset('public', tables)));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const outputs = path.join(platform.mountDir, 'staging', 'Pr004', start, 'data', 'outputs');
    for (const entry of answer.body.payload.data_retrieved) {
      assert.match(entry.file_path, /^data\/outputs\/[^/\\]+\.csv$/, entry.file_path);
      assert.ok(!entry.file_path.slice('data/outputs/'.length).startsWith('.'), entry.file_path);
    }
    assert.equal((await readdir(outputs)).length, tables.length);
    for (const p of await markedPaths()) assert.ok(p.startsWith(outputs + path.sep), `a file named after a table left data/outputs: ${p}`);
    const published = await platform.post(platform.gateway, '/project/publish', publishRequest({ project_start_time: start }));
    assert.equal(published.status, 200, JSON.stringify(published.body));
    assert.equal((await validateBag(path.join(platform.mountDir, 'production', 'Pr004', start))).valid, true);
  });
});

describe('names that reach queries: MariaDB', () => {
  const myBody = (start: string, data: DatasetBody) => ({ ...transferRequest(mySource, data, { project_start_time: start }), destination: { name: 'LSC', type: 'filestore', format: 'csv' } });

  test('tables named with quotes, backticks, semicolons and -- are extracted as names; nothing was dropped', async () => {
    const start = '20250502_000001';
    const data = dataset(null, [{ name: EVIL_TABLE, columns: [EVIL_COLUMN, "it's"] }, 'x`; DROP TABLE person; --', 'Person', 'person']);
    let answer: Answer | undefined;
    const sqls = await statementsDuring('mysql', async () => {
      answer = await platform.post(platform.gateway, '/project/package', myBody(start, data));
    });
    assert.equal(answer!.status, 200, JSON.stringify(answer!.body));
    const selects = extractionStatements(sqls);
    assert.equal(selects.length, 4, sqls.join('\n'));
    assert.ok(selects.some((s) => s.includes('FROM `' + myDb.database + '`.`x"; DROP TABLE person; --`')), selects.join('\n'));
    assert.ok(selects.some((s) => s.includes('FROM `' + myDb.database + '`.`x``; DROP TABLE person; --`')), selects.join('\n'));
    const outputs = path.join(platform.mountDir, 'staging', 'Pr004', start, 'data', 'outputs');
    assert.deepEqual((await readdir(outputs)).sort(), ['Person.csv', 'person~2.csv', 'x_; DROP TABLE person; --.csv', 'x`; DROP TABLE person; --.csv']);
    assert.deepEqual(parseCsv(await readFile(path.join(outputs, 'x_; DROP TABLE person; --.csv'), 'utf8')), [[EVIL_COLUMN, "it's"], ['1', 'a;b'], ['2', '--c']]);
    assert.deepEqual(parseCsv(await readFile(path.join(outputs, 'x`; DROP TABLE person; --.csv'), 'utf8')), [['a`b'], ['7']]);
    assert.deepEqual(parseCsv(await readFile(path.join(outputs, 'Person.csv'), 'utf8')), [['id', 'label'], ['10', 'upper']]);
    assert.deepEqual(parseCsv(await readFile(path.join(outputs, 'person~2.csv'), 'utf8')), [['person_id', 'name'], ['1', 'Ada'], ['2', 'Grace']]);
    const [rows] = await myDb.conn.query('SELECT count(*) AS n FROM person');
    assert.equal(Number((rows as any)[0].n), 2, 'person is still there');
  });

  test('hostile names that do not exist, and look-alikes, are a 404; nothing was read', async () => {
    await touchesNothing(async () => {
      for (const [what, data] of [
        ['table', dataset(null, ['y`; DROP TABLE person; --'])],
        ['column', dataset(null, [{ name: 'person', columns: ['name`; DROP TABLE person; --'] }])],
        ['schema', dataset('x`; DROP DATABASE mysql; --', ['person'])],
        ['look-alike', dataset(null, [LOOKALIKE])],
        ['trailing space', dataset(null, ['person '])],
      ] as const) {
        const sqls = await statementsDuring('mysql', async () => {
          envelope(await platform.post(platform.gateway, '/project/package', myBody('20250502_000002', data)), 404, what);
          envelope(await platform.post(platform.metadata, '/metadata/project', myBody('20250502_000002', data)), 404, what);
        });
        assert.deepEqual(extractionStatements(sqls), [], `${what}: nothing was read`);
      }
    });
    const [rows] = await myDb.conn.query('SELECT count(*) AS n FROM person');
    assert.equal(Number((rows as any)[0].n), 2);
  });
});

// ---------------------------------------------------------------- malformed JSON and HTTP
