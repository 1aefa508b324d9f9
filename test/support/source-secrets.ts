/**
 * The source credential secrets the request builders name by default, for all
 * four source types: the machine's PostgreSQL and MariaDB users, the SQL Server
 * double's login and the Databricks double's service principal.
 */
import { SERVICE_PRINCIPAL } from './databricks/index.js';
import type { Platform } from './platform.js';
import { writeSourceSecrets } from './requests.js';
import { MSSQL_LOGIN } from './tds/index.js';

/** Writes `{postgresql,mysql,mssql}-{user,password}` and `dbx-client-{id,secret}`. */
export async function writeFourSourceSecrets(platform: Pick<Platform, 'writeSecret'>): Promise<void> {
  await writeSourceSecrets(platform, 'postgresql');
  await writeSourceSecrets(platform, 'mysql');
  await platform.writeSecret('mssql-user', MSSQL_LOGIN.user);
  await platform.writeSecret('mssql-password', MSSQL_LOGIN.password);
  await platform.writeSecret('dbx-client-id', SERVICE_PRINCIPAL.clientId);
  await platform.writeSecret('dbx-client-secret', SERVICE_PRINCIPAL.clientSecret);
}
