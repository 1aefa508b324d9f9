/** How the metadata and publish services reach source databases. */
import os from 'node:os';
import { DEFAULT_FETCH_ROWS, DEFAULT_WAREHOUSE_START_TIMEOUT_MS } from '../../connectors/databricks/settings.js';
import { defineSettings, setting } from '../env.js';

const SSL_MODES = ['disable', 'require', 'verify-full'] as const;
const SUBGRAPHS = ['metadata', 'publish'] as const;

/** Source connection settings shared by both subgraphs. */
export const connectorSettings = defineSettings({
  SOURCE_CONNECT_TIMEOUT_MS: { ...setting.positiveInt(10_000), services: SUBGRAPHS, description: 'Connection timeout for sources.' },
  SOURCE_STATEMENT_TIMEOUT_MS: { ...setting.positiveInt(3_600_000), services: SUBGRAPHS, description: 'Longest single statement on a source.' },
  SOURCE_ALLOWED_HOSTS: {
    ...setting.optionalString(),
    type: 'comma-separated hosts and ranges',
    services: SUBGRAPHS,
    defaultText: 'unset: any host except 169.254.0.0/16 and fe80::/10',
    description:
      'The hosts sources may be on: host names (`db.example.org`), wildcards (`*.example.org`, one or more labels), IP addresses and CIDR ranges (`10.20.0.0/16`, IPv6 too), each optionally with `:port` or `:low-high` (IPv6 in brackets: `[fd00::/8]:1433`). Checked on every address the name resolves to, which is then the address dialled; anything else is a 403. **Set it**: unset (kept so for upgrades, with a warning at start-up) lets a request point the services at any host but the cloud metadata ranges.',
  },
  SOURCE_ALLOW_INSECURE_PASSWORD_AUTH: {
    ...setting.bool(false),
    services: SUBGRAPHS,
    description:
      'True sends a source password where it can be read on the way: in clear text or as MD5 (PostgreSQL), in clear text or RSA-encrypted with a key the server sends (MySQL `mysql_clear_password`, `sha256_password`, `caching_sha2_password` full authentication), or in SQL Server\'s login packet without verified TLS. Keep false: a source asking for one over a connection that is not TLS with a verified certificate is a 502 naming it and this setting.',
  },
  SOURCE_POSTGRESQL_SSLMODE: {
    ...setting.choice(SSL_MODES, 'disable'),
    services: SUBGRAPHS,
    description:
      'TLS to PostgreSQL sources: `disable`, `require` (encrypted, certificate not checked) or `verify-full` (the certificate verified for the host name given, against Node\'s roots and `SOURCE_TLS_CA_FILE`; recommended). Only `verify-full` lets a source ask for a clear-text password.',
  },
  SOURCE_POSTGRESQL_PARALLEL_CONNECTIONS: {
    ...setting.positiveInt(Math.min(4, Math.max(1, Math.floor(os.availableParallelism() / 2)))),
    defaultText: 'half the cores Node.js sees, 1 to 4',
    services: ['publish'],
    description:
      'Connections one PostgreSQL table of at least 8 MiB is read over at once when packaging: the snapshot is exported and imported by the others, the table read in ranges of 512 blocks (4 MiB) in turn, each read ahead into at most 8 MiB, and written in block order (the same bytes as one connection). Each connection is a backend on the source and needs a core there; the service\'s transform needs one more. On the 2-vCPU machine measured (docs/performance.md) 1 is fastest. In a pod Node.js counts the node\'s cores, not the pod\'s CPU limit: set it there. Servers before PostgreSQL 14 (no block-range scans), views and partitioned tables are read on one connection.',
  },
  SOURCE_MYSQL_SSLMODE: {
    ...setting.choice(SSL_MODES, 'disable'),
    services: SUBGRAPHS,
    description: 'TLS to MySQL and MariaDB sources, as `SOURCE_POSTGRESQL_SSLMODE`.',
  },
  SOURCE_MSSQL_ENCRYPT: {
    ...setting.bool(true),
    services: SUBGRAPHS,
    description:
      'SQL Server connections use TLS; a server that does not offer it is refused before the login is sent (false sends the login, password included, in plain text, and so needs `SOURCE_ALLOW_INSECURE_PASSWORD_AUTH=true`; a server that forces encryption then refuses it, and the error says so).',
  },
  SOURCE_MSSQL_TRUST_SERVER_CERTIFICATE: {
    ...setting.bool(false),
    services: SUBGRAPHS,
    description:
      'True accepts any SQL Server certificate (self-signed servers), and so any server the request names: it needs `SOURCE_ALLOW_INSECURE_PASSWORD_AUTH=true`. Otherwise the certificate is verified against Node\'s roots and `SOURCE_TLS_CA_FILE`, for the host name given, or for the IP address itself (no SNI is sent for an address).',
  },
  SOURCE_TLS_CA_FILE: {
    ...setting.optionalString(),
    type: 'file path',
    services: SUBGRAPHS,
    description: 'PEM file of extra CA certificates trusted for source TLS: PostgreSQL, MySQL, SQL Server and Databricks HTTPS (added to Node\'s roots).',
  },
  SOURCE_DATABRICKS_WAREHOUSE_START_TIMEOUT_MS: {
    ...setting.positiveInt(DEFAULT_WAREHOUSE_START_TIMEOUT_MS),
    services: SUBGRAPHS,
    description: 'How long to keep asking a stopped Databricks SQL warehouse for a session while it starts.',
  },
  SOURCE_DATABRICKS_FETCH_ROWS: {
    ...setting.positiveInt(DEFAULT_FETCH_ROWS),
    services: SUBGRAPHS,
    description: 'Rows per Databricks fetch; at most this many rows are held as values per table, however large the Arrow batches or CloudFetch files the warehouse sends.',
  },
  SOURCE_DATABRICKS_ARROW: {
    ...setting.bool(true),
    services: SUBGRAPHS,
    description: 'Ask the warehouse for Arrow results (protocol V5 and later); `false`: column-based Thrift rows.',
  },
  SOURCE_DATABRICKS_LZ4: {
    ...setting.bool(true),
    services: SUBGRAPHS,
    description: 'Ask for LZ4-compressed Arrow, inline and in CloudFetch files (protocol V6 and later).',
  },
  SOURCE_DATABRICKS_CLOUD_FETCH: {
    ...setting.bool(true),
    services: SUBGRAPHS,
    description:
      'Let large results come as CloudFetch files the publisher downloads from the workspace\'s cloud storage (presigned HTTPS links, each dialled only if `SOURCE_ALLOWED_HOSTS` allows its host and port, so a restricted list names the storage hosts too); `false`: every row through the warehouse.',
  },
  SOURCE_DATABRICKS_CLOUD_FETCH_CONCURRENCY: {
    ...setting.positiveInt(2),
    services: SUBGRAPHS,
    description: 'CloudFetch files downloaded ahead at once; each is held whole until read, so memory grows with it.',
  },
});

/** The operator's narrowing: a regular expression every source credential's name must match whole. */
export const sourceSecretSettings = defineSettings({
  SOURCE_SECRET_NAME_PATTERN: {
    ...setting.optionalString(),
    type: 'regular expression',
    services: SUBGRAPHS,
    description:
      'A regular expression the whole name of every source credential secret must match (recommended: `src-[a-z0-9-]+`, with source credentials named `src-<site>-<source>-user` etc.); a platform secret matching it stops start-up.',
  },
});

/** The metadata service's pools of catalog connections (lib/connectors/pool/catalog-pools.ts). */
export const catalogPoolSettings = defineSettings({
  SOURCE_METADATA_POOL: {
    ...setting.choice(['on', 'off'] as const, 'on'),
    services: ['metadata'],
    description:
      'Reuse catalog connections across metadata requests: one small pool per source identity (type, host, port, database, user and password, found by an HMAC under a key drawn per process, so no password is held as a key), a connection only ever handed to a request with the same identity. Every new connection is checked as any other (`SOURCE_ALLOWED_HOSTS`, TLS, password policy); a login the source refuses closes every pool of that user on that database. `off` opens a connection per request (the benchmark\'s baseline). Extraction (publish) never uses pooled connections.',
  },
  SOURCE_METADATA_POOLS_MAX: {
    ...setting.positiveInt(100),
    services: ['metadata'],
    description: 'Distinct source identities with a pool at once; beyond it, the least recently used pool is closed with its connections.',
  },
  SOURCE_METADATA_POOL_CONNECTIONS: {
    ...setting.positiveInt(5),
    services: ['metadata'],
    description: 'Connections one pool holds at most (in use and idle); requests beyond it wait for one. The service holds at most `SOURCE_METADATA_POOLS_MAX` × this many catalog connections.',
  },
  SOURCE_METADATA_POOL_IDLE_MS: {
    ...setting.positiveInt(10_000),
    services: ['metadata'],
    description: 'Milliseconds an idle pooled connection is kept before it is closed (and so how long a connection logged in before a password was rotated may still serve requests presenting the old one).',
  },
});
