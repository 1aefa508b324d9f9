/**
 * GraphQL operations that are too deep, too wide or too long are refused with
 * a clear error before anything runs — at the gateway and at each subgraph —
 * while GraphQL tools (the standard introspection query) and the CLI's REST
 * shims keep working, whatever the limits are set to within their floors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { getIntrospectionQuery, Kind, parse, type OperationDefinitionNode } from 'graphql';
import { buildGatewayApp } from '../../gateway/src/app.js';
import { DEFAULT_QUERY } from '../../gateway/src/explorer.js';
import { DATASET_METADATA, PACKAGE_PROJECT, PUBLISH_PROJECT, VALIDATE_PROJECT } from '../../gateway/src/rest/operations.js';
import { ApiKeyVerifier } from '../../lib/auth/api-key.js';
import { ConfigError } from '../../lib/config/env.js';
import { bracketNesting, INTROSPECTION_MAX_DEPTH, limitViolations, MAX_NESTING, measureOperation, readGraphQLLimits, subgraphLimits, type GraphQLLimits } from '../../lib/graphql/limits.js';
import { createLogger } from '../../lib/logging/logger.js';
import { createPgDatabase, type TestPgDatabase } from '../support/databases.js';
import { keyFor, keys, startPlatform, type Platform } from '../support/platform.js';
import { dataset, graphqlInput, sqlSource, transferRequest, writeSourceSecrets, type SqlSourceBody } from '../support/requests.js';

let platform: Platform;
let db: TestPgDatabase;
let source: SqlSourceBody;
const queries: string[] = [];

before(async () => {
  db = await createPgDatabase('gqllim');
  await db.client.query('CREATE TABLE person (person_id integer, postcode text)');
  platform = await startPlatform({ connectorOptions: { onQuery: (sql) => queries.push(sql) } });
  await writeSourceSecrets(platform, 'postgresql');
  source = sqlSource('postgresql', db.database);
});

after(async () => {
  await platform?.close();
  await db?.drop();
});

const DEFAULTS: GraphQLLimits = { maxDepth: 12, maxAliases: 15, maxFields: 500, maxTokens: 2000 };

/** Every service's /graphql, with the limits it applies. */
function endpoints() {
  return [
    { name: 'gateway', base: platform.gateway, limits: DEFAULTS },
    { name: 'metadata', base: platform.metadata, limits: subgraphLimits(DEFAULTS) },
    { name: 'publish', base: platform.publish, limits: subgraphLimits(DEFAULTS) },
  ];
}

/** Asserts a refusal before execution: HTTP 400, one error, its code, status 400, a detail matching `pattern`. */
function refused(res: { status: number; body: any }, code: string, pattern: RegExp, where: string): void {
  assert.equal(res.status, 400, `${where}: ${JSON.stringify(res.body).slice(0, 500)}`);
  assert.equal(res.body.data, undefined, `${where}: nothing ran`);
  assert.equal(res.body.errors?.length, 1, where);
  const [error] = res.body.errors;
  assert.equal(error.extensions.code, code, where);
  assert.equal(error.extensions.status, 400, where);
  assert.match(error.extensions.detail, pattern, where);
  assert.equal(error.extensions.stacktrace, undefined, where);
}

/** `{ __schema { types { fields { type { fields { … } } } } } }`, `levels` deep. */
function deepIntrospection(levels: number): string {
  let inner = 'name';
  let depth = 1;
  while (depth + 2 < levels) {
    inner = `fields { type { ${inner} } }`;
    depth += 2;
  }
  return `{ __schema { types { ${inner} } } }`;
}

function measure(query: string) {
  const document = parse(query);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  return measureOperation(document, operation);
}

describe('settings', () => {
  test('defaults, and a bad or too small value names the variable', () => {
    assert.deepEqual(readGraphQLLimits({}), DEFAULTS);
    assert.deepEqual(readGraphQLLimits({ GRAPHQL_MAX_DEPTH: '8', GRAPHQL_MAX_ALIASES: '0', GRAPHQL_MAX_FIELDS: '60', GRAPHQL_MAX_TOKENS: '300' }), { maxDepth: 8, maxAliases: 0, maxFields: 60, maxTokens: 300 });
    for (const [name, value] of [['GRAPHQL_MAX_DEPTH', '5'], ['GRAPHQL_MAX_ALIASES', '-1'], ['GRAPHQL_MAX_FIELDS', 'many'], ['GRAPHQL_MAX_TOKENS', '100']]) {
      assert.throws(() => readGraphQLLimits({ [name!]: value }), (e: unknown) => e instanceof ConfigError && e.message.includes(name!), `${name}=${value}`);
    }
  });

  test('the smallest limits the settings allow still fit every operation the REST shims run', () => {
    const smallest: GraphQLLimits = { maxDepth: 6, maxAliases: 0, maxFields: 50, maxTokens: 200 };
    for (const operation of [VALIDATE_PROJECT, DATASET_METADATA, PACKAGE_PROJECT, PUBLISH_PROJECT]) {
      assert.deepEqual(limitViolations(measure(operation), smallest), [], operation);
      assert.doesNotThrow(() => parse(operation, { maxTokens: smallest.maxTokens }));
    }
  });

  // At the publish subgraph the gateway's entity fetch puts `_entities` where `project` was: as deep.
  test('the smallest limits the settings allow still fit a job query with every field, through the project entity, and the explorer\'s job query', () => {
    const smallest: GraphQLLimits = { maxDepth: 6, maxAliases: 0, maxFields: 50, maxTokens: 200 };
    const everyField = `query P($n: String!, $t: String!) { project(projectName: $n, projectStartTime: $t) { jobs(first: 100) { nodes {
      id kind projectName projectStartTime state startedBy requestId createdAt startedAt finishedAt replica
      progress { table state rows bytes estimatedRows }
      packageResult { destinationType dataRetrieved { filePath tableName } }
      publishResult { destinationType dataPublished { filePath hashValue totalBytes postgresqlTableName opalResourceName opalProjectName opalGroupName } }
      error { code status detail } } pageInfo { endCursor hasNextPage } } } }`;
    for (const operation of [everyField, DEFAULT_QUERY]) {
      assert.deepEqual(limitViolations(measure(operation), smallest), [], operation);
      assert.doesNotThrow(() => parse(operation, { maxTokens: subgraphLimits(DEFAULTS).maxTokens }));
    }
  });

  test('measuring: fragments count at each use, __typename is free, introspection is measured apart', () => {
    assert.deepEqual(measure('{ a { b { c } } }'), { depth: 3, aliases: 0, fields: 3, introspectionDepth: 0 });
    assert.deepEqual(measure('{ x: a { ...F ...F __typename } } fragment F on T { b { c } }'), { depth: 3, aliases: 1, fields: 5, introspectionDepth: 0 });
    assert.equal(measure(getIntrospectionQuery()).introspectionDepth, INTROSPECTION_MAX_DEPTH);
    assert.equal(measure(getIntrospectionQuery()).depth, 0);
    // 2^40 expansions are never walked: counting stops and the operation is refused.
    const chain = Array.from({ length: 40 }, (_, i) => `fragment F${i} on T { ...F${i + 1} ...F${i + 1} }`).join(' ');
    const size = measure(`{ a { ...F0 } } ${chain} fragment F40 on T { b }`);
    assert.equal(size.fields, Number.POSITIVE_INFINITY);
    assert.match(limitViolations(size, DEFAULTS).join(), /too many fields/);
  });
});

describe('refused before execution, at the gateway and at each subgraph', () => {
  test('the standard introspection query of GraphQL tools is answered', async () => {
    for (const e of endpoints()) {
      const res = await platform.graphql(e.base, getIntrospectionQuery());
      assert.equal(res.status, 200, `${e.name}: ${JSON.stringify(res.body).slice(0, 300)}`);
      assert.ok(res.body.data.__schema.types.length > 10, e.name);
    }
  });

  test('introspection deeper than the standard query is refused', async () => {
    // graphql-js's own rule catches cycles through fields, interfaces and possibleTypes;
    // ours catches any other nesting (ofType chains) deeper than the standard query.
    const cycle = deepIntrospection(INTROSPECTION_MAX_DEPTH + 2);
    const chain = `{ __type(name: "Query") { ${'ofType { '.repeat(INTROSPECTION_MAX_DEPTH)}name${' }'.repeat(INTROSPECTION_MAX_DEPTH)} } }`;
    for (const e of endpoints()) {
      refused(await platform.graphql(e.base, cycle), 'GRAPHQL_VALIDATION_FAILED', /introspection depth/i, e.name);
      refused(await platform.graphql(e.base, chain), 'GRAPHQL_VALIDATION_FAILED', new RegExp(`introspection ${INTROSPECTION_MAX_DEPTH + 2} levels deep \\(at most ${INTROSPECTION_MAX_DEPTH}`), e.name);
    }
  });

  test('an alias fan-out of datasetMetadata is refused and no source is touched', async () => {
    const aliases = Array.from({ length: DEFAULTS.maxAliases + 1 }, (_, i) => `m${i}: datasetMetadata(request: $r) { catalog tables { name } }`).join('\n');
    const query = `query ($r: MetadataRequest!) {\n${aliases}\n}`;
    const variables = { r: graphqlInput({ source, dataset: dataset('public', ['person']) }) };
    const before = queries.length;
    // Data accesses only: the refusals themselves are audited as `refused`.
    const accesses = async () => (await platform.auditEvents()).filter((e) => !String(e.action).startsWith('refused')).length;
    const audited = await accesses();
    for (const e of endpoints().filter((x) => x.name !== 'publish')) {
      refused(await platform.graphql(e.base, query, variables), 'GRAPHQL_VALIDATION_FAILED', /16 aliased fields \(at most 15, GRAPHQL_MAX_ALIASES\)/, e.name);
    }
    assert.equal(queries.length, before, 'no statement reached the source');
    assert.equal(await accesses(), audited, 'no data access was audited');
    // Within the limit, aliases work (two calls to the source).
    const two = await platform.graphql(platform.gateway, 'query ($r: MetadataRequest!) { a: datasetMetadata(request: $r) { catalog } b: datasetMetadata(request: $r) { catalog } }', variables);
    assert.deepEqual(two.body, { data: { a: { catalog: db.database }, b: { catalog: db.database } } });
  });

  test('too many fields once fragments are expanded is refused', async () => {
    const spreads = Array.from({ length: 300 }, () => '...T').join(' ');
    const query = `{ __schema { types { ${spreads} } } } fragment T on __Type { name kind description specifiedByURL }`;
    for (const e of endpoints()) {
      refused(await platform.graphql(e.base, query), 'GRAPHQL_VALIDATION_FAILED', /1202 fields once fragments are expanded \(at most \d+, GRAPHQL_MAX_FIELDS\)/, e.name);
    }
  });

  test('a document of too many tokens is refused while parsing', async () => {
    for (const e of endpoints()) {
      const query = `{ ${'__typename '.repeat(e.limits.maxTokens + 1)}}`;
      refused(await platform.graphql(e.base, query), 'GRAPHQL_PARSE_FAILED', new RegExp(`Document contains more th\\w+ ${e.limits.maxTokens} tokens`), e.name);
    }
  });

  test('100000 levels of nesting: a parse error naming the nesting limit, not a stack overflow', async () => {
    // Selection sets, lists and argument objects: each recurses in the parser.
    for (const query of [`{${'a{'.repeat(100_000)}${'}'.repeat(100_001)}`, `{ a(x: ${'['.repeat(100_000)}${']'.repeat(100_000)}) }`, `{ a(x: ${'{b:'.repeat(3000)}1${'}'.repeat(3000)}) }`]) {
      for (const e of endpoints()) {
        const res = await platform.graphql(e.base, query);
        refused(res, 'GRAPHQL_PARSE_FAILED', new RegExp(`nests brackets more than ${MAX_NESTING} levels deep`), e.name);
        assert.doesNotMatch(JSON.stringify(res.body), /call stack/i, e.name);
      }
    }
    const url = `${platform.gateway}/graphql?query=${encodeURIComponent(`{${'a{'.repeat(1000)}${'}'.repeat(1001)}`)}`;
    const res = await fetch(url, { headers: { 'x-api-key': keys.approval, 'apollo-require-preflight': 'true' } });
    refused({ status: res.status, body: await res.json() }, 'GRAPHQL_PARSE_FAILED', /nests brackets more than/, 'GET');
  });

  test('brackets inside strings and comments do not count as nesting', async () => {
    const braces = '{'.repeat(MAX_NESTING + 10);
    const query = `query ($r: MetadataRequest!) { # ${braces}\n datasetMetadata(request: $r) { catalog } __typename @include(if: true) }`;
    assert.equal(bracketNesting(query), 2);
    assert.equal(bracketNesting(`{ a(s: "${braces}\\"${braces}", t: """${braces}\\"""${braces}""") }`), 2);
    const variables = { r: graphqlInput({ source, dataset: dataset('public', ['person']) }) };
    const res = await platform.graphql(platform.gateway, query, variables);
    assert.deepEqual(res.body, { data: { datasetMetadata: { catalog: db.database }, __typename: 'Query' } });
  });

  test('GET requests are limited the same way', async () => {
    const url = `${platform.gateway}/graphql?query=${encodeURIComponent(deepIntrospection(INTROSPECTION_MAX_DEPTH + 2))}`;
    const res = await fetch(url, { headers: { 'x-api-key': keys.approval, 'apollo-require-preflight': 'true' } });
    refused({ status: res.status, body: await res.json() }, 'GRAPHQL_VALIDATION_FAILED', /introspection/, 'GET');
  });

  test('batched operations are not accepted', async () => {
    for (const e of endpoints()) {
      const res = await fetch(`${e.base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': keyFor(e.base, platform) },
        body: JSON.stringify(Array.from({ length: 100 }, () => ({ query: '{ __typename }' }))),
      });
      assert.equal(res.status, 400, e.name);
    }
  });

  test('the body limit applies to /graphql: 413 with the envelope', async () => {
    for (const e of endpoints()) {
      const res = await platform.post(e.base, '/graphql', { query: '{ __typename }', padding: 'x'.repeat(5 * 1024 * 1024) });
      assert.equal(res.status, 413, e.name);
      assert.deepEqual(res.body, { status: 'error', payload: { detail: 'Request body too large.' } }, e.name);
    }
  });
});

describe('a gateway with the smallest limits the settings allow', () => {
  let tight: FastifyInstance;
  let url: string;
  const smallest: GraphQLLimits = { maxDepth: 6, maxAliases: 0, maxFields: 50, maxTokens: 200 };

  before(async () => {
    tight = await buildGatewayApp({
      log: createLogger('approval', 'silent'),
      apiKey: new ApiKeyVerifier(keys.approval),
      subgraphs: { metadata: { url: `${platform.metadata}/graphql`, apiKey: keys.metadata }, publish: { url: `${platform.publish}/graphql`, apiKey: keys.publish } },
      graphqlLimits: smallest,
    });
    await tight.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(tight.server.address() as { port: number }).port}`;
  });

  after(async () => {
    await tight?.close();
  });

  test('the REST shims are unaffected', async () => {
    const body = { ...transferRequest(source, dataset('public', ['person'])), destination: { name: 'LSC', type: 'filestore', format: 'csv' } };
    const validate = await platform.post(url, '/project/validate', body, keys.approval);
    assert.equal(validate.status, 200, JSON.stringify(validate.body));
    assert.equal(validate.body.payload.tables[0].name, 'person');
    const packaged = await platform.post(url, '/project/package', body, keys.approval);
    assert.equal(packaged.status, 200, JSON.stringify(packaged.body));
    const published = await platform.post(url, '/project/publish', { project_name: body.project_name, project_start_time: body.project_start_time, destination: body.destination }, keys.approval);
    assert.equal(published.status, 200, JSON.stringify(published.body));
  });

  test('GraphQL callers meet the limits: one alias is refused; 6 levels across both subgraphs is answered', async () => {
    // The schema's deepest selection is 6 levels (the depth floor): GRAPHQL_MAX_DEPTH guards the
    // schema as it grows; deeper documents today are introspection (limited apart) or invalid.
    const six = `query ($projectName: String!, $projectStartTime: String!) {
      project(projectName: $projectName, projectStartTime: $projectStartTime) {
        metadataReports { metadata { tables { columns { name } } } }
        validations { outcome }
      }
    }`;
    assert.equal(measure(six).depth, 6);
    const ok = await platform.graphql(url, six, { projectName: 'Pr004', projectStartTime: '20250205_010101' }, keys.approval);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.ok(Array.isArray(ok.body.data.project.validations));
    assert.ok(Array.isArray(ok.body.data.project.metadataReports));
    refused(await platform.graphql(url, '{ a: __typename }', undefined, keys.approval), 'GRAPHQL_VALIDATION_FAILED', /1 aliased fields \(at most 0, GRAPHQL_MAX_ALIASES\)/, 'alias');
    assert.match(limitViolations(measure(six), { ...smallest, maxDepth: 5 }).join(), /6 levels of nested fields \(at most 5, GRAPHQL_MAX_DEPTH\)/);
  });
});
