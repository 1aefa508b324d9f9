/**
 * Hostile input cannot make the product read what was not approved, write
 * outside its storage, or answer 500. Every name that reaches a path or a query
 * (project name, start time, destination name, schema, table and column names,
 * secret names) is checked, then used only quoted or through path-containment
 * checks. Each case is sent through the gateway and straight to the subgraphs
 * (REST and GraphQL); each answer is the contract's envelope with a 4xx status;
 * nothing appears outside the mount's project folders; and on the sources only
 * catalog queries and the approved SELECT/COPY ran.
 *
 * Duplicated keys in a JSON body: the last one wins, as with JSON.parse (and
 * Python's json, which the CLI uses). The body is parsed once, at the service
 * that receives it, and only the parsed value travels further, so no two
 * components can read two different values.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { validateBag } from '../../scripts/support/bag-validate.js';
import { parseCsv } from '../support/csv-text.js';
import { createMysqlDatabase, createPgDatabase, type TestMysqlDatabase, type TestPgDatabase } from '../support/databases.js';
import { listTree } from '../support/filestore-fs.js';
import { keyFor, startPlatform, type Platform } from '../support/platform.js';
import { accessRequest, dataset, graphqlInput, publishRequest, sqlSource, transferRequest, writeSourceSecrets, type DatasetBody, type SqlSourceBody } from '../support/requests.js';

/** Every hostile name carries this marker, so anything it created can be found by name. */
const M = `hx${randomBytes(4).toString('hex')}`;
const TEN_KB = 10 * 1024;
/** A table literally named like an injection, and a column too. */
const EVIL_TABLE = 'x"; DROP TABLE person; --';
const EVIL_COLUMN = '"; DROP TABLE person; --';
/** U+0435 CYRILLIC SMALL LETTER IE in place of the Latin e. */
const LOOKALIKE = 'p\u0435rson';

let platform: Platform;
let pgDb: TestPgDatabase;
let myDb: TestMysqlDatabase;
let pgSource: SqlSourceBody;
let mySource: SqlSourceBody;
/** Every statement the connectors sent, with the source type. */
const statements: Array<{ type: string; sql: string }> = [];
let currentType = 'postgresql';

before(async () => {
  pgDb = await createPgDatabase('hostile');
  const q = (sql: string) => pgDb.client.query(sql);
  await q("CREATE TABLE person (person_id integer PRIMARY KEY, name text); INSERT INTO person VALUES (1, 'Ada'), (2, 'Grace')");
  await q(`CREATE TABLE "Person" (id integer, label text); INSERT INTO "Person" VALUES (10, 'upper')`);
  await q(`CREATE TABLE "x""; DROP TABLE person; --" ("""; DROP TABLE person; --" integer, "it's" text)`);
  await q(`INSERT INTO "x""; DROP TABLE person; --" VALUES (1, 'a;b'), (2, '--c'), (3, NULL)`);
  for (const name of [`../../${M}`, `/${M}abs`, `a\\${M}`, '..', `.${M}`, `${M}:*?<>|`]) {
    await q(`CREATE TABLE "${name.replaceAll('"', '""')}" (v integer); INSERT INTO "${name.replaceAll('"', '""')}" VALUES (1)`);
  }
  myDb = await createMysqlDatabase('hostile');
  await myDb.conn.query("CREATE TABLE person (person_id INT PRIMARY KEY, name TEXT); INSERT INTO person VALUES (1, 'Ada'), (2, 'Grace')");
  await myDb.conn.query("CREATE TABLE `Person` (id INT, label TEXT); INSERT INTO `Person` VALUES (10, 'upper')");
  await myDb.conn.query("CREATE TABLE `x\"; DROP TABLE person; --` (`\"; DROP TABLE person; --` INT, `it's` TEXT); INSERT INTO `x\"; DROP TABLE person; --` VALUES (1, 'a;b'), (2, '--c')");
  await myDb.conn.query('CREATE TABLE `x``; DROP TABLE person; --` (`a``b` INT); INSERT INTO `x``; DROP TABLE person; --` VALUES (7)');

  platform = await startPlatform({ connectorOptions: { onQuery: (sql) => statements.push({ type: currentType, sql }) } });
  await writeSourceSecrets(platform, 'postgresql');
  await writeSourceSecrets(platform, 'mysql');
  pgSource = sqlSource('postgresql', pgDb.database);
  mySource = sqlSource('mysql', myDb.database);
});

after(async () => {
  await platform?.close();
  await pgDb?.drop();
  await myDb?.drop();
});

// ---------------------------------------------------------------- helpers

interface Answer {
  status: number;
  body: any;
}

/** Asserts the contract's error envelope with one of `statuses` and gives its detail. */
function envelope(answer: Answer, statuses: number | number[], where: string): string {
  const allowed = Array.isArray(statuses) ? statuses : [statuses];
  assert.ok(allowed.includes(answer.status), `${where}: HTTP ${answer.status}, expected ${allowed.join(' or ')}: ${JSON.stringify(answer.body).slice(0, 400)}`);
  assert.deepEqual(Object.keys(answer.body ?? {}).sort(), ['payload', 'status'], where);
  assert.equal(answer.body.status, 'error', where);
  assert.deepEqual(Object.keys(answer.body.payload), ['detail'], where);
  assert.equal(typeof answer.body.payload.detail, 'string', where);
  return answer.body.payload.detail as string;
}

/** Asserts a GraphQL error with one of `statuses` and gives its detail. */
function graphqlError(answer: Answer, statuses: number | number[], where: string): string {
  const allowed = Array.isArray(statuses) ? statuses : [statuses];
  assert.ok(answer.status < 500, `${where}: HTTP ${answer.status}`);
  const error = answer.body.errors?.[0];
  assert.ok(error, `${where}: no error: ${JSON.stringify(answer.body).slice(0, 400)}`);
  assert.ok(allowed.includes(error.extensions.status), `${where}: status ${error.extensions.status}: ${error.extensions.detail}`);
  assert.notEqual(error.extensions.code, 'INTERNAL_SERVER_ERROR', where);
  return error.extensions.detail as string;
}

/** The platform's temporary root: secrets, the mount, the audit log. */
function root(): string {
  return path.dirname(platform.mountDir);
}

/** Every path under the platform's root but the audit log (which grows with every call). */
async function snapshot(): Promise<string[]> {
  return (await listTree(root())).filter((p) => p !== 'audit.jsonl');
}

/** Every path containing the marker, under the platform's root and at the top of the OS temporary folder. */
async function markedPaths(): Promise<string[]> {
  const inRoot = (await listTree(root())).filter((p) => p.includes(M)).map((p) => path.join(root(), p));
  const inTmp = (await readdir(os.tmpdir())).filter((p) => p.includes(M)).map((p) => path.join(os.tmpdir(), p));
  return [...inRoot, ...inTmp, ...[`/${M}`, `/tmp/${M}`].filter((p) => existsSync(p))];
}

/** Runs `work` and asserts it created or removed nothing under the platform's root, and nothing named with the marker anywhere. */
async function touchesNothing(work: () => Promise<void>): Promise<void> {
  const before = await snapshot();
  const marked = await markedPaths();
  await work();
  assert.deepEqual(await snapshot(), before, 'the filestore and secrets are untouched');
  assert.deepEqual(await markedPaths(), marked, 'nothing was created under a hostile name');
}

/** What each REST endpoint of the three services takes, built from a transfer request. */
function restEndpoints(p: Platform) {
  const pick = (b: any, keys: string[]) => Object.fromEntries(keys.map((k) => [k, b[k]]));
  const publishKeys = ['project_name', 'project_start_time', 'destination'];
  const accessKeys = [...publishKeys, 'source', 'extract_config'];
  return [
    { name: 'gateway /project/validate', base: p.gateway, route: '/project/validate', shape: (b: any) => b },
    { name: 'gateway /project/package', base: p.gateway, route: '/project/package', shape: (b: any) => b },
    { name: 'gateway /project/publish', base: p.gateway, route: '/project/publish', shape: (b: any) => pick(b, publishKeys) },
    { name: 'metadata /metadata/project', base: p.metadata, route: '/metadata/project', shape: (b: any) => b },
    { name: 'publish /data-publish/validate', base: p.publish, route: '/data-publish/validate', shape: (b: any) => pick(b, accessKeys) },
    { name: 'publish /data-publish/package', base: p.publish, route: '/data-publish/package', shape: (b: any) => b },
    { name: 'publish /data-publish/publish', base: p.publish, route: '/data-publish/publish', shape: (b: any) => pick(b, publishKeys) },
  ];
}

/** The GraphQL operations taking each kind of request, at the gateway and at the subgraph serving them. */
function graphqlOperations(p: Platform) {
  const ops = {
    validate: 'mutation ($r: ProjectAccessRequest!) { validateProject(request: $r) { validationStatus } }',
    package: 'mutation ($r: ProjectTransferRequest!) { packageProject(request: $r) { dataRetrieved { filePath } } }',
    publish: 'mutation ($r: ProjectPublishRequest!) { publishProject(request: $r) { dataPublished { filePath } } }',
    metadata: 'query ($r: MetadataRequest!) { datasetMetadata(request: $r) { tables { name } } }',
  };
  const transfer = (b: any) => graphqlInput(b);
  const access = (b: any) => {
    const { dataset: _d, ...rest } = b;
    return graphqlInput(rest);
  };
  const publish = (b: any) => graphqlInput({ project_name: b.project_name, project_start_time: b.project_start_time, destination: b.destination });
  const metadata = (b: any) => graphqlInput({ source: b.source, dataset: b.dataset, project_name: b.project_name, project_start_time: b.project_start_time });
  return [p.gateway, p.publish].flatMap((base) => [
    { name: `${base === p.gateway ? 'gateway' : 'publish'} validateProject`, base, query: ops.validate, input: access },
    { name: `${base === p.gateway ? 'gateway' : 'publish'} packageProject`, base, query: ops.package, input: transfer },
    { name: `${base === p.gateway ? 'gateway' : 'publish'} publishProject`, base, query: ops.publish, input: publish },
  ]).concat([p.gateway, p.metadata].map((base) => ({ name: `${base === p.gateway ? 'gateway' : 'metadata'} datasetMetadata`, base, query: ops.metadata, input: metadata })));
}

/** A valid transfer request for the PostgreSQL source, CSV to the LSC filestore. */
function body(overrides: Record<string, unknown> = {}, data: DatasetBody = dataset('public', ['person'])): any {
  return { ...transferRequest(pgSource, data), destination: { name: 'LSC', type: 'filestore', format: 'csv' }, ...overrides };
}

/** Raw bytes to a service, for bodies JSON.stringify cannot make. */
async function postRaw(base: string, route: string, raw: string | Buffer): Promise<Answer> {
  const res = await fetch(`${base}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': keyFor(base, platform) }, body: raw });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

/** Statements sent while `work` ran. */
async function statementsDuring(type: string, work: () => Promise<void>): Promise<string[]> {
  currentType = type;
  const from = statements.length;
  await work();
  return statements.slice(from).map((s) => s.sql);
}

/** A statement with its quoted identifiers and string literals removed: what is left is the statement's own SQL. */
function outsideQuotes(sql: string): string {
  return sql.replace(/"(?:[^"]|"")*"|`(?:[^`]|``)*`|'(?:[^'\\]|''|\\.)*'/g, '?');
}

/** Asserts no statement carried a request's text as SQL, and returns the extraction statements. */
function extractionStatements(sqls: string[]): string[] {
  for (const sql of sqls) assert.doesNotMatch(outsideQuotes(sql), /\bDROP\b|--/i, `a statement ran SQL from a name: ${sql}`);
  return sqls.filter((s) => /^\s*(COPY|SELECT .* FROM [`"])/s.test(s));
}

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

describe('malformed bodies', () => {
  test('wrong JSON types (numbers for strings, arrays for objects, …) are a 422 naming each field, on every endpoint and through GraphQL', async () => {
    const wrong: Array<[string, (b: any) => any]> = [
      ['project_name', (b) => ({ ...b, project_name: 123 })],
      ['project_start_time', (b) => ({ ...b, project_start_time: 20250205010101 })],
      ['destination', (b) => ({ ...b, destination: ['LSC'] })],
      ['destination.name', (b) => ({ ...b, destination: { name: 7, type: 'filestore' } })],
      ['destination.type', (b) => ({ ...b, destination: { name: 'LSC', type: { filestore: true } } })],
      ['source', (b) => ({ ...b, source: 'postgresql://db' })],
      ['source.port', (b) => ({ ...b, source: { ...b.source, port: '5432' } })],
      ['source.credentials', (b) => ({ ...b, source: { ...b.source, credentials: [] } })],
      ['dataset', (b) => ({ ...b, dataset: [] })],
      ['dataset.tables', (b) => ({ ...b, dataset: { ...b.dataset, tables: { name: 'person' } } })],
      ['dataset.tables[0].columns', (b) => ({ ...b, dataset: { ...b.dataset, tables: [{ name: 'person', columns: 'person_id' }] } })],
      ['dataset.tables[0].name', (b) => ({ ...b, dataset: { ...b.dataset, tables: [{ name: ['person'] }] } })],
      ['project_name', (b) => ({ ...b, project_name: null })],
      ['project_name', (b) => ({ ...b, project_name: true })],
    ];
    await touchesNothing(async () => {
      for (const [field, spoil] of wrong) {
        for (const e of restEndpoints(platform)) {
          const sent = spoil(e.shape(body()));
          const top = field.split(/[.[]/)[0]!;
          if (!(top in e.shape(body()))) continue;
          const detail = envelope(await platform.post(e.base, e.route, sent), 422, `${e.name} ${field}`);
          assert.ok(detail.includes(field), `${e.name}: the detail names ${field}: ${detail}`);
        }
        // GraphQL coerces a single value where a list is expected into a list of one (as its spec says): not an error there.
        if (field === 'dataset.tables') continue;
        const res = await platform.graphql(platform.gateway, 'mutation ($r: ProjectTransferRequest!) { packageProject(request: $r) { destinationType } }', { r: spoil(graphqlInput(body())) });
        graphqlError(res, [400, 422], `GraphQL ${field}`);
      }
    });
  });

  test('duplicated keys: the last one wins, as with JSON.parse', async () => {
    const valid = JSON.stringify(accessRequest(pgSource));
    await touchesNothing(async () => {
      for (const base of [platform.gateway, platform.publish]) {
        const route = base === platform.gateway ? '/project/validate' : '/data-publish/validate';
        const text = base === platform.gateway ? JSON.stringify(body()) : valid;
        const hostileFirst = `{"project_name": "../${M}", "destination": {"name": "/tmp/${M}"},${text.slice(1)}`;
        const answer = await postRaw(base, route, hostileFirst);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        const hostileLast = `${text.slice(0, -1)}, "project_name": "../${M}"}`;
        assert.match(envelope(await postRaw(base, route, hostileLast), 422, route), /project_name/);
      }
    });
  });

  test('deeply nested bodies (100000 levels) are a 422, not a crash', async () => {
    const deep = {
      arrays: `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
      objects: `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`,
      inside: JSON.stringify(body()).replace('"tables":', `"deep": ${'['.repeat(100_000)}${']'.repeat(100_000)}, "tables":`),
      inDataset: JSON.stringify(body()).replace('"tables":[', `"tables":[${'['.repeat(100_000)}${']'.repeat(100_000)},`),
    };
    await touchesNothing(async () => {
      for (const e of restEndpoints(platform)) {
        for (const name of ['arrays', 'objects'] as const) envelope(await postRaw(e.base, e.route, deep[name]), 422, `${e.name} ${name}`);
        // Where the dataset is read and nothing is written: deep in a field that is read is a 422; in an unknown field, ignored.
        if (!['/project/validate', '/metadata/project'].includes(e.route)) continue;
        envelope(await postRaw(e.base, e.route, deep.inDataset), 422, `${e.name} inDataset`);
        assert.equal((await postRaw(e.base, e.route, deep.inside)).status, 200, `${e.name}: an unknown field is ignored, as the contract says`);
      }
      for (const base of [platform.gateway, platform.metadata, platform.publish]) {
        const variables = `{"query": "query ($r: MetadataRequest!) { datasetMetadata(request: $r) { catalog } }", "variables": {"r": ${deep.arrays}}}`;
        const answer = await postRaw(base, '/graphql', variables);
        assert.ok(answer.status < 500, `${base}: ${answer.status}`);
        assert.ok(answer.body.errors?.length > 0);
      }
    });
    // The services are still up.
    for (const base of [platform.gateway, platform.metadata, platform.publish]) assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });

  test('bodies over the limit are a 413 with the envelope, with or without Content-Length', async () => {
    const huge = JSON.stringify({ ...body(), padding: 'x'.repeat(5 * 1024 * 1024) });
    await touchesNothing(async () => {
      for (const e of restEndpoints(platform)) {
        assert.equal(envelope(await postRaw(e.base, e.route, huge), 413, e.name), 'Request body too large.');
        const chunked = await new Promise<Answer>((resolve, reject) => {
          const url = new URL(`${e.base}${e.route}`);
          const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': keyFor(e.base, platform), 'transfer-encoding': 'chunked' } }, (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
          });
          req.on('error', reject);
          for (let i = 0; i < 5; i++) req.write(Buffer.alloc(1024 * 1024, 0x20));
          req.end();
        });
        assert.equal(envelope(chunked, 413, `${e.name} chunked`), 'Request body too large.');
      }
    });
  });

  test('__proto__ and constructor.prototype keys are refused by the JSON parser: a 422', async () => {
    const text = JSON.stringify(body());
    for (const e of restEndpoints(platform)) {
      for (const poison of ['"__proto__": {"isAdmin": true}', '"constructor": {"prototype": {"isAdmin": true}}']) {
        assert.match(envelope(await postRaw(e.base, e.route, `{${poison},${text.slice(1)}`), 422, e.name), /not valid JSON/);
      }
    }
    assert.equal(({} as any).isAdmin, undefined);
  });
});

describe('malformed HTTP', () => {
  async function rawHttp(base: string, text: string): Promise<{ status: number; body: any }> {
    const url = new URL(base);
    const socket = net.connect(Number(url.port), url.hostname);
    socket.write(text);
    let out = '';
    socket.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise((resolve) => socket.on('close', resolve));
    const [head, ...rest] = out.split('\r\n\r\n');
    return { status: Number(head!.split(' ')[1]), body: JSON.parse(rest.join('\r\n\r\n')) };
  }

  test('oversized headers, a broken request line or Content-Length answer the envelope (431, 400)', async () => {
    for (const base of [platform.gateway, platform.metadata, platform.publish]) {
      envelope(await rawHttp(base, `POST /project/publish HTTP/1.1\r\nHost: x\r\nx-api-key: ${'k'.repeat(20_000)}\r\n\r\n`), 431, `${base} big header`);
      envelope(await rawHttp(base, 'GARBAGE\r\n\r\n'), 400, `${base} request line`);
      envelope(await rawHttp(base, 'POST /project/publish HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}'), 400, `${base} content-length`);
    }
  });

  test('a hostile x-request-id is replaced, a plain one is kept', async () => {
    for (const [given, kept] of [['abc-123.DEF:4', true], [`${'r'.repeat(5000)}`, false], ['a b', false], ['id\u00e9', false]] as const) {
      const res = await fetch(`${platform.gateway}/healthz`, { headers: { 'x-request-id': Buffer.from(given, 'utf8').toString('latin1') } });
      const id = res.headers.get('x-request-id');
      if (kept) assert.equal(id, given);
      else assert.match(id ?? '', /^[0-9a-f-]{36}$/, `${given.slice(0, 20)} → ${id}`);
    }
  });
});
