/**
 * The error table (lib/errors.ts): the message templates give the details the
 * contract and the e2e tests fix, byte for byte, and the GraphQL codes map back
 * to the table's codes as the gateway's REST shims need.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { apolloRefusal, appError, codeOfGraphQLCode, errorMessage, errorTable, publicError, type ErrorCode } from '../../lib/errors.js';

describe('the error table', () => {
  test('templates fill in their typed parameters', () => {
    assert.equal(errorMessage('INVALID_REQUEST', { problem: 'not valid JSON' }), 'Invalid request body: not valid JSON.');
    assert.equal(errorMessage('UNAUTHORISED'), 'Could not validate API key. Please provide a valid API key in the x-api-key header.');
    assert.equal(errorMessage('ROUTE_NOT_FOUND', { method: 'GET', path: '/nope', service: 'approval' }), 'No route GET /nope on the approval service.');
    assert.equal(errorMessage('ROUTE_NOT_FOUND', { method: 'X'.repeat(40), path: `/${'a'.repeat(200)}`, service: 'publish' }), `No route ${'X'.repeat(16)} /${'a'.repeat(99)}… on the publish service.`);
    assert.equal(errorMessage('REQUEST_TIMEOUT', { late: 'headers', withinMs: 500 }), 'The request was not received in time: its headers did not arrive within 500 ms.');
    assert.equal(errorMessage('REQUEST_TIMEOUT', { late: 'body', withinMs: 1500 }), 'The request was not received in time: its body did not arrive within 1500 ms of its start.');
    assert.equal(errorMessage('SUBGRAPH_UNAVAILABLE', { service: 'metadata' }), 'The metadata service is unreachable.');
    assert.equal(errorMessage('SUBGRAPH_UNAVAILABLE', { service: 'publish', status: 503 }), 'The publish service is not ready (HTTP 503).');
    assert.equal(errorMessage('SUBGRAPH_UNAVAILABLE', { service: 'publish', problems: ['a.', 'b.'] }), 'The publish service is not ready: a. b.');
    assert.equal(errorMessage('PERSISTED_QUERY_NOT_FOUND', { apollo: 'PersistedQueryNotFound' }), 'Persisted queries are not supported: send the operation itself in `query`.');
    assert.equal(errorMessage('GRAPHQL_PARSE_FAILED', { apollo: 'x'.repeat(5000) }).length, 1000);
  });

  test('an AppError built from a template has its code, status and transient flag', () => {
    const error = appError('SHUTTING_DOWN', { service: 'approval' });
    assert.equal(error.code, 'SHUTTING_DOWN');
    assert.equal(error.status, 503);
    assert.equal(error.transient, true);
    assert.equal(error.detail, 'The approval service is shutting down; send the call again (to another instance, or once it has restarted).');
  });

  test('what is not an AppError is masked with the INTERNAL template', () => {
    assert.deepEqual(publicError(new Error('secret path /etc/x')), { status: 500, code: 'INTERNAL', detail: 'Internal error; the service log has the details.' });
  });

  test('GraphQL codes map back: ours first, then Apollo Server refusals by their own code', () => {
    assert.equal(codeOfGraphQLCode('BAD_USER_INPUT'), 'INVALID_REQUEST');
    assert.equal(codeOfGraphQLCode('INTERNAL_SERVER_ERROR'), 'INTERNAL');
    assert.equal(apolloRefusal('BAD_USER_INPUT'), 'GRAPHQL_BAD_VARIABLES');
    assert.equal(apolloRefusal('GRAPHQL_VALIDATION_FAILED'), 'GRAPHQL_VALIDATION_FAILED');
    assert.equal(apolloRefusal('SOURCE_UNREACHABLE'), undefined);
    assert.equal(apolloRefusal('toString'), undefined);
    const apollo = (Object.keys(errorTable) as ErrorCode[]).filter((c) => 'apollo' in errorTable[c]);
    assert.equal(new Set(apollo.map((c) => errorTable[c].graphql)).size, apollo.length, 'each Apollo code once');
    for (const c of apollo) assert.equal(errorTable[c].status, 400, c);
  });
});
