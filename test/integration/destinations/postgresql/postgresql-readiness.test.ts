/**
 * Readiness of the PostgreSQL destination: the database answers and OPAL
 * accepts the credentials; a missing database, a closed port or a refused
 * OPAL password is DESTINATION_NOT_READY, and where the database is goes to
 * the log, not the caller.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AppError } from '../../../../lib/errors.js';
import { pgSettings } from '../../../support/databases.js';
import { DESTINATION, dest, destination, destinationFor, logLines, opal, secrets, settings, setUpPgDestination, tearDownPgDestination } from '../../../support/pg-destination-harness.js';

before(() => setUpPgDestination());
after(() => tearDownPgDestination());

describe('readiness', () => {
  test('the database answers and OPAL accepts the credentials', async () => {
    opal.clearLog();
    await destination.checkReady(DESTINATION);
    assert.deepEqual(opal.requests.map((r) => `${r.method} ${r.path} ${r.status}`), ['GET /system/subject-profile/_current 200']);
  });

  test('a database that does not exist, or OPAL refusing the password, is DESTINATION_NOT_READY naming it', async () => {
    const missing = destinationFor({ ...settings, database: { ...settings.database, database: 'no_such_db_cr8tor' } });
    logLines.length = 0;
    await assert.rejects(missing.checkReady(DESTINATION), (e: unknown) => e instanceof AppError && e.code === 'DESTINATION_NOT_READY' && e.detail === 'The PostgreSQL destination database does not exist (DESTINATION_POSTGRESQL_DATABASE).');
    const closed = destinationFor({ ...settings, database: { ...settings.database, port: 1 } });
    await assert.rejects(closed.checkReady(DESTINATION), (e: unknown) => e instanceof AppError && e.status === 503 && e.detail === 'Cannot connect to the PostgreSQL destination database: connection refused.');
    // The caller is not told where the database is; the log is.
    const logged = logLines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'PostgreSQL destination: readiness check failed');
    assert.deepEqual(logged.map((l) => [l.level, l.database]), [
      [40, { host: pgSettings.host, port: pgSettings.port, database: 'no_such_db_cr8tor', user: pgSettings.user }],
      [40, { host: pgSettings.host, port: 1, database: dest.database, user: pgSettings.user }],
    ]);
    assert.match(logged[0].err.message, /database "no_such_db_cr8tor" does not exist/);
    assert.match(logged[1].err.message, /ECONNREFUSED/);
    secrets.values.set('opal-wrong', 'Not-the-password#1');
    const wrong = destinationFor({ ...settings, opal: { ...settings.opal, passwordSecretName: 'opal-wrong' } });
    await assert.rejects(wrong.checkReady(DESTINATION), (e: unknown) => {
      assert.ok(e instanceof AppError);
      assert.equal(e.code, 'DESTINATION_NOT_READY');
      assert.match(e.detail, /^OPAL rejected the credentials of user 'administrator' \(password from secret 'opal-wrong'\) at step 'check credentials': HTTP 401/);
      assert.ok(!e.detail.includes('Not-the-password#1'));
      return true;
    });
  });
});
