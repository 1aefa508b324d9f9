/**
 * The SQL Server connector's TLS through the real `tedious` driver against
 * the TDS double: a server without TLS, TLS switched off or any certificate
 * accepted (no password sent unless allowed), Force Encryption, the server
 * name sent (SNI) and certificate verification.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MssqlConnector } from '../../../../lib/connectors/mssql/connector.js';
import { tediousPackage } from '../../../../lib/connectors/mssql/driver.js';
import { failure } from '../../../support/app-error.js';
import { MSSQL_LOGIN, startTdsDouble } from '../../../support/tds/index.js';
import { connector, source } from '../../../support/tds/connector.js';
import { researchDatabase } from '../../../support/tds/research-db.js';

describe('SQL Server TLS', () => {
  test('a server that does not offer TLS is refused before the login leaves; with TLS off on purpose (and allowed) it works', async () => {
    const plain = await startTdsDouble([researchDatabase('research', true)], { tls: false });
    try {
      const refused = connector(plain);
      const error = await failure(refused.ping());
      await refused.close();
      assert.equal(error.code, 'SOURCE_NOT_SUPPORTED');
      assert.match(error.message, /does not offer TLS, which the publisher requires; set SOURCE_MSSQL_ENCRYPT=false/);
      // tedious 19 would carry on in plain text: the guard stops the login packet before it is written.
      assert.equal(plain.double.logins.length, 0, 'no login reached the server');
      const allowed = connector(plain, { settings: { encrypt: false }, options: { allowInsecurePasswordAuth: true } });
      await allowed.ping();
      await allowed.close();
      assert.equal(plain.double.logins.at(-1)!.encrypted, false);
    } finally {
      await plain.double.close();
    }
  });

  test('TLS off, or any certificate accepted, sends no password unless SOURCE_ALLOW_INSECURE_PASSWORD_AUTH=true: refused before connecting', async () => {
    const tls = await startTdsDouble([researchDatabase('research', true)]);
    try {
      for (const [settings, named] of [[{ encrypt: false }, 'SOURCE_MSSQL_ENCRYPT=false'], [{ trustServerCertificate: true }, 'SOURCE_MSSQL_TRUST_SERVER_CERTIFICATE=true']] as const) {
        const c = connector(tls, { settings });
        const error = await failure(c.ping());
        await c.close();
        assert.equal(error.code, 'SOURCE_INSECURE_AUTH');
        assert.equal(error.status, 502);
        assert.ok(error.message.includes(named) && error.message.includes('SOURCE_ALLOW_INSECURE_PASSWORD_AUTH=true'), error.message);
        assert.match(error.message, /mssql source 127\.0\.0\.1:\d+\/research/);
      }
      assert.equal(tls.double.accepted, 0, 'no connection was made');
    } finally {
      await tls.double.close();
    }
  });

  test('TLS switched off for a server that requires it (Force Encryption) is refused, naming the setting', async () => {
    const tls = await startTdsDouble([researchDatabase('research', true)], { tls: 'forced' });
    try {
      const off = connector(tls, { settings: { encrypt: false }, options: { allowInsecurePasswordAuth: true } });
      const error = await failure(off.ping());
      await off.close();
      assert.equal(error.code, 'SOURCE_NOT_SUPPORTED');
      assert.match(error.message, /requires TLS, which SOURCE_MSSQL_ENCRYPT=false switches off; remove that setting/);
      assert.deepEqual(tls.double.logins, [], 'no login was sent');
    } finally {
      await tls.double.close();
    }
  });

  test('the TLS server name (SNI) is the host as given, and never an IP address with the driver for Node.js 22 and later', async () => {
    // Node.js 26 refuses an IP address as the server name (DEP0123); tedious 19 would pass it, tedious 20 leaves SNI out.
    assert.equal(tediousPackage('20.20.2'), 'tedious');
    assert.equal(tediousPackage('22.0.0'), 'tedious20');
    assert.equal(tediousPackage('26.12.1'), 'tedious20');
    const tls = await startTdsDouble([researchDatabase('research', true)]);
    try {
      const byAddress = connector(tls);
      await byAddress.ping();
      await byAddress.close();
      const credentials = { username: MSSQL_LOGIN.user, password: MSSQL_LOGIN.password };
      const byName = new MssqlConnector({ ...source(tls, 'research'), host_url: 'localhost' }, credentials, {}, {}, tls.ca);
      await byName.ping();
      await byName.close();
      // Node.js 20 lets tedious 19 send the address (with a deprecation warning); the certificate is verified either way.
      assert.deepEqual(tls.double.tlsServerNames, [tediousPackage() === 'tedious20' ? false : '127.0.0.1', 'localhost']);
    } finally {
      await tls.double.close();
    }
  });

  test('the server certificate is verified: untrusted is refused, trusted by CA or on purpose is accepted', async () => {
    const tls = await startTdsDouble([researchDatabase('research', true)]);
    try {
      const untrusted = connector(tls, { trustCa: false });
      const error = await failure(untrusted.ping());
      await untrusted.close();
      assert.equal(error.code, 'SOURCE_UNREACHABLE');
      assert.match(error.message, /TLS certificate is not trusted .*SOURCE_TLS_CA_FILE.*SOURCE_MSSQL_TRUST_SERVER_CERTIFICATE=true/);

      const byCa = connector(tls);
      await byCa.ping();
      await byCa.close();
      const onPurpose = connector(tls, { settings: { trustServerCertificate: true }, options: { allowInsecurePasswordAuth: true }, trustCa: false });
      await onPurpose.ping();
      await onPurpose.close();
      assert.deepEqual(tls.double.logins.map((l) => l.encrypted), [true, true], 'both logins travelled inside TLS (the refused one never logged in)');
    } finally {
      await tls.double.close();
    }
  });
});
