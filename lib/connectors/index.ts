import { AppError } from '../errors.js';
import type { SourceConfig } from '../contract/index.js';
import type { SecretProvider } from '../secrets/index.js';
import type { ConnectorOptions, SourceConnector } from './connector.js';
import { MysqlConnector } from './mysql/connector.js';
import { PostgresConnector } from './postgresql/connector.js';

export type { SourceConnector, SourceSnapshot, ColumnInfo, TableInfo, ConnectorOptions } from './connector.js';
export { resolveDataset, type ResolvedDataset, type ResolvedTable } from './catalog.js';

/**
 * Opens the connector for a source: reads the named credentials from the secret
 * store and builds the driver-specific connector. Nothing connects until first use.
 */
export async function openConnector(source: SourceConfig, secrets: SecretProvider, options: ConnectorOptions = {}): Promise<SourceConnector> {
  switch (source.type) {
    case 'postgresql':
    case 'mysql': {
      const [username, password] = await Promise.all([
        secrets.get(source.credentials.username_key),
        secrets.get(source.credentials.password_key),
      ]);
      const Connector = source.type === 'postgresql' ? PostgresConnector : MysqlConnector;
      return new Connector(source, { username, password }, options);
    }
    default:
      throw new AppError('SOURCE_NOT_SUPPORTED', `Sources of type '${source.type}' are not supported by this release; supported: postgresql, mysql.`);
  }
}

/** Runs `work` with an open connector and always closes it. */
export async function withConnector<T>(
  source: SourceConfig,
  secrets: SecretProvider,
  options: ConnectorOptions,
  work: (connector: SourceConnector) => Promise<T>,
): Promise<T> {
  const connector = await openConnector(source, secrets, options);
  try {
    return await work(connector);
  } finally {
    await connector.close();
  }
}
