/**
 * The e2e tests' check of REST answers (test/support/contract-answers.ts) refuses
 * what the contract's schemas do not allow: it is what makes those tests fail
 * when a payload gains, loses or reorders a field.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { packagePayloadSchema } from '../../lib/contract/index.js';
import { assertContractAnswer } from '../support/contract-answers.js';

const endpoint = { path: '/project/package', response: packagePayloadSchema };
const ok = (payload: unknown) => JSON.stringify({ status: 'success', payload });

describe('checking a REST answer against the contract', () => {
  test('the contract payload passes, and so does the error envelope', () => {
    assertContractAnswer(endpoint, 200, ok({ destination_type: 'filestore', data_retrieved: [{ file_path: 'data/outputs/person.csv' }] }));
    assertContractAnswer(endpoint, 422, JSON.stringify({ status: 'error', payload: { detail: 'Invalid request body: x: is required.' } }));
  });

  test('an extra field fails, naming it', () => {
    assert.throws(
      () => assertContractAnswer(endpoint, 200, ok({ destination_type: 'filestore', data_retrieved: [{ file_path: 'a', table_name: null }] })),
      /fields its schema does not have: payload\.data_retrieved\[0\]\.table_name/,
    );
    assert.throws(() => assertContractAnswer(endpoint, 404, JSON.stringify({ status: 'error', payload: { detail: 'x', stack: 'y' } })), /payload\.stack/);
  });

  test('a missing field or one of the wrong type fails', () => {
    assert.throws(() => assertContractAnswer(endpoint, 200, ok({ data_retrieved: [] })), /payload\.destination_type/);
    assert.throws(() => assertContractAnswer(endpoint, 200, ok({ destination_type: 'filestore', data_retrieved: [{ file_path: 3 }] })), /schema refuses/);
  });

  test('fields out of the schema\'s order fail', () => {
    assert.throws(() => assertContractAnswer(endpoint, 200, ok({ data_retrieved: [], destination_type: 'filestore' })), /another order/);
  });

  test('a body that is not JSON fails', () => {
    assert.throws(() => assertContractAnswer(endpoint, 500, 'Internal Server Error'), /not JSON/);
  });
});
