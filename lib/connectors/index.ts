import { AppError } from '../errors.js';
import type { SourceConfig } from '../contract/index.js';
import type { SecretProvider } from '../secrets/index.js';
import { SourceCredentials, sourceSecretPolicyFromEnv, type SourceSecretPolicy } from '../secrets/source-credentials.js';
import type { ConnectorOptions, SourceConnector, SourceSnapshot, SslMode } from './connector.js';
import type { DatabricksSettings } from './databricks/settings.js';
import type { MssqlSettings } from './mssql/connection.js';

export type { SourceConnector, SourceSnapshot, CsvProgress, ColumnInfo, TableInfo, ConnectorOptions, SslMode } from './connector.js';
export { SourceHosts } from './egress/source-hosts.js';
export { CatalogPools, type CatalogPoolSettings } from './pool/catalog-pools.js';
export { resolveDataset, type CatalogView, type ResolvedDataset, type ResolvedTable } from './catalog.js';
export type { MssqlSettings } from './mssql/connection.js';
export type { DatabricksSettings } from './databricks/settings.js';

/** Options of every connector, plus the settings only some sources read. */
export interface SourceConnectorOptions extends ConnectorOptions {
  /** SQL Server TLS settings. */
  mssql?: MssqlSettings;
  /** Databricks warehouse settings. */
  databricks?: DatabricksSettings;
  /** TLS to PostgreSQL sources (SOURCE_POSTGRESQL_SSLMODE); off by default. */
  postgresqlSslMode?: SslMode;
  /** Connections one large PostgreSQL table is read over at once (SOURCE_POSTGRESQL_PARALLEL_CONNECTIONS); 1 when absent. */
  postgresqlParallelConnections?: number;
  /** TLS to MySQL and MariaDB sources (SOURCE_MYSQL_SSLMODE); off by default. */
  mysqlSslMode?: SslMode;
  /** Which secret names may be source credentials; the API keys' and every `…_SECRET_NAME` setting's never (from the environment when absent). */
  secretPolicy?: SourceSecretPolicy;
}

/**
 * What a snapshot says about the consistency it gives, when its connector
 * says anything (SQL Server and Databricks do): the publish service logs it
 * with the package, as a warning when `caveat` is set.
 */
export function snapshotConsistency(snapshot: SourceSnapshot): { consistency: string; caveat: boolean } | undefined {
  const s = snapshot as Partial<{ consistency: unknown; caveat: unknown }>;
  return typeof s.consistency === 'string' ? { consistency: s.consistency, caveat: s.caveat === true } : undefined;
}

/**
 * Opens the connector for a source: reads the named credentials through the
 * one gate for source credentials (lib/secrets/source-credentials.ts: never a
 * platform secret) and builds the driver-specific connector. Nothing connects
 * until first use. Each driver is loaded on the first use of its source type,
 * so a service holds in memory only the drivers its sources need (the SQL
 * Server and Databricks drivers alone are some 60 MiB).
 */
export async function openConnector(source: SourceConfig, secrets: SecretProvider, options: SourceConnectorOptions = {}): Promise<SourceConnector> {
  const credentials = new SourceCredentials(secrets, options.secretPolicy ?? sourceSecretPolicyFromEnv());
  if (source.type === 'databrickssql') {
    const [clientId, clientSecret] = await credentials.resolve([
      { field: 'source.credentials.spn_clientid', name: source.credentials.spn_clientid },
      { field: 'source.credentials.spn_secret', name: source.credentials.spn_secret },
    ]);
    const { DatabricksConnector } = await import('./databricks/connector.js');
    return new DatabricksConnector(source, { clientId: clientId!, clientSecret: clientSecret! }, options, options.databricks, options.tlsCa);
  }
  const [username, password] = await credentials.resolve([
    { field: 'source.credentials.username_key', name: source.credentials.username_key },
    { field: 'source.credentials.password_key', name: source.credentials.password_key },
  ]);
  const sql = { username: username!, password: password! };
  switch (source.type) {
    case 'postgresql': {
      const { PostgresConnector } = await import('./postgresql/connector.js');
      return new PostgresConnector(source, sql, options, options.postgresqlSslMode, options.postgresqlParallelConnections);
    }
    case 'mysql': {
      const { MysqlConnector } = await import('./mysql/connector.js');
      return new MysqlConnector(source, sql, options, options.mysqlSslMode);
    }
    case 'mssql': {
      const { MssqlConnector } = await import('./mssql/connector.js');
      return new MssqlConnector(source, sql, options, options.mssql, options.tlsCa);
    }
    default: {
      const unknown: never = source;
      throw new AppError('SOURCE_NOT_SUPPORTED', `Sources of type '${(unknown as SourceConfig).type}' are not supported; supported: postgresql, mysql, mssql (sqlserver), databrickssql.`);
    }
  }
}

/** Runs `work` with an open connector and always closes it. */
export async function withConnector<T>(
  source: SourceConfig,
  secrets: SecretProvider,
  options: SourceConnectorOptions,
  work: (connector: SourceConnector) => Promise<T>,
): Promise<T> {
  const connector = await openConnector(source, secrets, options);
  try {
    return await work(connector);
  } finally {
    await connector.close();
  }
}
