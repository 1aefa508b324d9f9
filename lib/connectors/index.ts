import { AppError } from '../errors.js';
import type { SourceConfig } from '../contract/index.js';
import type { SecretProvider } from '../secrets/index.js';
import type { ConnectorOptions, SourceConnector, SourceSnapshot } from './connector.js';
import type { DatabricksSettings } from './databricks/settings.js';
import type { MssqlSettings } from './mssql/connection.js';

export type { SourceConnector, SourceSnapshot, ColumnInfo, TableInfo, ConnectorOptions } from './connector.js';
export { resolveDataset, type ResolvedDataset, type ResolvedTable } from './catalog.js';
export type { MssqlSettings } from './mssql/connection.js';
export type { DatabricksSettings } from './databricks/settings.js';

/** Options of every connector, plus the settings only some sources read. */
export interface SourceConnectorOptions extends ConnectorOptions {
  /** SQL Server TLS settings. */
  mssql?: MssqlSettings;
  /** Databricks warehouse settings. */
  databricks?: DatabricksSettings;
  /** Extra CA certificates (PEM) trusted for SQL Server TLS and Databricks HTTPS, beside Node's roots. */
  tlsCa?: string;
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
 * Opens the connector for a source: reads the named credentials from the secret
 * store and builds the driver-specific connector. Nothing connects until first use.
 * Each driver is loaded on the first use of its source type, so a service holds
 * in memory only the drivers its sources need (the SQL Server and Databricks
 * drivers alone are some 60 MiB).
 */
export async function openConnector(source: SourceConfig, secrets: SecretProvider, options: SourceConnectorOptions = {}): Promise<SourceConnector> {
  switch (source.type) {
    case 'postgresql':
    case 'mysql': {
      const [username, password] = await Promise.all([
        secrets.get(source.credentials.username_key),
        secrets.get(source.credentials.password_key),
      ]);
      if (source.type === 'postgresql') {
        const { PostgresConnector } = await import('./postgresql/connector.js');
        return new PostgresConnector(source, { username, password }, options);
      }
      const { MysqlConnector } = await import('./mysql/connector.js');
      return new MysqlConnector(source, { username, password }, options);
    }
    case 'mssql': {
      const [username, password] = await Promise.all([
        secrets.get(source.credentials.username_key),
        secrets.get(source.credentials.password_key),
      ]);
      const { MssqlConnector } = await import('./mssql/connector.js');
      return new MssqlConnector(source, { username, password }, options, options.mssql, options.tlsCa);
    }
    case 'databrickssql': {
      const [clientId, clientSecret] = await Promise.all([secrets.get(source.credentials.spn_clientid), secrets.get(source.credentials.spn_secret)]);
      const { DatabricksConnector } = await import('./databricks/connector.js');
      return new DatabricksConnector(source, { clientId, clientSecret }, options, options.databricks, options.tlsCa);
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
