import { readFileSync } from 'node:fs';
import os from 'node:os';
import { SourceHosts, type SourceConnectorOptions } from '../connectors/index.js';
import type { Logger } from '../logging/logger.js';
import { sourceSecretPolicyFromEnv } from '../secrets/source-credentials.js';
import { ConfigError, readEnv, setting } from './env.js';

const SSL_MODES = ['disable', 'require', 'verify-full'] as const;

/** Source connection settings shared by both subgraphs. */
export const connectorSettings = {
  SOURCE_CONNECT_TIMEOUT_MS: setting.positiveInt(10_000),
  SOURCE_STATEMENT_TIMEOUT_MS: setting.positiveInt(3_600_000),
  /** The hosts, wildcards, addresses and CIDR ranges (with ports) sources may be on; every host but link-local when unset. */
  SOURCE_ALLOWED_HOSTS: setting.optionalString(),
  /** Send a password where it can be read on the way (clear text, MD5, RSA with the server's key, LOGIN7 outside verified TLS). */
  SOURCE_ALLOW_INSECURE_PASSWORD_AUTH: setting.bool(false),
  /** PostgreSQL: TLS off, on, or on with the certificate verified for the host name. */
  SOURCE_POSTGRESQL_SSLMODE: setting.choice(SSL_MODES, 'disable'),
  /**
   * PostgreSQL: connections a large table (two ranges of 4 MiB or more) is read
   * over at once, in block ranges of one exported snapshot. Each needs a core
   * for its backend and the service's transform keeps pace on one more, so the
   * default is half the cores Node.js sees, at least 1 and at most 4 (measured
   * in docs/performance.md: on 2 vCPUs one connection is fastest). In a pod,
   * Node.js sees the node's cores, not the pod's CPU limit: set it there.
   */
  SOURCE_POSTGRESQL_PARALLEL_CONNECTIONS: setting.positiveInt(Math.min(4, Math.max(1, Math.floor(os.availableParallelism() / 2)))),
  /** MySQL and MariaDB: TLS off, on, or on with the certificate verified for the host name. */
  SOURCE_MYSQL_SSLMODE: setting.choice(SSL_MODES, 'disable'),
  /** SQL Server: require TLS (a server that does not offer it is refused). */
  SOURCE_MSSQL_ENCRYPT: setting.bool(true),
  /** SQL Server: accept any server certificate (self-signed servers); the certificate is verified otherwise. */
  SOURCE_MSSQL_TRUST_SERVER_CERTIFICATE: setting.bool(false),
  /** PEM file of extra CA certificates trusted for source TLS (PostgreSQL, MySQL, SQL Server, Databricks), beside Node's roots. */
  SOURCE_TLS_CA_FILE: setting.optionalString(),
  /** Databricks: how long to wait for a stopped SQL warehouse to start. */
  SOURCE_DATABRICKS_WAREHOUSE_START_TIMEOUT_MS: setting.positiveInt(300_000),
  /** Databricks: rows per fetch (and at most in memory per table). */
  SOURCE_DATABRICKS_FETCH_ROWS: setting.positiveInt(10_000),
  /** Databricks: ask the warehouse for Arrow results (column-based Thrift rows when off). */
  SOURCE_DATABRICKS_ARROW: setting.bool(true),
  /** Databricks: ask for LZ4-compressed Arrow results. */
  SOURCE_DATABRICKS_LZ4: setting.bool(true),
  /** Databricks: let large results come as CloudFetch files from cloud storage. */
  SOURCE_DATABRICKS_CLOUD_FETCH: setting.bool(true),
  /** Databricks: CloudFetch files downloaded ahead at once (each held whole until read). */
  SOURCE_DATABRICKS_CLOUD_FETCH_CONCURRENCY: setting.positiveInt(2),
};

export function connectorOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SourceConnectorOptions {
  const s = readEnv(connectorSettings, env);
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
export function serviceConnectorOptions(log: Logger, env: NodeJS.ProcessEnv = process.env): SourceConnectorOptions {
  const options = connectorOptionsFromEnv(env);
  if (!options.sourceHosts?.restricted) {
    log.warn('sources are unrestricted: any host but link-local addresses may be named by a request; set SOURCE_ALLOWED_HOSTS to the hosts and ranges of this site\'s sources');
  }
  if (options.allowInsecurePasswordAuth) {
    log.warn('SOURCE_ALLOW_INSECURE_PASSWORD_AUTH=true: source passwords may be sent in clear text or MD5 where a source asks for them without verified TLS');
  }
  return options;
}
