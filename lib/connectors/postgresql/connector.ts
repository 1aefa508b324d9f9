import pg from 'pg';
import { AppError } from '../../errors.js';
import { describeSource, type SqlSourceConfig } from '../../contract/index.js';
import type { ColumnInfo, ConnectorOptions, SourceConnector, SqlCredentials, TableInfo } from '../connector.js';
import { authFailed, driverMessage, networkReason, unreachable } from '../failures.js';

/** Relation kinds a dataset may draw from: tables, partitioned tables, views, materialised views, foreign tables. */
const RELATION_KINDS = ['r', 'p', 'v', 'm', 'f'];

const LIST_TABLES = `
  SELECT c.relname AS name, obj_description(c.oid, 'pg_class') AS description
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relkind = ANY($2)
  ORDER BY c.relname COLLATE "C"`;

const LIST_COLUMNS = `
  SELECT c.relname AS table_name, a.attname AS name, col_description(c.oid, a.attnum) AS description,
         pg_catalog.format_type(a.atttypid, a.atttypmod) AS datatype, NOT a.attnotnull AS nullable, a.attnum AS position
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relname = ANY($2) AND c.relkind = ANY($3) AND a.attnum > 0 AND NOT a.attisdropped
  ORDER BY c.relname COLLATE "C", a.attnum`;

/** PostgreSQL through `pg`, one client per request. */
export class PostgresConnector implements SourceConnector {
  readonly source: SqlSourceConfig;
  private readonly credentials: SqlCredentials;
  private readonly options: ConnectorOptions;
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;

  constructor(source: SqlSourceConfig, credentials: SqlCredentials, options: ConnectorOptions = {}) {
    this.source = source;
    this.credentials = credentials;
    this.options = options;
  }

  private get where(): string {
    return describeSource(this.source);
  }

  /** The open client, connecting on first use. */
  protected async connection(): Promise<pg.Client> {
    if (this.client) return this.client;
    this.connecting ??= this.open();
    return this.connecting;
  }

  private async open(): Promise<pg.Client> {
    const client = new pg.Client({
      host: this.source.host_url,
      port: this.source.port,
      database: this.source.database,
      user: this.credentials.username,
      password: this.credentials.password,
      application_name: 'cr8tor-publisher',
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 10_000,
      statement_timeout: this.options.statementTimeoutMs ?? 0,
    });
    // A dropped connection must not crash the process; the pending query reports it.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      this.connecting = undefined;
      throw this.translate(error);
    }
    this.client = client;
    return client;
  }

  /** Runs one query, turning driver failures into AppErrors that name the source. */
  protected async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    const client = await this.connection();
    this.options.onQuery?.(sql);
    try {
      return (await client.query<R>(sql, params)).rows;
    } catch (error) {
      throw this.translate(error);
    }
  }

  /** Maps a `pg` error to the error table. */
  translate(error: unknown): AppError {
    if (error instanceof AppError) return error;
    const code = (error as { code?: string }).code;
    const network = networkReason(error);
    if (network) return unreachable(this.where, network, error);
    if (code === '28P01' || code === '28000') return authFailed(this.where, this.source.credentials.username_key, error);
    if (code === '3D000') return new AppError('SCHEMA_NOT_FOUND', `Database '${this.source.database}' does not exist on the ${this.where}.`, { cause: error });
    if (code === '57014') return new AppError('SOURCE_QUERY_FAILED', `A statement on the ${this.where} ran past its timeout.`, { cause: error });
    if (/terminat|Connection terminated|ended unexpectedly/i.test(driverMessage(error))) {
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
    return 'public';
  }

  async schemaExists(schema: string): Promise<boolean> {
    const rows = await this.query('SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1', [schema]);
    return rows.length > 0;
  }

  async listTables(schema: string): Promise<TableInfo[]> {
    return this.query<TableInfo>(LIST_TABLES, [schema, RELATION_KINDS]);
  }

  async getColumns(schema: string, tables: readonly string[]): Promise<Map<string, ColumnInfo[]>> {
    const rows = await this.query<ColumnInfo & { table_name: string }>(LIST_COLUMNS, [schema, tables, RELATION_KINDS]);
    const byTable = new Map<string, ColumnInfo[]>();
    for (const { table_name, ...column } of rows) {
      let list = byTable.get(table_name);
      if (!list) byTable.set(table_name, (list = []));
      list.push(column);
    }
    return byTable;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.connecting = undefined;
    if (client) await client.end().catch(() => undefined);
  }
}
