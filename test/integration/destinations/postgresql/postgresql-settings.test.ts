/**
 * The PostgreSQL destination's settings (every one required once the host is
 * set) and its type map (decimals keep precision and scale; older servers get
 * a type holding every value).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../../../lib/config/env.js';
import { columnPlan, numericType, pgType } from '../../../../subgraphs/publish/src/destinations/postgresql/pg-types.js';
import { readPostgresqlSettings } from '../../../../subgraphs/publish/src/destinations/postgresql/settings.js';

describe('settings and type map', () => {
  test('without DESTINATION_POSTGRESQL_HOST the destination is not configured; with it, every setting is required', () => {
    assert.equal(readPostgresqlSettings({}), undefined);
    const full = {
      DESTINATION_POSTGRESQL_HOST: 'db', DESTINATION_POSTGRESQL_DATABASE: 'tre', DESTINATION_POSTGRESQL_USERNAME: 'loader',
      DESTINATION_POSTGRESQL_PASSWORD_SECRET_NAME: 'pw', DESTINATION_POSTGRESQL_OPAL_READONLY_USERNAME: 'ro',
      DESTINATION_POSTGRESQL_OPAL_READONLY_PASSWORD_SECRET_NAME: 'ro-pw', DESTINATION_OPAL_HOST: 'https://opal.example.org',
      DESTINATION_OPAL_USERNAME: 'administrator', DESTINATION_OPAL_PASSWORD_SECRET_NAME: 'opal-pw',
    };
    const s = readPostgresqlSettings(full)!;
    assert.equal(s.database.port, 5432);
    assert.equal(s.opal.noSslVerify, false);
    assert.equal(readPostgresqlSettings({ ...full, DESTINATION_OPAL_NO_SSL_VERIFY: 'true', DESTINATION_POSTGRESQL_PORT: '6432' })!.opal.noSslVerify, true);
    assert.throws(() => readPostgresqlSettings({ ...full, DESTINATION_OPAL_HOST: '' }), (e: unknown) => e instanceof ConfigError && /DESTINATION_OPAL_HOST: is required/.test(e.message));
    assert.throws(() => readPostgresqlSettings({ ...full, DESTINATION_POSTGRESQL_PORT: 'x' }), ConfigError);
    assert.throws(() => readPostgresqlSettings({ ...full, DESTINATION_OPAL_HOST: 'not a url' }), ConfigError);
    assert.throws(
      () => readPostgresqlSettings({ ...full, DESTINATION_POSTGRESQL_OPAL_READONLY_USERNAME: 'loader' }),
      (e: unknown) => e instanceof ConfigError && /DESTINATION_POSTGRESQL_OPAL_READONLY_USERNAME: must not be the loading user/.test(e.message),
    );
  });

  test('decimals keep their precision and scale; older servers get a type holding every value', () => {
    const v15 = { versionNum: 150004 };
    const v13 = { versionNum: 130010 };
    assert.equal(numericType(12, 2, v13), 'numeric(12,2)');
    assert.equal(numericType(undefined, undefined, v13), 'numeric');
    assert.equal(numericType(5, -2, v15), 'numeric(5,-2)');
    assert.equal(numericType(5, -2, v13), 'numeric(7,0)');
    assert.equal(numericType(2, 5, v13), 'numeric(5,5)');
    assert.equal(pgType({ kind: 'uint64' }, v15), 'numeric(20,0)');
    assert.equal(pgType({ kind: 'text', length: 20_000_000 }, v15), 'text');
    assert.equal(pgType({ kind: 'array', element: { kind: 'array', element: { kind: 'decimal', precision: 10, scale: 3 } } }, v15), 'numeric(10,3)[]');
    assert.equal(columnPlan({ kind: 'array', element: { kind: 'int32' } }, v15).loadAs, 'text');
    assert.equal(columnPlan({ kind: 'interval' }, v15).convert, undefined);
  });
});
