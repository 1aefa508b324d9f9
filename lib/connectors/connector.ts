import type { Readable } from 'node:stream';
import type { SourceConfig } from '../contract/index.js';
import type { LogicalType } from '../types/logical.js';
import type { SourceHosts } from './egress/source-hosts.js';
import type { CatalogPools } from './pool/catalog-pools.js';

/** A table or view as the source's catalog describes it. */
export interface TableInfo {
  name: string;
  /** The table comment, or null when it has none. */
  description: string | null;
  /** Its columns, when the connector read them with the table (PostgreSQL and Databricks, for tables named to `schemaTables`). */
  columns?: ColumnInfo[];
}

/** A column as the source's catalog describes it. */
export interface ColumnInfo {
  name: string;
  /** The column comment, or null when it has none. */
  description: string | null;
  /** The source's own type name, with length, precision and scale where it has them. */
  datatype: string;
  nullable: boolean;
  /** 1-based position in the table. */
  position: number;
  /** The column's logical type (see lib/types/logical.ts). */
  logical: LogicalType;
  /** 1-based position in the table's primary key, or null when not part of it. */
  primaryKey: number | null;
  /**
   * Set when the publisher has no faithful mapping for the column's type: the
   * column is reported in metadata (logical `other`), but extracting it is
   * refused (resolveDataset with `forExtraction`) naming the column and type.
   */
  unsupported?: true;
}

/**
 * Running totals of one table's CSV stream as it leaves the snapshot: rows
 * encoded so far and the CSV bytes (header included) pushed so far. Called
 * once per chunk (tens of KiB), never per row; the last call's figures are
 * the table's whole stream.
 */
export type CsvProgress = (rows: number, bytes: number) => void;

/**
 * A consistent, read-only view of a source for one package: every table read
 * through it sees the same snapshot (one repeatable-read transaction).
 */
export interface SourceSnapshot {
  /**
   * Streams the given columns of a table, in the given order, as CSV bytes: a
   * header row of column names, then one row per source row, each value in its
   * canonical text form (lib/types/logical.ts). Memory stays bounded whatever
   * the table's size; the stream errors with an AppError naming the source.
   * Only columns confirmed by the catalog (resolveDataset) may be passed.
   * `progress`, when given, is told the running totals as chunks are pushed.
   */
  csv(schema: string, table: string, columns: readonly ColumnInfo[], progress?: CsvProgress): Readable;
  /**
   * The source's estimate of each table's rows from its catalog statistics,
   * in one catalog query on the snapshot's own connection (no table is read).
   * A table without statistics (never analysed, a view) is absent. A snapshot
   * without this method has no estimates (Databricks: see its snapshot).
   */
  estimateRows?(schema: string, tables: readonly string[]): Promise<Map<string, number>>;
  /** Rows a completed `csv()` stream of the table carried, or null when it has not completed. */
  rowsRead(schema: string, table: string): number | null;
  /** Ends the snapshot and releases the connection. */
  close(): Promise<void>;
}

/** Options every connector honours. */
export interface ConnectorOptions {
  /** Milliseconds to wait for a connection before giving up. */
  connectTimeoutMs?: number;
  /** Milliseconds any one statement may run. */
  statementTimeoutMs?: number;
  /** Called with every SQL text the connector sends (for debugging, metrics and tests). */
  onQuery?: (sql: string) => void;
  /** The hosts a connector may connect to (SOURCE_ALLOWED_HOSTS); every host but the link-local ranges when absent. */
  sourceHosts?: SourceHosts;
  /**
   * Whether a password may be sent in a form readable on the way (clear text,
   * MD5, RSA with a key the server sent, SQL Server's LOGIN7 outside verified
   * TLS) when the connection is not TLS with a verified certificate
   * (SOURCE_ALLOW_INSECURE_PASSWORD_AUTH); default false.
   */
  allowInsecurePasswordAuth?: boolean;
  /** Extra CA certificates (PEM) trusted for source TLS, beside Node's roots. */
  tlsCa?: string;
  /**
   * Pools the catalog connections are borrowed from (the metadata service's;
   * absent: each connector opens its own). Snapshots never use them.
   */
  catalogPools?: CatalogPools;
}

/** TLS to a PostgreSQL or MySQL source: off, on without checking the certificate, or on with the certificate verified for the host name. */
export type SslMode = 'disable' | 'require' | 'verify-full';

/**
 * One source database, opened for one request. Both subgraphs use this
 * interface: metadata reads the catalog, publish validates and extracts.
 * Connectors connect lazily and must be closed.
 */
export interface SourceConnector {
  readonly source: SourceConfig;
  /** Opens the connection and runs a trivial query; throws a clear AppError on failure. */
  ping(): Promise<void>;
  /** The name of the database or catalog, as reported in metadata. */
  catalogName(): string;
  /** The schema a dataset without `schema_name` means (PostgreSQL: public, MySQL: the database). */
  defaultSchema(): string;
  /**
   * The schema's tables and views in a stable order (by name), or null when
   * there is no such schema. With `only`, a connector may leave out the tables
   * not named there: PostgreSQL and MySQL do, so that a request naming its
   * tables reads the catalog rows of those, not of a schema of thousands
   * (PostgreSQL reads their columns in the same query).
   */
  schemaTables(schema: string, only?: readonly string[]): Promise<TableInfo[] | null>;
  /** Columns of many tables in one catalog query, each list in column order; unknown tables are absent. */
  getColumns(schema: string, tables: readonly string[]): Promise<Map<string, ColumnInfo[]>>;
  /** Opens a consistent snapshot for extraction. */
  snapshot(): Promise<SourceSnapshot>;
  close(): Promise<void>;
}

/** The credentials a connector is opened with, resolved from the secret store. */
export interface SqlCredentials {
  username: string;
  password: string;
}

/** The key snapshots use to remember per-table figures. */
export function tableKey(schema: string, table: string): string {
  return `${schema}\u0000${table}`;
}

/**
 * Wraps a connector's opened snapshot so that closing it forgets it: the
 * connector keeps `open` and closes whatever is left when it closes.
 */
export function trackSnapshot(open: Set<SourceSnapshot>, opened: SourceSnapshot): SourceSnapshot {
  const tracked: SourceSnapshot = {
    csv: (schema, table, columns, progress) => opened.csv(schema, table, columns, progress),
    ...(opened.estimateRows ? { estimateRows: (schema: string, tables: readonly string[]) => opened.estimateRows!(schema, tables) } : {}),
    rowsRead: (schema, table) => opened.rowsRead(schema, table),
    async close() {
      open.delete(tracked);
      await opened.close();
    },
  };
  open.add(tracked);
  return tracked;
}

/** Names in ordinal order (of UTF-16 code units; code point order but for characters beyond U+FFFF), as connectors list tables. */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
