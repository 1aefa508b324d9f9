import mysql from 'mysql2/promise';
import { AppError } from '../../errors.js';
import { describeSource, type SqlSourceConfig } from '../../contract/index.js';
import type { ColumnInfo, ConnectorOptions, SourceConnector, SqlCredentials, TableInfo } from '../connector.js';
import { authFailed, driverMessage, networkReason, unreachable } from '../failures.js';

const LIST_TABLES = `
  SELECT TABLE_NAME AS name, NULLIF(TABLE_COMMENT, '') AS description
  FROM information_schema.TABLES
  WHERE TABLE_SCHEMA = ?
  ORDER BY CAST(TABLE_NAME AS BINARY)`;

const LIST_COLUMNS = `
  SELECT TABLE_NAME AS table_name, COLUMN_NAME AS name, NULLIF(COLUMN_COMMENT, '') AS description,
         COLUMN_TYPE AS datatype, IS_NULLABLE = 'YES' AS nullable, ORDINAL_POSITION AS position
  FROM information_schema.COLUMNS
  WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN (?)
  ORDER BY CAST(TABLE_NAME AS BINARY), ORDINAL_POSITION`;

/** MySQL and MariaDB through `mysql2`, one connection per request. */
export class MysqlConnector implements SourceConnector {
  readonly source: SqlSourceConfig;
  private readonly credentials: SqlCredentials;
  private readonly options: ConnectorOptions;
  private conn: mysql.Connection | undefined;
  private connecting: Promise<mysql.Connection> | undefined;

  constructor(source: SqlSourceConfig, credentials: SqlCredentials, options: ConnectorOptions = {}) {
    this.source = source;
    this.credentials = credentials;
    this.options = options;
  }

  private get where(): string {
    return describeSource(this.source);
  }

  protected async connection(): Promise<mysql.Connection> {
    if (this.conn) return this.conn;
    this.connecting ??= this.open();
    return this.connecting;
  }

  private async open(): Promise<mysql.Connection> {
    try {
      const conn = await mysql.createConnection({
        host: this.source.host_url,
        port: this.source.port,
        database: this.source.database,
        user: this.credentials.username,
        password: this.credentials.password,
        connectTimeout: this.options.connectTimeoutMs ?? 10_000,
        supportBigNumbers: true,
        bigNumberStrings: true,
        dateStrings: true,
        charset: 'utf8mb4',
      });
      conn.on('error', () => undefined);
      this.conn = conn;
      return conn;
    } catch (error) {
      this.connecting = undefined;
      throw this.translate(error);
    }
  }

  protected async query<R>(sql: string, params: unknown[] = []): Promise<R[]> {
    const conn = await this.connection();
    this.options.onQuery?.(sql);
    try {
      const [rows] = await conn.query({ sql, values: params, timeout: this.options.statementTimeoutMs });
      return rows as R[];
    } catch (error) {
      throw this.translate(error);
    }
  }

  /** Maps a `mysql2` error to the error table. */
  translate(error: unknown): AppError {
    if (error instanceof AppError) return error;
    const code = (error as { code?: string }).code;
    const network = networkReason(error);
    if (network) return unreachable(this.where, network, error);
    if (code === 'ER_ACCESS_DENIED_ERROR' || code === 'ER_DBACCESS_DENIED_ERROR') return authFailed(this.where, this.source.credentials.username_key, error);
    if (code === 'ER_BAD_DB_ERROR') return new AppError('SCHEMA_NOT_FOUND', `Database '${this.source.database}' does not exist on the ${this.where}.`, { cause: error });
    if (code === 'PROTOCOL_CONNECTION_LOST' || code === 'PROTOCOL_SEQUENCE_TIMEOUT') {
      return new AppError('SOURCE_UNREACHABLE', `The connection to the ${this.where} was lost: ${driverMessage(error)}.`, { cause: error });
    }
    return new AppError('SOURCE_QUERY_FAILED', `The ${this.where} failed: ${driverMessage(error)}.`, { cause: error });
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
  }

  catalogName(): string {
    return this.source.database;
  }

  defaultSchema(): string {
    return this.source.database;
  }

  async schemaExists(schema: string): Promise<boolean> {
    const rows = await this.query('SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [schema]);
    return rows.length > 0;
  }

  async listTables(schema: string): Promise<TableInfo[]> {
    return this.query<TableInfo>(LIST_TABLES, [schema]);
  }

  async getColumns(schema: string, tables: readonly string[]): Promise<Map<string, ColumnInfo[]>> {
    const byTable = new Map<string, ColumnInfo[]>();
    if (tables.length === 0) return byTable;
    const rows = await this.query<ColumnInfo & { table_name: string; nullable: number | boolean }>(LIST_COLUMNS, [schema, tables]);
    for (const { table_name, ...column } of rows) {
      let list = byTable.get(table_name);
      if (!list) byTable.set(table_name, (list = []));
      list.push({ ...column, nullable: Boolean(Number(column.nullable)), position: Number(column.position) });
    }
    return byTable;
  }

  async close(): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    this.connecting = undefined;
    if (conn) await conn.end().catch(() => conn.destroy());
  }
}
