import net from 'node:net';
import tls from 'node:tls';
import mysqlCore from 'mysql2';
import mysql from 'mysql2/promise';
import { AppError } from '../../errors.js';
import { describeSource, type SqlSourceConfig } from '../../contract/index.js';
import { trackSnapshot, type ColumnInfo, type ConnectorOptions, type SourceConnector, type SourceSnapshot, type SqlCredentials, type SslMode, type TableInfo } from '../connector.js';
import { checkedAddress } from '../egress/dial.js';
import { CatalogConnection } from '../pool/catalog-connection.js';
import { SourceHosts } from '../egress/source-hosts.js';
import {
  authFailed, certificateProblem, connectionLost, driverMessage, insecureAuth, insecureRequestOf, networkReason, unreachable, untrustedCertificate,
} from '../failures.js';
import { authPlugins } from './auth-plugins.js';
import { MysqlSnapshot } from './snapshot.js';
import { mysqlLogicalType } from './types.js';
import { defaultSchemaOf } from '../system-schemas.js';

/** A view's TABLE_COMMENT is the word 'VIEW' (views cannot have comments), not a description. */
/** The schema's tables and views (with `named`, those of them named in the second parameter). */
const listTables = (named: boolean) => `
  SELECT TABLE_NAME AS name, CASE WHEN TABLE_TYPE = 'VIEW' THEN NULL ELSE NULLIF(TABLE_COMMENT, '') END AS description
  FROM information_schema.TABLES
  WHERE TABLE_SCHEMA = ?${named ? ' AND TABLE_NAME IN (?)' : ''}
  ORDER BY CAST(TABLE_NAME AS BINARY)`;
const LIST_TABLES = listTables(false);
const LIST_NAMED_TABLES = listTables(true);

/**
 * Every column of the requested tables in one query, with its position in the
 * primary key. On MariaDB, JSON is LONGTEXT with a CHECK (json_valid(column)),
 * found in CHECK_CONSTRAINTS (MySQL has a real JSON type and no TABLE_NAME there).
 * Each information_schema table is filtered by the constant schema and table
 * names before it is joined: correlated lookups would scan every table of the
 * server once per column. Parameters: schema and table list, once per table read.
 */
function listColumns(mariadb: boolean): { sql: string; reads: number } {
  const jsonJoin = mariadb
    ? `LEFT JOIN (SELECT DISTINCT TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
                WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME IN (?) AND CHECK_CLAUSE LIKE '%json_valid(%') k
       ON BINARY k.TABLE_NAME = BINARY c.TABLE_NAME
      AND LOCATE(CONCAT('json_valid(\`', REPLACE(c.COLUMN_NAME, '\`', '\`\`'), '\`)'), k.CHECK_CLAUSE) > 0`
    : '';
  const sql = `
  SELECT c.TABLE_NAME AS table_name, c.COLUMN_NAME AS name, NULLIF(c.COLUMN_COMMENT, '') AS description,
         c.COLUMN_TYPE AS datatype, c.IS_NULLABLE = 'YES' AS nullable, c.ORDINAL_POSITION AS position,
         c.DATA_TYPE AS data_type, c.CHARACTER_MAXIMUM_LENGTH AS char_length,
         MIN(u.ORDINAL_POSITION) AS primary_key, ${mariadb ? 'COUNT(k.TABLE_NAME) > 0' : '0'} AS json_check
  FROM information_schema.COLUMNS c
  LEFT JOIN (SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION FROM information_schema.KEY_COLUMN_USAGE
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (?) AND CONSTRAINT_NAME = 'PRIMARY') u
    ON BINARY u.TABLE_NAME = BINARY c.TABLE_NAME AND u.COLUMN_NAME = c.COLUMN_NAME
  ${jsonJoin}
  WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME IN (?)
  GROUP BY c.TABLE_NAME, c.COLUMN_NAME, c.COLUMN_COMMENT, c.COLUMN_TYPE, c.IS_NULLABLE, c.ORDINAL_POSITION, c.DATA_TYPE, c.CHARACTER_MAXIMUM_LENGTH
  ORDER BY CAST(c.TABLE_NAME AS BINARY), c.ORDINAL_POSITION`;
  return { sql, reads: mariadb ? 3 : 2 };
}

interface ColumnRow {
  table_name: string;
  name: string;
  description: string | null;
  datatype: string;
  nullable: number | string;
  position: number | string;
  data_type: string;
  char_length: number | string | null;
  primary_key: number | string | null;
  json_check: number | string;
}

/** MySQL and MariaDB through `mysql2`: one catalog connection per request (borrowed from the metadata service's pools), one more per snapshot. */
export class MysqlConnector implements SourceConnector {
  readonly source: SqlSourceConfig;
  private readonly credentials: SqlCredentials;
  private readonly options: ConnectorOptions;
  /** The catalog's connection, pooled in the metadata service. */
  private readonly catalog: CatalogConnection<mysql.Connection>;
  /** Snapshots still open, closed with the connector. */
  private readonly snapshots = new Set<SourceSnapshot>();

  private readonly sslMode: SslMode;

  constructor(source: SqlSourceConfig, credentials: SqlCredentials, options: ConnectorOptions = {}, sslMode: SslMode = 'disable') {
    this.source = source;
    this.credentials = credentials;
    this.options = options;
    this.sslMode = sslMode;
    this.catalog = new CatalogConnection(
      {
        open: () => this.open(),
        destroy: (conn) => conn.end().catch(() => conn.destroy()),
        usable: (conn) => {
          const core = (conn as unknown as { connection: { _closing?: boolean; _fatalError?: unknown; stream?: { destroyed?: boolean } } }).connection;
          return !core._closing && !core._fatalError && core.stream?.destroyed !== true;
        },
      },
      options.catalogPools,
      () => ({ type: 'mysql', host: source.host_url, port: source.port, database: source.database, user: credentials.username, password: credentials.password }),
    );
  }

  private get where(): string {
    return describeSource(this.source);
  }

  /** The catalog's connection, connecting (or borrowing one from the pool) on first use. */
  protected connection(): Promise<mysql.Connection> {
    return this.catalog.get();
  }

  /**
   * Settings of every connection: numbers, dates and JSON arrive as the
   * server's text. The socket dials the address SOURCE_ALLOWED_HOSTS allowed
   * (checked anew for each connection); `host` stays the requested name, which
   * TLS verifies. Passwords go only where {@link authPlugins} lets them.
   */
  private async settings(): Promise<mysqlCore.ConnectionOptions> {
    const { port } = this.source;
    const target = await checkedAddress(this.options.sourceHosts ?? SourceHosts.unrestricted(), this.source.host_url, port, this.where);
    return {
      host: this.source.host_url,
      port,
      stream: () => net.connect({ host: target.address, port, family: target.family }).setNoDelay(true),
      database: this.source.database,
      user: this.credentials.username,
      password: this.credentials.password,
      ...(this.sslMode === 'disable' ? {} : { ssl: this.tls() }),
      authPlugins: authPlugins(this.sslMode === 'verify-full' || this.options.allowInsecurePasswordAuth === true),
      connectTimeout: this.options.connectTimeoutMs ?? 10_000,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      jsonStrings: true,
      charset: 'utf8mb4',
    };
  }

  private tls(): mysqlCore.SslOptions {
    if (this.sslMode === 'require') return { rejectUnauthorized: false };
    return { rejectUnauthorized: true, verifyIdentity: !net.isIP(this.source.host_url), ...(this.options.tlsCa ? { ca: [...tls.rootCertificates, this.options.tlsCa] } : {}) };
  }

  private async open(): Promise<mysql.Connection> {
    let conn: mysql.Connection;
    try {
      conn = await mysql.createConnection(await this.settings());
    } catch (error) {
      throw this.connectFailure(error);
    }
    this.refuseStranger(conn);
    try {
      conn.on('error', () => undefined);
      const limit = statementTimeLimit(isMariaDb(conn), this.options.statementTimeoutMs);
      if (limit) {
        this.options.onQuery?.(limit);
        await conn.query(limit);
      }
      return conn;
    } catch (error) {
      conn.destroy();
      throw this.translate(error);
    }
  }

  /**
   * A failure while connecting: the server's own answers (an error packet,
   * TLS not offered, an untrusted certificate, a password request refused)
   * keep their meaning; anything else (refused, closed, timed out, another
   * protocol) reads the same to the caller, with the reason in the log.
   */
  private connectFailure(error: unknown): AppError {
    if (error instanceof AppError) return error;
    const insecure = insecureRequestOf(error);
    if (insecure) return insecureAuth(this.where, insecure, 'SOURCE_MYSQL_SSLMODE=verify-full');
    const code = (error as { code?: string }).code;
    if (code === 'HANDSHAKE_NO_SSL_SUPPORT') {
      return new AppError('SOURCE_NOT_SUPPORTED', `The ${this.where} does not offer TLS, which SOURCE_MYSQL_SSLMODE=${this.sslMode} requires.`, { cause: error });
    }
    const certificate = certificateProblem(error);
    if (certificate) return untrustedCertificate(this.where, certificate, error);
    // An error packet from the server carries an SQL state.
    if (typeof (error as { sqlState?: unknown }).sqlState === 'string') return this.translate(error);
    const reason = code === 'ETIMEDOUT' ? `no answer within ${this.options.connectTimeoutMs ?? 10_000} ms (SOURCE_CONNECT_TIMEOUT_MS)` : (networkReason(error) ?? driverMessage(error));
    return unreachable(this.where, reason, error);
  }

  /**
   * A connection mysql2 counts as logged in that did not come from a MySQL
   * server is closed, and reads as any other port that is not a source.
   */
  private refuseStranger(conn: mysql.Connection | mysqlCore.Connection): void {
    const stranger = notMysql(conn);
    if (!stranger) return;
    conn.destroy();
    throw unreachable(this.where, stranger, undefined);
  }

  protected async query<R>(sql: string, params: unknown[] = []): Promise<R[]> {
    const conn = await this.connection();
    this.options.onQuery?.(sql);
    try {
      const [rows] = await conn.query({ sql, values: params, timeout: clientTimeout(this.options.statementTimeoutMs) });
      return rows as R[];
    } catch (error) {
      this.catalog.markFailed();
      throw this.translate(error);
    }
  }

  /** Maps a `mysql2` error to the error table. */
  translate(error: unknown): AppError {
    if (error instanceof AppError) return error;
    const code = (error as { code?: string }).code;
    // Connected before: a network failure now is a connection lost.
    if (networkReason(error)) return connectionLost(this.where, error);
    if (code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR') return authFailed(this.where, this.source.credentials.username_key, error);
    if (code === 'ER_BAD_DB_ERROR') return new AppError('SCHEMA_NOT_FOUND', `Database '${this.source.database}' does not exist on the ${this.where}.`, { cause: error });
    // The server's limit (MariaDB ER_STATEMENT_TIMEOUT 1969, MySQL ER_QUERY_TIMEOUT) or the driver's backstop.
    const errno = (error as { errno?: number }).errno;
    if (errno === 1969 || code === 'ER_QUERY_TIMEOUT' || code === 'PROTOCOL_SEQUENCE_TIMEOUT') {
      return new AppError('SOURCE_QUERY_FAILED', `A statement on the ${this.where} ran past its timeout of ${this.options.statementTimeoutMs ?? 0} ms (SOURCE_STATEMENT_TIMEOUT_MS).`, { cause: error });
    }

    // ER_CONNECTION_KILLED (MariaDB 1927) and ER_SERVER_SHUTDOWN (1053) end the session too.
    const lost = ['PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_CONNECTION_KILLED', 'ER_SERVER_SHUTDOWN'];
    if (code && lost.includes(code)) return connectionLost(this.where, error);
    return new AppError('SOURCE_QUERY_FAILED', `The ${this.where} failed: ${driverMessage(error)}.`, { cause: error });
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  catalogName(): string {
    return this.source.database;
  }

  defaultSchema(): string {
    return defaultSchemaOf(this.source);
  }

  /** With `only` (not empty), just those of the named tables that exist: `IN ()` is no SQL. */
  async schemaTables(schema: string, only?: readonly string[]): Promise<TableInfo[] | null> {
    const exists = await this.query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [schema]);
    if (exists.length === 0) return null;
    if (only?.length === 0) return [];
    return only ? this.query<TableInfo>(LIST_NAMED_TABLES, [schema, only]) : this.query<TableInfo>(LIST_TABLES, [schema]);
  }

  async getColumns(schema: string, tables: readonly string[]): Promise<Map<string, ColumnInfo[]>> {
    const byTable = new Map<string, ColumnInfo[]>();
    if (tables.length === 0) return byTable;
    const { sql, reads } = listColumns(isMariaDb(await this.connection()));
    const rows = await this.query<ColumnRow>(sql, Array.from({ length: reads }, () => [schema, tables]).flat());
    for (const row of rows) {
      const mapped = mysqlLogicalType({
        dataType: row.data_type,
        columnType: row.datatype,
        charLength: row.char_length == null ? null : Number(row.char_length),
        jsonCheck: Boolean(Number(row.json_check)),
      });
      const logical = mapped ?? { kind: 'other' as const, native: row.datatype };
      let list = byTable.get(row.table_name);
      if (!list) byTable.set(row.table_name, (list = []));
      list.push({
        name: row.name,
        description: row.description,
        datatype: row.datatype,
        nullable: Boolean(Number(row.nullable)),
        position: Number(row.position),
        logical,
        primaryKey: row.primary_key == null ? null : Number(row.primary_key),
        ...(mapped ? {} : { unsupported: true as const }),
      });
    }
    return byTable;
  }

  /** A snapshot on a connection of its own, so catalog queries can go on beside it. */
  async snapshot(): Promise<SourceSnapshot> {
    const connection = mysqlCore.createConnection(await this.settings());
    connection.on('error', () => undefined);
    try {
      await new Promise<void>((resolve, reject) => connection.connect((error) => (error ? reject(error) : resolve())));
    } catch (error) {
      connection.destroy();
      throw this.connectFailure(error);
    }
    this.refuseStranger(connection);
    let opened: MysqlSnapshot;
    try {
      opened = await MysqlSnapshot.begin(connection, {
        where: this.where,
        translate: (e) => this.translate(e),
        onQuery: this.options.onQuery,
        statementTimeoutMs: clientTimeout(this.options.statementTimeoutMs),
        sessionLimit: statementTimeLimit(isMariaDb(connection), this.options.statementTimeoutMs),
        kill: (threadId) => this.kill(threadId),
      });
    } catch (error) {
      connection.destroy();
      throw this.translate(error);
    }
    return trackSnapshot(this.snapshots, opened);
  }

  /**
   * Stops the statement of server session `threadId` (one of this connector's
   * snapshots), on a connection opened for it. KILL QUERY, not CONNECTION: the
   * server answers the stopped statement with an error, which ends it on the
   * driver's side too (its inactivity timer with it); the session, whose
   * client has closed its side, then ends and its transaction with it.
   */
  private async kill(threadId: number): Promise<void> {
    const conn = await this.open();
    try {
      const sql = 'KILL QUERY ?';
      this.options.onQuery?.(sql);
      await conn.query(sql, [threadId]);
    } finally {
      conn.destroy();
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.snapshots].map((s) => s.close()));
    await this.catalog.close();
  }
}

/**
 * The session setting that makes the server itself stop any statement running
 * longer than SOURCE_STATEMENT_TIMEOUT_MS (so nothing keeps running on the
 * source after the publisher gave up): MariaDB counts seconds, MySQL milliseconds.
 */
function statementTimeLimit(mariadb: boolean, ms: number | undefined): string | undefined {
  if (!ms) return undefined;
  return mariadb ? `SET SESSION max_statement_time = ${ms / 1000}` : `SET SESSION max_execution_time = ${Math.ceil(ms)}`;
}

/** The driver's own timer: a backstop a little after the server's limit, for a server that stops answering. */
function clientTimeout(ms: number | undefined): number | undefined {
  return ms ? ms + 2000 : undefined;
}

/**
 * Whether the server is MariaDB, from the version in its handshake (MariaDB
 * announces itself as `5.5.5-10.11.…-MariaDB`), so no query is spent on it.
 */
function isMariaDb(conn: mysql.Connection | mysqlCore.Connection): boolean {
  return /mariadb/i.test(greeting(conn)?.serverVersion ?? '');
}

/** The server's handshake packet, as the driver parsed it. */
function greeting(conn: mysql.Connection | mysqlCore.Connection): { protocolVersion?: number; serverVersion?: string } | undefined {
  type Core = { _handshakePacket?: { protocolVersion?: number; serverVersion?: string } };
  const c = conn as unknown as Core & { connection?: Core };
  return (c.connection ?? c)._handshakePacket;
}

/** Every MySQL and MariaDB server since 3.21 greets with protocol version 10. */
const MYSQL_PROTOCOL = 10;

/**
 * Why a connection `mysql2` counts as logged in did not come from a MySQL
 * server, or undefined. mysql2 reads whatever arrives first as the server's
 * greeting and an empty packet as the login's OK, so a server speaking no
 * MySQL at all (bytes that end in an empty packet) can "log in".
 */
function notMysql(conn: mysql.Connection | mysqlCore.Connection): string | undefined {
  const version = greeting(conn)?.protocolVersion;
  return version === MYSQL_PROTOCOL ? undefined : `the server's greeting is not MySQL's (protocol version ${String(version)})`;
}
