import net from 'node:net';
import tls from 'node:tls';
import pg from 'pg';
import { AppError } from '../../errors.js';
import { describeSource, type SqlSourceConfig } from '../../contract/index.js';
import { trackSnapshot, type ColumnInfo, type ConnectorOptions, type SourceConnector, type SourceSnapshot, type SqlCredentials, type SslMode, type TableInfo } from '../connector.js';
import { checkedAddress } from '../egress/dial.js';
import { CatalogConnection } from '../pool/catalog-connection.js';
import { SourceHosts } from '../egress/source-hosts.js';
import {
  authFailed, certificateProblem, connectionLost, driverMessage, insecureAuth, insecureRequestOf, InsecurePasswordRequest, networkReason, unreachable, untrustedCertificate,
} from '../failures.js';
import { PgSnapshot } from './snapshot.js';
import { pgLogicalType, type PgTypeInfo } from './types.js';
import { defaultSchemaOf } from '../system-schemas.js';

/** Relation kinds a dataset may draw from: tables, partitioned tables, views, materialised views, foreign tables. */
const RELATION_KINDS = ['r', 'p', 'v', 'm', 'f'];

/**
 * A relation's comment (objsubid 0) or a column's (objsubid its attnum), joined
 * from pg_description by its key rather than through obj_description() and
 * col_description(): those are SQL functions that run a query of their own per
 * row, which made listing a schema of 3,000 tables take 20 ms against 6
 * (docs/performance.md).
 */
const DESCRIPTION_OF = (alias: string, relation: string, subid: string) =>
  `LEFT JOIN pg_catalog.pg_description ${alias} ON ${alias}.objoid = ${relation} AND ${alias}.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND ${alias}.objsubid = ${subid}`;

/**
 * Where a schema's tables (with `named`, those of them named in $3) are read
 * from, the schema itself always: no row when the schema does not exist, one
 * row without a table when it holds none (of those named).
 */
const tablesOf = (named: boolean) => `
  FROM pg_catalog.pg_namespace n
  LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relkind = ANY($2)${named ? ' AND c.relname = ANY($3)' : ''}
  ${DESCRIPTION_OF('d', 'c.oid', '0')}
  WHERE n.nspname = $1`;

/** The schema's tables and views, and whether the schema exists, in one round trip. */
const LIST_TABLES = `SELECT c.relname AS name, d.description ${tablesOf(false)} ORDER BY c.relname COLLATE "C"`;

/**
 * Domains resolved to their base type once for the whole database (there are
 * few), then joined: a per-column recursive lookup scans pg_type per column.
 * A domain's type modifier is the nearest one declared along its chain.
 */
const DOMAINS = `
  WITH RECURSIVE chain(oid, base, typmod) AS (
    SELECT t.oid, t.typbasetype, t.typtypmod FROM pg_catalog.pg_type t WHERE t.typtype = 'd'
    UNION ALL
    SELECT d.oid, t.typbasetype, CASE WHEN d.typmod >= 0 THEN d.typmod ELSE t.typtypmod END
    FROM chain d JOIN pg_catalog.pg_type t ON t.oid = d.base
    WHERE t.typtype = 'd'
  ), domain_base AS (
    SELECT d.oid, d.base, d.typmod FROM chain d JOIN pg_catalog.pg_type t ON t.oid = d.base WHERE t.typtype <> 'd'
  )`;

/**
 * Every column of the tables named in $3: its type with domains resolved (for
 * an array, its element's too), enum labels, and its position in the primary key.
 */
const COLUMN_ROWS = `
  SELECT c.relname AS table_name, a.attname AS name, d.description,
         pg_catalog.format_type(a.atttypid, a.atttypmod) AS datatype, NOT a.attnotnull AS nullable, a.attnum AS position,
         (SELECT array_position(k.conkey, a.attnum) FROM pg_catalog.pg_constraint k
          WHERE k.conrelid = c.oid AND k.contype = 'p') AS primary_key,
         bt.typname AS type_name, btn.nspname AS type_schema, bt.typtype AS type_kind, b.typmod,
         pg_catalog.format_type(bt.oid, b.typmod) AS type_sql,
         et.typname AS elem_name, etn.nspname AS elem_schema, et.typtype AS elem_kind, e.typmod AS elem_typmod,
         pg_catalog.format_type(et.oid, e.typmod) AS elem_sql,
         (SELECT array_agg(l.enumlabel::text ORDER BY l.enumsortorder) FROM pg_catalog.pg_enum l
          WHERE l.enumtypid = COALESCE(et.oid, bt.oid)) AS enum_labels
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN domain_base ad ON ad.oid = a.atttypid
  CROSS JOIN LATERAL (SELECT COALESCE(ad.base, a.atttypid) AS oid, CASE WHEN ad.oid IS NULL THEN a.atttypmod ELSE ad.typmod END AS typmod) b
  JOIN pg_catalog.pg_type bt ON bt.oid = b.oid
  JOIN pg_catalog.pg_namespace btn ON btn.oid = bt.typnamespace
  LEFT JOIN domain_base ed ON ed.oid = bt.typelem
  LEFT JOIN LATERAL (SELECT COALESCE(ed.base, bt.typelem) AS oid, CASE WHEN ed.oid IS NULL THEN b.typmod ELSE ed.typmod END AS typmod) e
    ON bt.typelem <> 0 AND bt.typlen = -1
  LEFT JOIN pg_catalog.pg_type et ON et.oid = e.oid
  LEFT JOIN pg_catalog.pg_namespace etn ON etn.oid = et.typnamespace
  ${DESCRIPTION_OF('d', 'c.oid', 'a.attnum')}
  WHERE n.nspname = $1 AND c.relname = ANY($3) AND c.relkind = ANY($2) AND a.attnum > 0 AND NOT a.attisdropped`;

/** Every column of the tables named in $3 in one query. */
const LIST_COLUMNS = `${DOMAINS} ${COLUMN_ROWS} ORDER BY c.relname COLLATE "C", a.attnum`;

/**
 * The tables named in $3 and all their columns, and whether the schema
 * exists, in one round trip: a table's row (no column name) comes before its
 * columns'. A request that names its tables is resolved with this alone.
 */
const DESCRIBE_NAMED_TABLES = `${DOMAINS}
  SELECT * FROM (
    SELECT c.relname AS table_name, NULL::name AS name, d.description,
           NULL::text AS datatype, NULL::boolean AS nullable, NULL::smallint AS position, NULL::integer AS primary_key,
           NULL::name AS type_name, NULL::name AS type_schema, NULL::"char" AS type_kind, NULL::integer AS typmod, NULL::text AS type_sql,
           NULL::name AS elem_name, NULL::name AS elem_schema, NULL::"char" AS elem_kind, NULL::integer AS elem_typmod, NULL::text AS elem_sql,
           NULL::text[] AS enum_labels
    ${tablesOf(true)}
    UNION ALL
    ${COLUMN_ROWS}
  ) catalog
  ORDER BY table_name COLLATE "C", position NULLS FIRST`;

interface ColumnRow {
  table_name: string;
  name: string;
  description: string | null;
  datatype: string;
  nullable: boolean;
  position: number;
  primary_key: number | null;
  type_name: string;
  type_schema: string;
  type_kind: string;
  typmod: number;
  type_sql: string;
  elem_name: string | null;
  elem_schema: string | null;
  elem_kind: string | null;
  elem_typmod: number | null;
  elem_sql: string | null;
  enum_labels: string[] | null;
}

function typeInfo(row: ColumnRow): PgTypeInfo {
  const info: PgTypeInfo = { typeName: row.type_name, typeSchema: row.type_schema, typeKind: row.type_kind, typmod: row.typmod, typeSql: row.type_sql };
  if (row.elem_name != null) {
    info.element = { typeName: row.elem_name, typeSchema: row.elem_schema ?? '', typeKind: row.elem_kind ?? '', typmod: row.elem_typmod ?? -1, typeSql: row.elem_sql ?? row.elem_name };
  }
  if (row.enum_labels) info.enumLabels = row.enum_labels;
  return info;
}

function columnOf(row: ColumnRow): ColumnInfo {
  const mapped = pgLogicalType(typeInfo(row));
  const logical = mapped ?? { kind: 'other' as const, native: row.datatype };
  const { name, description, datatype, nullable, position } = row;
  return { name, description, datatype, nullable, position, logical, primaryKey: row.primary_key, ...(mapped ? {} : { unsupported: true as const }) };
}

/** A row of DESCRIBE_NAMED_TABLES: a table's (no column name; no table name when the schema holds none of them) or a column's. */
type CatalogRow = { [K in keyof ColumnRow]: ColumnRow[K] | null };

/** PostgreSQL through `pg`: one catalog client per request (borrowed from the metadata service's pools), one more per snapshot. */
export class PostgresConnector implements SourceConnector {
  readonly source: SqlSourceConfig;
  private readonly credentials: SqlCredentials;
  private readonly options: ConnectorOptions;
  /** The catalog's connection, pooled in the metadata service. */
  private readonly catalog: CatalogConnection<pg.Client>;
  /** Snapshots still open, closed with the connector. */
  private readonly snapshots = new Set<SourceSnapshot>();

  private readonly sslMode: SslMode;
  /** Connections a snapshot reads one large table over (SOURCE_POSTGRESQL_PARALLEL_CONNECTIONS). */
  private readonly parallel: number;

  constructor(source: SqlSourceConfig, credentials: SqlCredentials, options: ConnectorOptions = {}, sslMode: SslMode = 'disable', parallel = 1) {
    this.source = source;
    this.credentials = credentials;
    this.options = options;
    this.sslMode = sslMode;
    this.catalog = new CatalogConnection(
      {
        open: () => this.openCatalog(),
        destroy: (client) => client.end(),
        // pg marks a client whose connection ended or failed as no longer queryable.
        usable: (client) => {
          const state = client as unknown as { _queryable: boolean; _ending: boolean };
          return state._queryable && !state._ending;
        },
      },
      options.catalogPools,
      () => ({ type: 'postgresql', host: source.host_url, port: source.port, database: source.database, user: credentials.username, password: credentials.password }),
    );
    this.parallel = parallel;
  }

  private get where(): string {
    return describeSource(this.source);
  }

  /** The catalog's client, connecting (or borrowing one from the pool) on first use. */
  protected connection(): Promise<pg.Client> {
    return this.catalog.get();
  }

  /** `pg`'s TLS options for the mode: the certificate checked against the host name the request gave (the socket dials its checked address). */
  private tls(): pg.ClientConfig['ssl'] {
    if (this.sslMode === 'disable') return false;
    if (this.sslMode === 'require') return { rejectUnauthorized: false };
    const host = this.source.host_url;
    return {
      rejectUnauthorized: true,
      ...(this.options.tlsCa ? { ca: [...tls.rootCertificates, this.options.tlsCa] } : {}),
      ...(net.isIP(host) ? {} : { servername: host }),
    };
  }

  /**
   * A new connected client (the catalog's, or a snapshot's own), dialling the
   * address SOURCE_ALLOWED_HOSTS allowed. The password is handed over only
   * when the server asks for it by SCRAM, or over TLS with a verified
   * certificate: a server asking for it in clear text or as MD5 (which an
   * eavesdropper, or a server the caller chose, can read or replay) gets none.
   */
  private async open(): Promise<pg.Client> {
    const target = await checkedAddress(this.options.sourceHosts ?? SourceHosts.unrestricted(), this.source.host_url, this.source.port, this.where);
    let asked: string | undefined;
    const readable = this.sslMode !== 'verify-full' && !this.options.allowInsecurePasswordAuth;
    const client = new pg.Client({
      host: target.address,
      port: this.source.port,
      database: this.source.database,
      user: this.credentials.username,
      password: async () => {
        if (asked && readable) throw new InsecurePasswordRequest(asked);
        return this.credentials.password;
      },
      ssl: this.tls(),
      application_name: 'cr8tor-publisher',
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 10_000,
      statement_timeout: this.options.statementTimeoutMs ?? 0,
    });
    // Which method the server asked for, noted before `pg` asks for the password.
    client.connection.on('authenticationCleartextPassword', () => (asked = 'in clear text'));
    client.connection.on('authenticationMD5Password', () => (asked = 'as MD5'));
    // A dropped connection must not crash the process; the pending query reports it.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      client.connection.stream.destroy();
      throw this.connectFailure(error);
    }
    return client;
  }

  /**
   * A catalog connection: {@link open}, then generic plans for its prepared
   * statements. The catalog statements are prepared once per connection and
   * their plans do not depend on the values passed; with the default
   * `plan_cache_mode = auto` the server re-plans the column query on every
   * call (about 1 ms of its 1.8; docs/performance.md). Servers before
   * PostgreSQL 12 lack the setting and keep planning each call.
   */
  private async openCatalog(): Promise<pg.Client> {
    const client = await this.open();
    try {
      await client.query('SET plan_cache_mode = force_generic_plan');
    } catch (error) {
      // 42704: no such setting (before PostgreSQL 12). Anything else is the connection failing.
      if ((error as { code?: string }).code !== '42704') {
        await client.end().catch(() => undefined);
        throw this.translate(error);
      }
    }
    return client;
  }

  /**
   * A failure while connecting: the server's own answers (authentication, no
   * such database, no TLS, an untrusted certificate, a password request
   * refused) keep their meaning; anything else (refused, closed, timed out,
   * another protocol) reads the same to the caller, with the reason in the log.
   */
  private connectFailure(error: unknown): AppError {
    if (error instanceof AppError) return error;
    const insecure = insecureRequestOf(error);
    if (insecure) return insecureAuth(this.where, insecure, 'SOURCE_POSTGRESQL_SSLMODE=verify-full');
    if (/does not support SSL/i.test(driverMessage(error))) {
      return new AppError('SOURCE_NOT_SUPPORTED', `The ${this.where} does not offer TLS, which SOURCE_POSTGRESQL_SSLMODE=${this.sslMode} requires.`, { cause: error });
    }
    const certificate = certificateProblem(error);
    if (certificate) return untrustedCertificate(this.where, certificate, error);
    const network = networkReason(error);
    // A SQLSTATE (not a socket's code such as EPIPE) means a PostgreSQL server answered.
    if (!network && /^[0-9A-Z]{5}$/.test(String((error as { code?: unknown }).code))) return this.translate(error);
    const ms = this.options.connectTimeoutMs ?? 10_000;
    // pg reports its own connect timer as a bare "timeout expired".
    const reason = network ?? (/timeout expired/i.test(driverMessage(error)) ? `no answer within ${ms} ms (SOURCE_CONNECT_TIMEOUT_MS)` : driverMessage(error));
    return unreachable(this.where, reason, error);
  }

  /** Runs one query, turning driver failures into AppErrors that name the source. */
  protected async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = [], name?: string): Promise<R[]> {
    const client = await this.connection();
    this.options.onQuery?.(sql);
    try {
      // A named statement is parsed and planned once per connection, then reused by every request the connection serves.
      return (await client.query<R>(name ? { name, text: sql, values: params } : { text: sql, values: params })).rows;
    } catch (error) {
      this.catalog.markFailed();
      throw this.translate(error);
    }
  }

  /** Maps a `pg` error to the error table. */
  translate(error: unknown): AppError {
    if (error instanceof AppError) return error;
    const code = (error as { code?: string }).code;
    // Connected before: a network failure now is a connection lost.
    if (networkReason(error)) return connectionLost(this.where, error);
    if (code === '28P01' || code === '28000') return authFailed(this.where, this.source.credentials.username_key, error);
    if (code === '3D000') return new AppError('SCHEMA_NOT_FOUND', `Database '${this.source.database}' does not exist on the ${this.where}.`, { cause: error });
    if (code === '57014') {
      const detail = /statement timeout/i.test(driverMessage(error))
        ? `ran past its timeout of ${this.options.statementTimeoutMs ?? 0} ms (SOURCE_STATEMENT_TIMEOUT_MS)`
        : `was cancelled (${driverMessage(error)})`;
      return new AppError('SOURCE_QUERY_FAILED', `A statement on the ${this.where} ${detail}.`, { cause: error });
    }
    // 57P01-57P03: the server is shutting down or an administrator ended the session.
    if (code === '57P01' || code === '57P02' || code === '57P03' || /terminat|ended unexpectedly|not queryable/i.test(driverMessage(error))) {
      return connectionLost(this.where, error);
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
    return defaultSchemaOf(this.source);
  }

  /**
   * The schema's existence and its tables in one query. With `only`, those of
   * them named, looked up by name, each with its columns: one round trip
   * resolves the request (listing a schema of 3,000 tables takes milliseconds).
   */
  async schemaTables(schema: string, only?: readonly string[]): Promise<TableInfo[] | null> {
    if (!only) {
      const rows = await this.query<{ name: string | null; description: string | null }>(LIST_TABLES, [schema, RELATION_KINDS], 'cr8tor_list_tables');
      if (rows.length === 0) return null;
      return rows.filter((row): row is TableInfo => row.name !== null);
    }
    const rows = await this.query<CatalogRow>(DESCRIBE_NAMED_TABLES, [schema, RELATION_KINDS, only], 'cr8tor_describe_named_tables');
    if (rows.length === 0) return null;
    const tables = new Map<string, TableInfo & { columns: ColumnInfo[] }>();
    for (const row of rows) {
      if (row.table_name === null) continue;
      if (row.name === null) tables.set(row.table_name, { name: row.table_name, description: row.description, columns: [] });
      else tables.get(row.table_name)?.columns.push(columnOf(row as ColumnRow));
    }
    return [...tables.values()];
  }

  async getColumns(schema: string, tables: readonly string[]): Promise<Map<string, ColumnInfo[]>> {
    const rows = await this.query<ColumnRow>(LIST_COLUMNS, [schema, RELATION_KINDS, tables], 'cr8tor_list_columns');
    const byTable = new Map<string, ColumnInfo[]>();
    for (const row of rows) {
      let list = byTable.get(row.table_name);
      if (!list) byTable.set(row.table_name, (list = []));
      list.push(columnOf(row));
    }
    return byTable;
  }

  /** A snapshot on a connection of its own, so catalog queries can go on beside it. */
  async snapshot(): Promise<SourceSnapshot> {
    const client = await this.open();
    let opened: PgSnapshot;
    try {
      opened = await PgSnapshot.begin(client, {
        where: this.where,
        translate: (e) => this.translate(e),
        onQuery: this.options.onQuery,
        parallel: this.parallel,
        open: () => this.open(),
      });
    } catch (error) {
      await client.end().catch(() => undefined);
      throw this.translate(error);
    }
    return trackSnapshot(this.snapshots, opened);
  }

  async close(): Promise<void> {
    await Promise.all([...this.snapshots].map((s) => s.close()));
    await this.catalog.close();
  }
}
