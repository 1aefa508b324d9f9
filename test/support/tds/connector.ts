/** The SQL Server connector pointed at a TDS double, as the connector tests make it. */
import { sourceSchema, type SqlSourceConfig } from '../../../lib/contract/index.js';
import type { ConnectorOptions } from '../../../lib/connectors/connector.js';
import type { MssqlSettings } from '../../../lib/connectors/mssql/connection.js';
import { MssqlConnector } from '../../../lib/connectors/mssql/connector.js';
import { MSSQL_LOGIN, mssqlSource, type StartedTds } from './index.js';

/** The source config for database `db` of a started double. */
export function source(started: StartedTds, db: string): SqlSourceConfig {
  return sourceSchema.parse(mssqlSource(started.double, db)) as SqlSourceConfig;
}

export interface Setup {
  db?: string;
  options?: ConnectorOptions;
  settings?: MssqlSettings;
  /** Trust the double's CA (default true). */
  trustCa?: boolean;
  password?: string;
}

/** A connector for the double's `research` database (or `setup.db`) as MSSQL_LOGIN, trusting the double's CA. */
export function connector(started: StartedTds, setup: Setup = {}): MssqlConnector {
  const credentials = { username: MSSQL_LOGIN.user, password: setup.password ?? MSSQL_LOGIN.password };
  return new MssqlConnector(source(started, setup.db ?? 'research'), credentials, setup.options ?? {}, setup.settings ?? {}, setup.trustCa === false ? undefined : started.ca);
}
