/**
 * A caller's GraphQL mistakes are answered as such, at the gateway and at each
 * subgraph: 400 (405 or 415 where HTTP says so) with the GraphQL error code in
 * `extensions.code`, a clear message, no stack, and one log line at info, never
 * an error line. Only genuine faults are 500, masked, and logged as errors
 * with their stack. The REST shims, which run known operations only, keep
 * their statuses.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GraphQLError } from 'graphql';
import { formatGraphQLError } from '../../lib/graphql/errors.js';
import { createLogger } from '../../lib/logging/logger.js';
import { keyFor, startPlatform, type Platform } from '../support/platform.js';

let platform: Platform;
const lines: string[] = [];

before(async () => {
  platform = await startPlatform({ logStream: { write: (line: string) => void lines.push(line) } });
});

after(async () => {
  await platform?.close();
});

type Service = 'gateway' | 'metadata' | 'publish';
const SERVICES: Service[] = ['gateway', 'metadata', 'publish'];

interface Mistake {
  name: string;
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The JSON body of a POST, or the query string of a GET. */
  body?: unknown;
  search?: Record<string, string>;
  contentType?: string;
  status: number;
  code: string;
  message: RegExp;
  /** Only these services (the mistake is one only there). */
  only?: Service[];
}

const MISTAKES: Mistake[] = [
  { name: 'an unknown operationName', body: { query: 'query A { __typename } query B { __typename }', operationName: 'C' }, status: 400, code: 'OPERATION_RESOLUTION_FAILURE', message: /^Unknown operation named "C"; the document names "A", "B"\.$/ },
  { name: 'a huge unknown operationName, cut in the message', body: { query: 'query A { __typename }', operationName: 'Z'.repeat(100_000) }, status: 400, code: 'OPERATION_RESOLUTION_FAILURE', message: /^Unknown operation named "Z{99}…"/ },
  { name: 'several operations and no operationName', body: { query: 'query A { __typename } query B { __typename }' }, status: 400, code: 'OPERATION_RESOLUTION_FAILURE', message: /2 operations: send `operationName`/ },
  { name: 'several anonymous operations', body: { query: '{ __typename } { __typename }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', message: /anonymous operation must be the only defined operation/ },
  { name: 'a subscription', body: { query: 'subscription S { __typename }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', message: /does not support subscription operations/ },
  { name: 'a mutation to the metadata subgraph, which has none', body: { query: 'mutation M { __typename }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', message: /does not support mutation operations; it answers query operations\.$/, only: ['metadata'] },
  { name: 'an unsupported persisted-query version', body: { query: '{ __typename }', extensions: { persistedQuery: { version: 2, sha256Hash: 'abc' } } }, status: 400, code: 'PERSISTED_QUERY_NOT_SUPPORTED', message: /Persisted queries are not supported/ },
  { name: 'a persisted query by hash', body: { extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } } }, status: 400, code: 'PERSISTED_QUERY_NOT_SUPPORTED', message: /send the operation itself in `query`/ },
  { name: 'a persisted query in a GET', method: 'GET', search: { query: '{ __typename }', extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } }) }, status: 400, code: 'PERSISTED_QUERY_NOT_SUPPORTED', message: /Persisted queries/ },
  { name: 'a GET carrying a mutation', method: 'GET', search: { query: 'mutation M { __typename }' }, status: 405, code: 'BAD_REQUEST', message: /GET requests only support query operations/ },
  { name: 'a missing query', body: { variables: {} }, status: 400, code: 'BAD_REQUEST', message: /non-empty `query`/ },
  { name: 'a query that is not a string', body: { query: 5 }, status: 400, code: 'BAD_REQUEST', message: /must be strings/ },
  { name: 'variables of the wrong type', body: { query: 'query Q($on: Boolean!) { __typename @include(if: $on) }', variables: { on: 'yes' } }, status: 400, code: 'BAD_USER_INPUT', message: /Variable "\$on" got invalid value "yes"/ },
  { name: 'variables that are not an object', body: { query: '{ __typename }', variables: '{}' }, status: 400, code: 'BAD_REQUEST', message: /`variables` .* object/ },
  { name: 'a batch (array body)', body: [{ query: '{ __typename }' }, { query: '{ __typename }' }], status: 400, code: 'BAD_REQUEST', message: /Batched operations .* one operation per request/ },
  { name: 'a body that is not JSON', body: '{ __typename }', contentType: 'text/plain', status: 415, code: 'BAD_REQUEST', message: /send the operation as application\/json/ },
  { name: 'a method GraphQL does not use', method: 'PUT', body: { query: '{ __typename }' }, status: 405, code: 'BAD_REQUEST', message: /POST \(or queries with GET\)/ },
  { name: 'a syntax error', body: { query: '{ __typename' }, status: 400, code: 'GRAPHQL_PARSE_FAILED', message: /Syntax Error/ },
  { name: 'two operations of the same huge name, cut in the message', body: { query: `query ${'Y'.repeat(100_000)} { __typename } query ${'Y'.repeat(100_000)} { __typename }`, operationName: 'Y'.repeat(100_000) }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', message: /^There can be only one operation named "Y+…$/ },
  { name: 'an unknown field', body: { query: '{ nothingHere }' }, status: 400, code: 'GRAPHQL_VALIDATION_FAILED', message: /Cannot query field "nothingHere"/ },
];

async function send(service: Service, m: Mistake, requestId: string): Promise<{ status: number; headers: Headers; body: any }> {
  const base = platform[service];
  const url = new URL(`${base}/graphql`);
  for (const [k, v] of Object.entries(m.search ?? {})) url.searchParams.set(k, v);
  const method = m.method ?? 'POST';
  const res = await fetch(url, {
    method,
    headers: { 'x-api-key': keyFor(base, platform), 'x-request-id': requestId, 'apollo-require-preflight': 'true', 'content-type': m.contentType ?? 'application/json' },
    body: method === 'GET' ? undefined : typeof m.body === 'string' ? m.body : JSON.stringify(m.body),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

/** The log lines written while `run` ran (the services log synchronously to the stream). */
async function logged(run: () => Promise<void>): Promise<any[]> {
  const from = lines.length;
  await run();
  await new Promise((resolve) => setTimeout(resolve, 20));
  return lines.slice(from).map((l) => JSON.parse(l));
}

describe('GraphQL mistakes are 4xx with their code, at the gateway and at each subgraph', () => {
  for (const m of MISTAKES) {
    test(m.name, async () => {
      for (const service of m.only ?? SERVICES) {
        const where = `${service}: ${m.name}`;
        const requestId = `mistake-${service}-${MISTAKES.indexOf(m)}`;
        let res!: Awaited<ReturnType<typeof send>>;
        const written = await logged(async () => {
          res = await send(service, m, requestId);
        });
        assert.equal(res.status, m.status, `${where}: ${JSON.stringify(res.body).slice(0, 300)}`);
        assert.equal(res.body.data, undefined, where);
        // One error per mistake found (two anonymous operations are two).
        const errors: any[] = res.body.errors ?? [];
        assert.ok(errors.length >= 1, `${where}: ${JSON.stringify(res.body).slice(0, 300)}`);
        for (const error of errors) {
          assert.equal(error.extensions.code, m.code, where);
          assert.equal(error.extensions.status, m.status, where);
          assert.match(error.message, m.message, where);
          assert.equal(error.extensions.detail, error.message, where);
          assert.equal(error.extensions.stacktrace, undefined, where);
        }
        assert.ok(JSON.stringify(res.body).length < 4000, `${where}: the answer does not echo what was sent`);
        if (m.status === 405) assert.match(res.headers.get('allow') ?? '', /POST/, where);

        // Logged at info, once, without a stack; nothing at warn or error.
        const service_ = service === 'gateway' ? 'approval' : service;
        const mine = written.filter((l) => l.service === service_);
        assert.deepEqual(mine.filter((l) => l.level >= 40).map((l) => l.msg), [], `${where}: nothing at warn or error`);
        const refused = mine.filter((l) => l.msg === 'GraphQL request refused');
        assert.equal(refused.length, errors.length, `${where}: ${JSON.stringify(mine).slice(0, 500)}`);
        for (const line of refused) {
          assert.equal(line.level, 30, where);
          assert.equal(line.code, m.code, where);
          assert.equal(line.status, m.status, where);
          assert.equal(line.err, undefined, where);
          assert.doesNotMatch(JSON.stringify(line), /\n\s+at /, `${where}: no stack`);
          assert.ok(JSON.stringify(line).length < 4000, `${where}: the log line does not echo what was sent`);
        }
      }
    });
  }

  test('controls: a mutation through the gateway and to the publish subgraph, a GET query, are answered', async () => {
    for (const service of ['gateway', 'publish'] as const) {
      const res = await send(service, { name: 'control', body: { query: 'mutation M { __typename }' }, status: 200, code: '', message: /./ }, 'control-mutation');
      assert.deepEqual(res.body, { data: { __typename: 'Mutation' } }, service);
    }
    for (const service of SERVICES) {
      const res = await send(service, { name: 'control', method: 'GET', search: { query: 'query Q { __typename }' }, status: 200, code: '', message: /./ }, 'control-get');
      assert.deepEqual(res.body, { data: { __typename: 'Query' } }, service);
    }
  });

  test('the REST shims keep their contract envelope and statuses', async () => {
    const res = await platform.post(platform.gateway, '/project/validate', {});
    assert.equal(res.status, 422);
    assert.equal(res.body.status, 'error');
    assert.match(res.body.payload.detail, /project_name/);
  });
});

describe('genuine faults', () => {
  test('an unexpected error is a 500, masked, and logged as an error with its stack', () => {
    const out: string[] = [];
    const format = formatGraphQLError(createLogger('test', 'info', { write: (line: string) => void out.push(line) }));
    const fault = new GraphQLError('Cannot read properties of undefined', { originalError: new TypeError('Cannot read properties of undefined (reading "x")') });
    const formatted = format({ message: fault.message, extensions: { code: 'INTERNAL_SERVER_ERROR' } }, fault);
    assert.deepEqual(formatted.extensions, { code: 'INTERNAL_SERVER_ERROR', status: 500, detail: 'Internal error; the service log has the details.' });
    assert.equal(formatted.message, 'Internal error; the service log has the details.');
    const [line] = out.map((l) => JSON.parse(l));
    assert.equal(line.level, 50);
    assert.match(line.err.stack, /TypeError: Cannot read properties/);
  });

  test('an error Apollo Server answers with a 4xx but without a code is a client error, not a fault', () => {
    const out: string[] = [];
    const format = formatGraphQLError(createLogger('test', 'info', { write: (line: string) => void out.push(line) }));
    const refusal = new GraphQLError('Unsupported persisted query version', { extensions: { http: { status: 400 } } });
    const formatted = format({ message: refusal.message, extensions: { code: 'INTERNAL_SERVER_ERROR' } }, refusal);
    assert.deepEqual(formatted.extensions, { code: 'BAD_REQUEST', status: 400, detail: 'Unsupported persisted query version' });
    assert.deepEqual(out, []);
  });
});
