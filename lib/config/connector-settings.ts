import { readFileSync } from 'node:fs';
import { SourceHosts, type SourceConnectorOptions } from '../connectors/index.js';
import type { Logger } from '../logging/logger.js';
import { sourceSecretPolicyFromEnv } from '../secrets/source-credentials.js';
import { ConfigError, readSettings } from './env.js';
import { catalogPoolSettings, connectorSettings } from './settings/index.js';
import type { CatalogPoolSettings } from '../connectors/pool/catalog-pools.js';

/** The source connector options the environment gives; a bad value throws a ConfigError naming it. */
export function connectorOptionsFromEnv(env?: NodeJS.ProcessEnv): SourceConnectorOptions {
  const s = readSettings(connectorSettings, env);
  let tlsCa: string | undefined;
  if (s.SOURCE_TLS_CA_FILE) {
    try {
      tlsCa = readFileSync(s.SOURCE_TLS_CA_FILE, 'utf8');
    } catch (error) {
      throw new ConfigError(`Invalid setting SOURCE_TLS_CA_FILE: cannot read ${JSON.stringify(s.SOURCE_TLS_CA_FILE)} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
    }
    if (!tlsCa.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`Invalid setting SOURCE_TLS_CA_FILE: ${JSON.stringify(s.SOURCE_TLS_CA_FILE)} holds no PEM certificate.`);
  }
  return {
    connectTimeoutMs: s.SOURCE_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: s.SOURCE_STATEMENT_TIMEOUT_MS,
    sourceHosts: SourceHosts.parse(s.SOURCE_ALLOWED_HOSTS),
    allowInsecurePasswordAuth: s.SOURCE_ALLOW_INSECURE_PASSWORD_AUTH,
    secretPolicy: sourceSecretPolicyFromEnv(env),
    postgresqlSslMode: s.SOURCE_POSTGRESQL_SSLMODE,
    postgresqlParallelConnections: s.SOURCE_POSTGRESQL_PARALLEL_CONNECTIONS,
    mysqlSslMode: s.SOURCE_MYSQL_SSLMODE,
    mssql: { encrypt: s.SOURCE_MSSQL_ENCRYPT, trustServerCertificate: s.SOURCE_MSSQL_TRUST_SERVER_CERTIFICATE },
    databricks: {
      warehouseStartTimeoutMs: s.SOURCE_DATABRICKS_WAREHOUSE_START_TIMEOUT_MS,
      fetchRows: s.SOURCE_DATABRICKS_FETCH_ROWS,
      arrow: s.SOURCE_DATABRICKS_ARROW,
      lz4: s.SOURCE_DATABRICKS_LZ4,
      cloudFetch: s.SOURCE_DATABRICKS_CLOUD_FETCH,
      cloudFetchConcurrency: s.SOURCE_DATABRICKS_CLOUD_FETCH_CONCURRENCY,
    },
    ...(tlsCa ? { tlsCa } : {}),
  };
}

/**
 * The connector options of a subgraph process, with one warning line at
 * start-up when SOURCE_ALLOWED_HOSTS is unset (sources unrestricted but for
 * link-local addresses) or when passwords may travel readable.
 */
export function serviceConnectorOptions(log: Logger, env?: NodeJS.ProcessEnv): SourceConnectorOptions {
  const options = connectorOptionsFromEnv(env);
  if (!options.sourceHosts?.restricted) {
    log.warn('sources are unrestricted: any host but link-local addresses may be named by a request; set SOURCE_ALLOWED_HOSTS to the hosts and ranges of this site\'s sources');
  }
  if (options.allowInsecurePasswordAuth) {
    log.warn('SOURCE_ALLOW_INSECURE_PASSWORD_AUTH=true: source passwords may be sent in clear text or MD5 where a source asks for them without verified TLS');
  }
  return options;
}

/** The metadata service's catalog pool bounds the environment gives; undefined with SOURCE_METADATA_POOL=off. */
export function catalogPoolSettingsFromEnv(env?: NodeJS.ProcessEnv): CatalogPoolSettings | undefined {
  const s = readSettings(catalogPoolSettings, env);
  if (s.SOURCE_METADATA_POOL === 'off') return undefined;
  return { poolsMax: s.SOURCE_METADATA_POOLS_MAX, connectionsPerPool: s.SOURCE_METADATA_POOL_CONNECTIONS, idleMs: s.SOURCE_METADATA_POOL_IDLE_MS };
}
