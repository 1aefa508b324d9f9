import type { Connection } from './driver.js';
import { describeSource, type SqlSourceConfig } from '../../contract/index.js';
import { byCodePoint, trackSnapshot, type ColumnInfo, type ConnectorOptions, type SourceConnector, type SourceSnapshot, type SqlCredentials, type TableInfo } from '../connector.js';
import { SCHEMA_EXISTS, listColumns, listTables, tableBatches, type ColumnRow } from './catalog-sql.js';
import { closeConnection, openConnection, runQuery, translateMssql, type MssqlSettings, type MssqlTarget, type Param } from './connection.js';
import { MssqlSnapshot } from './snapshot.js';
import { CatalogConnection } from '../pool/catalog-connection.js';
import { mssqlDatatype, mssqlLogicalType } from './types.js';
import { defaultSchemaOf } from '../system-schemas.js';

/** SQL Server through `tedious`: one catalog connection per request (borrowed from the metadata service's pools), one more per snapshot. */
export class MssqlConnector implements SourceConnector {
  readonly source: SqlSourceConfig;
  private readonly target: MssqlTarget;
  /** The catalog's connection, pooled in the metadata service. */
  private readonly catalog: CatalogConnection<Connection>;
  /** Statements queue on the catalog connection: tedious runs one request at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Snapshots still open, closed with the connector. */
  private readonly snapshots = new Set<SourceSnapshot>();

  constructor(source: SqlSourceConfig, credentials: SqlCredentials, options: ConnectorOptions = {}, settings: MssqlSettings = {}, tlsCa?: string) {
    this.source = source;
    this.target = { source, credentials, options, settings, tlsCa };
    this.catalog = new CatalogConnection(
      {
        open: () => openConnection(this.target),
        destroy: closeConnection,
        // tedious's state machine: only a logged-in connection that has not closed takes requests.
        usable: (conn) => {
          const state = conn as unknown as { closed?: boolean; state?: { name?: string } };
          return !state.closed && state.state?.name === 'LoggedIn';
        },
      },
      options.catalogPools,
      () => ({ type: 'mssql', host: source.host_url, port: source.port, database: source.database, user: credentials.username, password: credentials.password }),
    );
  }

  private get where(): string {
    return describeSource(this.source);
  }

  /** The catalog's connection, connecting (or borrowing one from the pool) on first use. */
  private connection(): Promise<Connection> {
    return this.catalog.get();
  }

  /** Runs one catalog statement after those before it, turning failures into AppErrors that name the source. */
  private query<R>(sql: string, params: Param[] = []): Promise<R[]> {
    const run = async () => {
      const conn = await this.connection();
      this.target.options.onQuery?.(sql);
      try {
        return await runQuery<R>(conn, sql, params);
      } catch (error) {
        this.catalog.markFailed();
        throw translateMssql(error, this.source);
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1 AS one');
  }

  catalogName(): string {
    return this.source.database;
  }

  defaultSchema(): string {
    return defaultSchemaOf(this.source);
  }

  /** With `only` (not empty), just those of the named tables that exist. */
  async schemaTables(schema: string, only?: readonly string[]): Promise<TableInfo[] | null> {
    if ((await this.query(SCHEMA_EXISTS, [{ name: 'schema', value: schema }])).length === 0) return null;
    let rows: TableInfo[];
    if (only && only.length > 0) {
      // Batches each come in order; together, by name once (two spellings in two batches may find one table under a case-insensitive collation), sorted again.
      const byName = new Map<string, TableInfo>();
      for (const batch of tableBatches(schema, only)) for (const r of await this.query<TableInfo>(listTables(batch.count), batch.params)) byName.set(r.name, r);
      rows = [...byName.values()].sort((a, b) => byCodePoint(a.name, b.name));
    } else {
      rows = await this.query<TableInfo>(listTables(), [{ name: 'schema', value: schema }]);
    }
    return rows.map((r) => ({ name: r.name, description: r.description ?? null }));
  }

  async getColumns(schema: string, tables: readonly string[]): Promise<Map<string, ColumnInfo[]>> {
    const byTable = new Map<string, ColumnInfo[]>();
    for (const { count, params } of tableBatches(schema, tables)) {
      for (const row of await this.query<ColumnRow>(listColumns(count), params)) {
        const info = {
          dataType: row.data_type,
          charLength: row.char_length,
          numericPrecision: row.numeric_precision,
          numericScale: row.numeric_scale,
          datetimePrecision: row.datetime_precision,
        };
        const datatype = mssqlDatatype(info);
        const mapped = mssqlLogicalType(info);
        let list = byTable.get(row.table_name);
        if (!list) byTable.set(row.table_name, (list = []));
        list.push({
          name: row.name,
          description: row.description ?? null,
          datatype,
          nullable: row.is_nullable === 'YES',
          position: Number(row.position),
          logical: mapped ?? { kind: 'other', native: datatype },
          primaryKey: row.primary_key == null ? null : Number(row.primary_key),
          ...(mapped ? {} : { unsupported: true as const }),
        });
      }
    }
    return byTable;
  }

  /** A snapshot on a connection of its own, so catalog queries can go on beside it. */
  async snapshot(): Promise<SourceSnapshot> {
    const connection = await openConnection(this.target);
    let opened: MssqlSnapshot;
    try {
      opened = await MssqlSnapshot.begin(connection, {
        where: this.where,
        database: this.source.database,
        translate: (e) => translateMssql(e, this.source),
        onQuery: this.target.options.onQuery,
      });
    } catch (error) {
      await closeConnection(connection);
      throw translateMssql(error, this.source);
    }
    return Object.assign(trackSnapshot(this.snapshots, opened), { consistency: opened.consistency, caveat: opened.caveat });
  }

  async close(): Promise<void> {
    await Promise.all([...this.snapshots].map((s) => s.close()));
    await this.queue;
    await this.catalog.close();
  }
}
