import type { PoolConfig } from 'pg';
import { parseIntoClientConfig } from 'pg-connection-string';
import { ConfigError, readSettings } from '../config/env.js';
import { platformStoreSettings } from '../config/settings/index.js';

/** Where the platform's own database is, without its password (that is read from the secret store). */
export interface PlatformStoreSettings {
  /** What pg connects with, less the password. */
  connection: PoolConfig;
  /** The secret holding the password (PLATFORM_DATABASE_PASSWORD_SECRET_NAME), when set. */
  passwordSecretName: string | undefined;
  /** The setting the location came from, for messages. */
  setting: 'PLATFORM_DATABASE_URL' | 'PLATFORM_DATABASE_HOST';
  /** `user@host:port/database`, for messages and logs: never a password. */
  description: string;
  /** A password written in PLATFORM_DATABASE_URL (empty when none): never shown. */
  urlPassword?: string;
}

/**
 * Reads the platform database's settings: PLATFORM_DATABASE_URL, or
 * PLATFORM_DATABASE_HOST and its companions. Neither: undefined, the services
 * keep their state in memory. A bad value throws a ConfigError naming the
 * setting and never showing a password (a URL is shown without it).
 */
export function readPlatformStoreSettings(env?: NodeJS.ProcessEnv): PlatformStoreSettings | undefined {
  const s = readSettings(platformStoreSettings, env);
  const common = { connectionTimeoutMillis: s.PLATFORM_DATABASE_CONNECT_TIMEOUT_MS, application_name: 'cr8tor-platform' };
  const passwordSecretName = s.PLATFORM_DATABASE_PASSWORD_SECRET_NAME;
  if (s.PLATFORM_DATABASE_URL !== undefined) {
    if (s.PLATFORM_DATABASE_HOST !== undefined) {
      throw new ConfigError('Invalid setting PLATFORM_DATABASE_HOST: set either PLATFORM_DATABASE_URL or PLATFORM_DATABASE_HOST, not both.');
    }
    const url = parseUrl(s.PLATFORM_DATABASE_URL);
    const description = `${decodeURIComponent(url.username) || '(default user)'}@${url.host}${url.pathname}`;
    // Parsed into parts, not passed as a connection string: pg would let the string's (empty) password win over the secret's.
    return { connection: { ...parseIntoClientConfig(verifyingSslModes(s.PLATFORM_DATABASE_URL, url)), ...common }, passwordSecretName, setting: 'PLATFORM_DATABASE_URL', description, urlPassword: decodeURIComponent(url.password) };
  }
  if (s.PLATFORM_DATABASE_HOST === undefined) return undefined;
  for (const name of ['PLATFORM_DATABASE_NAME', 'PLATFORM_DATABASE_USERNAME'] as const) {
    if (s[name] === undefined) throw new ConfigError(`Invalid setting ${name}: is required when PLATFORM_DATABASE_HOST is set (it is not set).`);
  }
  const [host, port, database, user] = [s.PLATFORM_DATABASE_HOST, s.PLATFORM_DATABASE_PORT, s.PLATFORM_DATABASE_NAME!, s.PLATFORM_DATABASE_USERNAME!];
  return {
    connection: { ...common, host, port, database, user, ssl: s.PLATFORM_DATABASE_SSL ? { rejectUnauthorized: true } : false },
    passwordSecretName,
    setting: 'PLATFORM_DATABASE_HOST',
    description: `${user}@${host}:${port}/${database}`,
  };
}

/** The `sslmode` values `pg` treats as `verify-full` (libpq's meanings are weaker: `prefer` falls back to no TLS, `require` checks no certificate). */
const VERIFYING_SSL_MODES = new Set(['prefer', 'require', 'verify-ca']);

/**
 * The URL (`text`, parsed as `url`) as `pg` is to read it: `sslmode=prefer`,
 * `require` and `verify-ca` written as the `verify-full` they mean to `pg`
 * today (the certificate and the host name checked), so that the meaning does
 * not depend on the driver's version (`pg` announces libpq's weaker meanings
 * for its next major, and warns on standard error at every start until then).
 * `uselibpqcompat=true` keeps libpq's meanings: an operator's explicit choice.
 * A parameter given twice counts as its last value, as `pg` reads it.
 */
function verifyingSslModes(text: string, url: URL): string {
  const last = (name: string) => url.searchParams.getAll(name).at(-1);
  const mode = last('sslmode');
  if (mode === undefined || !VERIFYING_SSL_MODES.has(mode) || last('uselibpqcompat') === 'true') return text;
  const verified = new URL(text);
  verified.searchParams.set('sslmode', 'verify-full');
  return verified.href;
}

/** The URL, checked; its password never appears in the message of a bad one. */
function parseUrl(text: string): URL {
  const invalid = (why: string) => new ConfigError(`Invalid setting PLATFORM_DATABASE_URL: ${why} (expected postgresql://user@host:port/database; the value is not shown, it may hold a password).`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('not a URL');
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') throw invalid(`the scheme must be postgresql:, not ${url.protocol}`);
  if (!url.hostname) throw invalid('it names no host');
  if (url.pathname.length <= 1) throw invalid('it names no database');
  return url;
}
