/**
 * The SQL Server double for tests: a TDS server (server.ts) over an in-memory
 * SQL Server (sqlserver-model.ts), with TLS by default, and request bodies
 * that point the publisher at it.
 */
import { testTls } from '../keyvault-double.js';
import type { SqlSourceBody } from '../requests.js';
import { TdsDouble } from './server.js';
import { SqlServerModel, type SqlServerDatabase } from './sqlserver-model.js';

export { TdsDouble } from './server.js';
export type { SqlServerDatabase, SqlServerTable, SqlServerColumn } from './sqlserver-model.js';

/** The login the double accepts unless told otherwise. */
export const MSSQL_LOGIN = { user: 'cr8tor_reader', password: "S3cr3t-p@ss;word'" };

export interface StartedTds {
  double: TdsDouble;
  /** PEM of the CA that signed the double's certificate (for SOURCE_TLS_CA_FILE / tlsCa). */
  ca: string;
}

/** Starts a TDS double holding `databases`; TLS offered unless `tls: false`, and required with `tls: 'forced'`. */
export async function startTdsDouble(databases: SqlServerDatabase[], options: { tls?: boolean | 'forced'; logins?: Record<string, string> } = {}): Promise<StartedTds> {
  const tls = await testTls();
  const double = await new TdsDouble({
    logins: options.logins ?? { [MSSQL_LOGIN.user]: MSSQL_LOGIN.password },
    engine: new SqlServerModel(databases),
    ...(options.tls === false ? {} : { tls: { cert: tls.cert, key: tls.key }, forceEncryption: options.tls === 'forced' }),
  }).start();
  return { double, ca: tls.ca };
}

/** A SQL Server source as the CLI sends it, naming the secrets `mssql-user` and `mssql-password` unless told otherwise. */
export function mssqlSource(double: TdsDouble, database: string, options: { type?: string; usernameKey?: string; passwordKey?: string } = {}): SqlSourceBody {
  return {
    name: 'source_db',
    type: options.type ?? 'mssql',
    host_url: '127.0.0.1',
    database,
    port: double.port,
    credentials: { provider: 'AzureKeyVault', username_key: options.usernameKey ?? 'mssql-user', password_key: options.passwordKey ?? 'mssql-password' },
  };
}
