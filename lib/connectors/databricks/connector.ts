import type https from 'node:https';
import tls from 'node:tls';
import { describeSource, type DatabricksSourceConfig } from '../../contract/index.js';
import { byCodePoint, type ColumnInfo, type ConnectorOptions, type SourceConnector, type SourceSnapshot, type TableInfo } from '../connector.js';
import { CheckedHttpsAgent } from '../egress/dial.js';
import { SourceHosts } from '../egress/source-hosts.js';
import { agentFor } from './cloud-fetch.js';
import { databricksSettings, type DatabricksSettings } from './settings.js';
import { DatabricksSnapshot } from './snapshot.js';
import { TokenSource, type ServicePrincipal } from './token.js';
import { databricksLogicalType } from './types.js';
import { UnityCatalog, type UcTable } from './unity-catalog.js';
import { Warehouse } from './warehouse.js';
import { defaultSchemaOf } from '../system-schemas.js';

/** Table descriptions fetched at once from Unity Catalog (one GET each). */
const TABLE_CONCURRENCY = 8;

/**
 * Whether Unity Catalog could hold an object of this name: at most 255
 * characters, none of them a period, a space, a forward slash or an ASCII
 * control character (docs.databricks.com, "Names").
 */
function possibleName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && ![...name].some((c) => c === '.' || c === ' ' || c === '/' || c <= '\u001f' || c === '\u007f');
}

/**
 * Databricks: metadata from the Unity Catalog REST API, rows from the SQL
 * warehouse at `http_path` through @databricks/sql, both with one OAuth M2M
 * token of the service principal named by `spn_clientid`/`spn_secret`.
 *
 * The workspace is `https://{host_url's host}:{port}`: a port written in
 * host_url wins, otherwise the request's `port` (443 by default). Metadata
 * never starts the warehouse; validation and extraction do.
 */
export class DatabricksConnector implements SourceConnector {
  readonly source: DatabricksSourceConfig;
  private readonly unityCatalog: UnityCatalog;
  private readonly warehouse: Warehouse;
  private readonly fetchRows: number;
  /** The workspace's requests (token, Unity Catalog, Thrift) and the CloudFetch downloads: each checks SOURCE_ALLOWED_HOSTS. */
  private readonly agent: CheckedHttpsAgent;
  private readonly storageAgent: https.Agent;
  /** Tables listed so far, by `schema\0table`: their type and storage format decide how they are read. */
  private readonly listed = new Map<string, UcTable>();
  private readonly snapshots = new Set<SourceSnapshot>();

  constructor(source: DatabricksSourceConfig, principal: ServicePrincipal, options: ConnectorOptions = {}, settings: DatabricksSettings = {}, tlsCa?: string) {
    this.source = source;
    const where = describeSource(source);
    const url = new URL(source.host_url);
    const port = url.port ? Number(url.port) : source.port;
    const origin = `https://${url.hostname}:${port}`;
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    const socketTimeoutMs = options.statementTimeoutMs ?? 3_600_000;
    const hosts = options.sourceHosts ?? SourceHosts.unrestricted();
    // One agent for the workspace's HTTPS requests (the token, Unity Catalog, the warehouse's
    // Thrift calls), another for CloudFetch downloads; both check SOURCE_ALLOWED_HOSTS.
    const agent = new CheckedHttpsAgent(hosts, where, {
      keepAlive: true,
      minVersion: 'TLSv1.2',
      timeout: socketTimeoutMs,
      ...(tlsCa ? { ca: [...tls.rootCertificates, tlsCa] } : {}),
    });
    this.agent = agent;
    const tokens = new TokenSource({ origin, where, clientIdSecret: source.credentials.spn_clientid, agent, timeoutMs }, principal);
    this.unityCatalog = new UnityCatalog({ origin, where, agent, timeoutMs, onRequest: options.onQuery && ((path) => options.onQuery!(`GET ${path}`)) }, tokens);
    const s = databricksSettings(settings);
    this.storageAgent = agentFor({ where }, { hosts, tlsCa, maxSockets: s.cloudFetchConcurrency });
    this.warehouse = new Warehouse({
      host: url.hostname,
      port,
      path: source.http_path,
      catalog: source.catalog,
      where,
      agent,
      tokens,
      startTimeoutMs: s.warehouseStartTimeoutMs,
      socketTimeoutMs,
      settings: s,
      storageAgent: this.storageAgent,
      onQuery: options.onQuery,
    });
    this.fetchRows = s.fetchRows;
  }

  private get where(): string {
    return describeSource(this.source);
  }

  /** Opens a session on the warehouse (starting it if it is stopped and allowed to start) and runs SELECT 1. */
  async ping(): Promise<void> {
    await this.warehouse.query('SELECT 1 AS one');
  }

  catalogName(): string {
    return this.source.catalog;
  }

  defaultSchema(): string {
    return defaultSchemaOf(this.source);
  }

  /**
   * With `only` (not empty), just those of the named tables that exist, each
   * from its own TableInfo with its columns (one GET per table, a few at a
   * time; the schema is asked after only when a table is missing), instead of
   * every page of the schema's listing.
   */
  async schemaTables(schema: string, only?: readonly string[]): Promise<TableInfo[] | null> {
    if (only && only.length > 0) {
      const found = await this.tableInfos(schema, only);
      if (found.size < new Set(only).size && (await this.unityCatalog.schema(this.source.catalog, schema)) === undefined) return null;
      return [...found.values()]
        .map((t) => ({ name: t.name, description: t.comment || null, columns: this.columnsOf(t) }))
        .sort((a, b) => byCodePoint(a.name, b.name));
    }
    if ((await this.unityCatalog.schema(this.source.catalog, schema)) === undefined) return null;
    const tables = await this.unityCatalog.tables(this.source.catalog, schema);
    for (const t of tables) this.listed.set(`${schema}\u0000${t.name}`, t);
    return tables.map((t) => ({ name: t.name, description: t.comment || null })).sort((a, b) => byCodePoint(a.name, b.name));
  }

  /** Each table's columns and primary key from its TableInfo (ListTables leaves constraints out). */
  async getColumns(schema: string, tables: readonly string[]): Promise<Map<string, ColumnInfo[]>> {
    const found = await this.tableInfos(schema, tables);
    return new Map([...found].map(([name, info]) => [name, this.columnsOf(info)]));
  }

  /**
   * The TableInfo of each named table that exists under exactly that name
   * (Unity Catalog answers `Person` with `person`, which a listing would not
   * match either) and that the principal may read: one GET per table, a few at a time. Each is kept for the
   * snapshot, which reads a table's type and storage format from it.
   */
  private async tableInfos(schema: string, tables: readonly string[]): Promise<Map<string, UcTable>> {
    const found = new Map<string, UcTable>();
    // A name Unity Catalog cannot hold is not asked for: the listing would not have it either.
    const queue = [...new Set(tables)].filter(possibleName);
    const worker = async () => {
      for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
        const info = await this.unityCatalog.table(this.source.catalog, schema, name);
        // A table the principal may only browse is not in the listing either (it asks no include_browse), and cannot be read.
        if (info?.name !== name || info.browse_only === true) continue;
        found.set(name, info);
        this.listed.set(`${schema}\u0000${name}`, info);
      }
    };
    await Promise.all(Array.from({ length: Math.min(TABLE_CONCURRENCY, queue.length) }, worker));
    return found;
  }

  private columnsOf(info: UcTable): ColumnInfo[] {
    const key = info.table_constraints?.find((c) => c.primary_key_constraint)?.primary_key_constraint?.child_columns ?? [];
    const columns = [...(info.columns ?? [])].sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
    return columns.map((c, i) => {
      const datatype = c.type_text ?? c.type_name?.toLowerCase() ?? '';
      const mapped = databricksLogicalType({ typeName: c.type_name, typeText: datatype, precision: c.type_precision, scale: c.type_scale });
      const inKey = key.indexOf(c.name);
      return {
        name: c.name,
        description: c.comment || null,
        datatype,
        // Unity Catalog documents `nullable` as true by default: a missing field reads as true.
        nullable: c.nullable !== false,
        position: (c.position ?? i) + 1,
        logical: mapped ?? { kind: 'other', native: datatype },
        primaryKey: inKey >= 0 ? inKey + 1 : null,
        ...(mapped ? {} : { unsupported: true as const }),
      };
    });
  }

  async snapshot(): Promise<SourceSnapshot> {
    await this.warehouse.open();
    const snapshot = new DatabricksSnapshot({
      catalog: this.source.catalog,
      where: this.where,
      warehouse: this.warehouse,
      tableInfo: (schema, table) => this.listed.get(`${schema}\u0000${table}`),
      fetchRows: this.fetchRows,
    });
    this.snapshots.add(snapshot);
    return snapshot;
  }

  async close(): Promise<void> {
    await Promise.all([...this.snapshots].map((s) => s.close()));
    this.snapshots.clear();
    await this.warehouse.close();
    this.agent.destroy();
    this.storageAgent.destroy();
  }
}
