import tls from 'node:tls';
import { Connection, Request, TYPES } from './driver.js';
import { AppError } from '../../errors.js';
import { describeSource, type SqlSourceConfig } from '../../contract/index.js';
import type { ConnectorOptions, SqlCredentials } from '../connector.js';
import { authFailed, causeOfType, certificateProblem, connectionLost, driverMessage, networkReason, unreachable, untrustedCertificate } from '../failures.js';
import { assertLoginSecure, guardedConnector, PlaintextLogin } from './login-guard.js';
import { explainedServerError } from './server-errors.js';

/**
 * How the publisher secures SQL Server connections (from the environment, see
 * lib/config/connector-settings.ts). TLS is on unless switched off.
 */
export interface MssqlSettings {
  /** Require TLS (tedious `encrypt`); default true. A server that does not offer it is refused. */
  encrypt?: boolean;
  /** Accept any server certificate (tedious `trustServerCertificate`); default false. */
  trustServerCertificate?: boolean;
}

/** Everything needed to open a connection to one SQL Server source. */
export interface MssqlTarget {
  source: SqlSourceConfig;
  credentials: SqlCredentials;
  options: ConnectorOptions;
  settings: MssqlSettings;
  /** Extra trusted CA certificates (PEM), added to Node's roots. */
  tlsCa?: string | undefined;
}

/** A query parameter: `@name` in the SQL text. */
export interface Param {
  name: string;
  value: string | number | null;
}

/** Login failures SQL Server reports by number: 18456 login failed, 4060 cannot open the database. */
const LOGIN_FAILED = 18456;
const CANNOT_OPEN_DATABASE = 4060;

/**
 * Maps a tedious error to the error table, naming the source and never a
 * secret. Failures before the server answered as SQL Server (refused, closed,
 * timed out, another protocol) all read the same, with the reason in the log.
 */
export function translateMssql(error: unknown, source: SqlSourceConfig, loginNumber?: number): AppError {
  if (error instanceof AppError) return error;
  const where = describeSource(source);
  const e = error as { code?: string; number?: number; message?: string };
  if (causeOfType(error, PlaintextLogin)) return encryptionMismatch(source, true, error);
  const certificate = certificateProblem(error);
  if (certificate) return untrustedCertificate(where, certificate, error, 'SOURCE_MSSQL_TRUST_SERVER_CERTIFICATE=true');
  if (e.code === 'ELOGIN') {
    if (loginNumber === CANNOT_OPEN_DATABASE) {
      return new AppError('SCHEMA_NOT_FOUND', `Database '${source.database}' does not exist on the ${where}, or the login may not open it.`, { cause: error });
    }
    if (loginNumber === LOGIN_FAILED || loginNumber === undefined) return authFailed(where, source.credentials.username_key, error);
  }
  if (e.code === 'ETIMEOUT' && !/connect/i.test(e.message ?? '')) return new AppError('SOURCE_QUERY_FAILED', `A statement on the ${where} ran past its timeout.`, { cause: error });
  if (e.code === 'ESOCKET' || e.code === 'ECLOSE' || networkReason(error) || networkReason((error as { cause?: unknown }).cause)) return connectionLost(where, error);
  const explained = explainedServerError(error, where);
  if (explained) return explained;
  // SQL Server's messages end with a full stop of their own.
  return new AppError('SOURCE_QUERY_FAILED', `The ${where} failed: ${driverMessage(error).replace(/\.$/, '')}.`, { cause: error });
}

/** A failure while connecting and logging in: the server's own answers keep their meaning; anything else reads the same. */
function connectFailure(error: unknown, source: SqlSourceConfig, loginNumber: number | undefined): AppError {
  // Ours, raised in the connector (SOURCE_ALLOWED_HOSTS) and wrapped by tedious.
  const own = causeOfType(error, AppError);
  if (own) return own;
  const e = error as { code?: string };
  if (error instanceof AppError || causeOfType(error, PlaintextLogin) || certificateProblem(error) || e.code === 'ELOGIN') return translateMssql(error, source, loginNumber);
  const reason = networkReason(error) ?? networkReason((error as { cause?: unknown }).cause) ?? driverMessage(error);
  return unreachable(describeSource(source), reason, error);
}

/** Bytes per TDS packet; tedious' 4 KiB default costs a round of parsing per 4 KiB of rows. */
const PACKET_SIZE = 16_384;

/**
 * Opens a tedious connection: TLS by default (a server that answers
 * "encryption not supported" is refused, where tedious would quietly carry on
 * in plain text), the server's certificate verified unless trusted on purpose.
 */
export async function openConnection(target: MssqlTarget): Promise<Connection> {
  const { source, credentials, options, settings } = target;
  const encrypt = settings.encrypt ?? true;
  const trustServerCertificate = settings.trustServerCertificate ?? false;
  assertLoginSecure(source, { encrypt, trustServerCertificate, allowInsecurePasswordAuth: options.allowInsecurePasswordAuth ?? false });
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const connection = new Connection({
    server: source.host_url,
    authentication: { type: 'default', options: { userName: credentials.username, password: credentials.password } },
    options: {
      port: source.port,
      database: source.database,
      encrypt,
      trustServerCertificate,
      connector: guardedConnector(source, options.sourceHosts, encrypt),
      cryptoCredentialsDetails: target.tlsCa ? { ca: [...tls.rootCertificates, target.tlsCa] } : {},
      connectTimeout: connectTimeoutMs,
      requestTimeout: options.statementTimeoutMs ?? 0,
      appName: 'cr8tor-publisher',
      packetSize: PACKET_SIZE,
      useUTC: true,
    },
  });
  let loginNumber: number | undefined;
  let secured = false;
  connection.on('errorMessage', (token: { number: number }) => (loginNumber ??= token.number));
  connection.on('secure', () => (secured = true));
  // A dropped connection must not crash the process; the pending request reports it.
  connection.on('error', () => undefined);
  try {
    await loggedIn(connection, connectTimeoutMs + CONNECT_GRACE_MS);
  } catch (error) {
    connection.close();
    // tedious 20 refuses a server without TLS itself; both refuse TLS switched off on a server that requires it.
    if ((error as { code?: unknown }).code === 'EENCRYPT') throw encryptionMismatch(source, encrypt, error);
    throw connectFailure(error, source, loginNumber);
  }
  if (encrypt && !secured) {
    // A backstop: guardedConnector already stops tedious 19's plain-text login.
    connection.close();
    throw encryptionMismatch(source, encrypt);
  }
  return connection;
}

/** How long past tedious' own connect timeout the publisher waits before giving up on a login itself. */
const CONNECT_GRACE_MS = 1000;

/** A login that neither succeeded nor failed in time: tedious' connect callback never came. */
class LoginStalled extends Error {
  constructor(ms: number) {
    super(`the server did not complete the login within ${ms} ms`);
    this.name = 'LoginStalled';
  }
}

/**
 * Connects and logs in, bounded by our own deadline as well as tedious'.
 * tedious 19 can wait for ever: a server that sends a packet without its
 * end-of-message flag and then hangs up mid-packet leaves its PRELOGIN reader
 * waiting for bytes that never come, and the connect timeout's abort waits
 * on that reader (a random-bytes server does this about once in 300 tries).
 * The caller closes the connection, which destroys its socket.
 */
function loggedIn(connection: Connection, deadlineMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new LoginStalled(deadlineMs)), deadlineMs);
    connection.connect((error) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    });
  });
}

/** The server and SOURCE_MSSQL_ENCRYPT disagree: TLS required but not offered, or switched off but required. */
function encryptionMismatch(source: SqlSourceConfig, encrypt: boolean, cause?: unknown): AppError {
  const where = describeSource(source);
  return new AppError(
    'SOURCE_NOT_SUPPORTED',
    encrypt
      ? `The ${where} does not offer TLS, which the publisher requires; set SOURCE_MSSQL_ENCRYPT=false only where an unencrypted connection is acceptable.`
      : `The ${where} requires TLS, which SOURCE_MSSQL_ENCRYPT=false switches off; remove that setting.`,
    { cause },
  );
}

/** Runs one statement (as sp_executesql) and collects its rows as objects keyed by column name. */
export function runQuery<R>(connection: Connection, sql: string, params: readonly Param[] = []): Promise<R[]> {
  return new Promise((resolve, reject) => {
    const rows: R[] = [];
    const request = new Request(sql, (error) => (error ? reject(error) : resolve(rows)));
    for (const p of params) {
      if (typeof p.value === 'number') request.addParameter(p.name, TYPES.Int, p.value);
      else request.addParameter(p.name, TYPES.NVarChar, p.value, { length: 4000 });
    }
    request.on('row', (columns: Array<{ value: unknown; metadata: { colName: string } }>) => {
      const row: Record<string, unknown> = {};
      for (const c of columns) row[c.metadata.colName] = c.value;
      rows.push(row as R);
    });
    connection.execSql(request);
  });
}

/** Runs statements as one SQL batch, discarding any rows. */
export function runBatch(connection: Connection, sql: string): Promise<void> {
  return new Promise((resolve, reject) => {
    connection.execSqlBatch(new Request(sql, (error) => (error ? reject(error) : resolve())));
  });
}

/** Closes a connection and waits until its socket is gone. */
export function closeConnection(connection: Connection): Promise<void> {
  return new Promise((resolve) => {
    if ((connection as unknown as { closed?: boolean }).closed) return resolve();
    connection.once('end', () => resolve());
    connection.close();
  });
}
