import mysqlCore from 'mysql2';
import { InsecurePasswordRequest } from '../failures.js';

type AuthPlugin = NonNullable<mysqlCore.ConnectionOptions['authPlugins']>[string];

/** caching_sha2_password's "perform full authentication" answer: the password itself is asked for next. */
const FULL_AUTHENTICATION = 4;

const standard = mysqlCore.authPlugins;

/**
 * A refusal as mysql2 wants it: a rejected promise, not a throw, which it
 * reports as the connection's error. Nothing is sent.
 */
function refusal(method: string): Promise<Buffer> {
  return Promise.reject(new InsecurePasswordRequest(method));
}

/** A plugin that refuses to answer: the password is never sent. */
function refuse(method: string): AuthPlugin {
  return () => () => refusal(method);
}

/**
 * caching_sha2_password whose fast path (a salted hash, which reveals nothing
 * to read) goes on, and whose full authentication, where the password itself
 * travels in clear text or encrypted with a key the server sends, is refused.
 */
function cachingSha2FastOnly(): AuthPlugin {
  const plugin = standard.caching_sha2_password({});
  return (meta) => {
    const inner = plugin(meta);
    let tokenSent = false;
    return (data) => {
      if (tokenSent && data.length === 1 && data[0] === FULL_AUTHENTICATION) {
        return refusal('in clear text or encrypted with a key it sent (caching_sha2_password full authentication)');
      }
      tokenSent = true;
      return inner(data);
    };
  };
}

/**
 * The authentication plugins of every MySQL or MariaDB connection. Where the
 * password would be readable on the way (mysql_clear_password and MariaDB's
 * `dialog` send it in clear text; sha256_password and caching_sha2_password's
 * full authentication send it in clear text over TLS or RSA-encrypted with a
 * key the server supplies, which a server the caller chose holds the private
 * half of) it is refused unless the connection is TLS with a verified
 * certificate or SOURCE_ALLOW_INSECURE_PASSWORD_AUTH allows it. Hash-based
 * methods (mysql_native_password, the caching_sha2_password fast path) go on.
 * Being custom, these also stop mysql2 from sending a clear-text password in
 * its first packet when the server proposes such a method.
 */
export function authPlugins(readableAllowed: boolean): Record<string, AuthPlugin> {
  if (readableAllowed) {
    return { mysql_clear_password: standard.mysql_clear_password({}), sha256_password: standard.sha256_password({}), caching_sha2_password: standard.caching_sha2_password({}) };
  }
  return {
    mysql_clear_password: refuse('in clear text (mysql_clear_password)'),
    dialog: refuse('in clear text (dialog)'),
    sha256_password: refuse('in clear text or encrypted with a key it sent (sha256_password)'),
    caching_sha2_password: cachingSha2FastOnly(),
  };
}
