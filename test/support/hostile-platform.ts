/**
 * The world of the hostile-input tests: a PostgreSQL and a MariaDB source
 * holding tables named like injections and paths, a platform recording every
 * statement its connectors send, and helpers asserting the contract's error
 * envelope, that nothing was touched, and that only the approved statements
 * ran. A test file calls setUpHostile() before its tests and tearDownHostile()
 * after; the state below is read through these live bindings.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createMysqlDatabase, createPgDatabase, type TestMysqlDatabase, type TestPgDatabase } from './databases.js';
import { listTree } from './filestore-fs.js';
import { keyFor, startPlatform, type Platform } from './platform.js';
import { dataset, graphqlInput, sqlSource, transferRequest, writeSourceSecrets, type DatasetBody, type SqlSourceBody } from './requests.js';

/** Every hostile name carries this marker, so anything it created can be found by name. */
export const M = `hx${randomBytes(4).toString('hex')}`;
export const TEN_KB = 10 * 1024;
/** A table literally named like an injection, and a column too. */
export const EVIL_TABLE = 'x"; DROP TABLE person; --';
export const EVIL_COLUMN = '"; DROP TABLE person; --';
/** U+0435 CYRILLIC SMALL LETTER IE in place of the Latin e. */
export const LOOKALIKE = 'p\u0435rson';

export let platform: Platform;
export let pgDb: TestPgDatabase;
export let myDb: TestMysqlDatabase;
export let pgSource: SqlSourceBody;
export let mySource: SqlSourceBody;
/** Every statement the connectors sent, with the source type. */
export const statements: Array<{ type: string; sql: string }> = [];
export let currentType = 'postgresql';

export async function setUpHostile(): Promise<void> {
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
}

export async function tearDownHostile(): Promise<void> {
  await platform?.close();
  await pgDb?.drop();
  await myDb?.drop();
}

export interface Answer {
  status: number;
  body: any;
}

/** Asserts the contract's error envelope with one of `statuses` and gives its detail. */
export function envelope(answer: Answer, statuses: number | number[], where: string): string {
  const allowed = Array.isArray(statuses) ? statuses : [statuses];
  assert.ok(allowed.includes(answer.status), `${where}: HTTP ${answer.status}, expected ${allowed.join(' or ')}: ${JSON.stringify(answer.body).slice(0, 400)}`);
  assert.deepEqual(Object.keys(answer.body ?? {}).sort(), ['payload', 'status'], where);
  assert.equal(answer.body.status, 'error', where);
  assert.deepEqual(Object.keys(answer.body.payload), ['detail'], where);
  assert.equal(typeof answer.body.payload.detail, 'string', where);
  return answer.body.payload.detail as string;
}

/** Asserts a GraphQL error with one of `statuses` and gives its detail. */
export function graphqlError(answer: Answer, statuses: number | number[], where: string): string {
  const allowed = Array.isArray(statuses) ? statuses : [statuses];
  assert.ok(answer.status < 500, `${where}: HTTP ${answer.status}`);
  const error = answer.body.errors?.[0];
  assert.ok(error, `${where}: no error: ${JSON.stringify(answer.body).slice(0, 400)}`);
  assert.ok(allowed.includes(error.extensions.status), `${where}: status ${error.extensions.status}: ${error.extensions.detail}`);
  assert.notEqual(error.extensions.code, 'INTERNAL_SERVER_ERROR', where);
  return error.extensions.detail as string;
}

/** The platform's temporary root: secrets, the mount, the audit log. */
export function root(): string {
  return path.dirname(platform.mountDir);
}

/** Every path under the platform's root but the audit log (which grows with every call). */
export async function snapshot(): Promise<string[]> {
  return (await listTree(root())).filter((p) => p !== 'audit.jsonl');
}

/** Every path containing the marker, under the platform's root and at the top of the OS temporary folder. */
export async function markedPaths(): Promise<string[]> {
  const inRoot = (await listTree(root())).filter((p) => p.includes(M)).map((p) => path.join(root(), p));
  const inTmp = (await readdir(os.tmpdir())).filter((p) => p.includes(M)).map((p) => path.join(os.tmpdir(), p));
  return [...inRoot, ...inTmp, ...[`/${M}`, `/tmp/${M}`].filter((p) => existsSync(p))];
}

/** Runs `work` and asserts it created or removed nothing under the platform's root, and nothing named with the marker anywhere. */
export async function touchesNothing(work: () => Promise<void>): Promise<void> {
  const before = await snapshot();
  const marked = await markedPaths();
  await work();
  assert.deepEqual(await snapshot(), before, 'the filestore and secrets are untouched');
  assert.deepEqual(await markedPaths(), marked, 'nothing was created under a hostile name');
}

/** What each REST endpoint of the three services takes, built from a transfer request. */
export function restEndpoints(p: Platform) {
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
export function graphqlOperations(p: Platform) {
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
export function body(overrides: Record<string, unknown> = {}, data: DatasetBody = dataset('public', ['person'])): any {
  return { ...transferRequest(pgSource, data), destination: { name: 'LSC', type: 'filestore', format: 'csv' }, ...overrides };
}

/** Raw bytes to a service, for bodies JSON.stringify cannot make. */
export async function postRaw(base: string, route: string, raw: string | Buffer): Promise<Answer> {
  const res = await fetch(`${base}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': keyFor(base, platform) }, body: raw });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

/** Statements sent while `work` ran. */
export async function statementsDuring(type: string, work: () => Promise<void>): Promise<string[]> {
  currentType = type;
  const from = statements.length;
  await work();
  return statements.slice(from).map((s) => s.sql);
}

/** A statement with its quoted identifiers and string literals removed: what is left is the statement's own SQL. */
export function outsideQuotes(sql: string): string {
  return sql.replace(/"(?:[^"]|"")*"|`(?:[^`]|``)*`|'(?:[^'\\]|''|\\.)*'/g, '?');
}

/** Asserts no statement carried a request's text as SQL, and returns the extraction statements. */
export function extractionStatements(sqls: string[]): string[] {
  for (const sql of sqls) assert.doesNotMatch(outsideQuotes(sql), /\bDROP\b|--/i, `a statement ran SQL from a name: ${sql}`);
  return sqls.filter((s) => /^\s*(COPY|SELECT .* FROM [`"])/s.test(s));
}
