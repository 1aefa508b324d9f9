/**
 * What the catalog pool tests of every source share: a connector opened through
 * the real `openConnector` (credentials from secret files, as the services
 * read them) over a given set of pools, resolving a dataset as the metadata
 * service does, and a wait for what the server reports to settle.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { datasetSchema, sourceSchema } from '../../lib/contract/index.js';
import { openConnector, resolveDataset, type CatalogPools, type SourceConnectorOptions } from '../../lib/connectors/index.js';
import { FileSecretProvider } from '../../lib/secrets/index.js';
import type { SqlSourceBody } from './requests.js';

/** Secret files in a folder of their own: a user name and a password per test login. */
export class LoginSecrets {
  private constructor(readonly dir: string) {}

  static async create(): Promise<LoginSecrets> {
    return new LoginSecrets(await mkdtemp(path.join(os.tmpdir(), 'cr8tor-pool-secrets-')));
  }

  /** Writes `<name>-user` and `<name>-password`; returns the source's credentials naming them. */
  async write(name: string, user: string, password: string): Promise<SqlSourceBody['credentials']> {
    await writeFile(path.join(this.dir, `${name}-user`), user);
    await writeFile(path.join(this.dir, `${name}-password`), password);
    return { provider: 'AzureKeyVault', username_key: `${name}-user`, password_key: `${name}-password` };
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Resolves every table of `schema` on `source` as the metadata service does, over `pools`; returns the table names. */
export async function describeWith(
  source: SqlSourceBody,
  schema: string,
  secrets: LoginSecrets,
  pools: CatalogPools | undefined,
  options: SourceConnectorOptions = {},
): Promise<string[]> {
  const connector = await openConnector(sourceSchema.parse(source), new FileSecretProvider(secrets.dir), { ...options, ...(pools ? { catalogPools: pools } : {}) });
  try {
    const resolved = await resolveDataset(connector, datasetSchema.parse({ name: 'pool', schema_name: schema, tables: [] }));
    return resolved.tables.map((t) => t.name);
  } finally {
    await connector.close();
  }
}

/** Polls `read` until `done` holds of its value (the server notices a closed connection a moment later); returns the last value. */
export async function settle<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}
