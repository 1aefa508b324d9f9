/** Assertions on the errors services and connectors raise. */
import assert from 'node:assert/strict';
import { AppError } from '../../lib/errors.js';

/** The AppError a promise rejects with; fails the test when it resolves or rejects with anything else. */
export async function failure(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError, `an AppError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a failure');
}
