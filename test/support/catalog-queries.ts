/**
 * Counts the SQL statements a connector sends to resolve a dataset, through the
 * connector's own `onQuery` hook: metadata for many tables must cost the same
 * number of catalog queries as metadata for one.
 */
import { datasetSchema, sourceSchema } from '../../lib/contract/index.js';
import { openConnector, resolveDataset } from '../../lib/connectors/index.js';
import { FileSecretProvider } from '../../lib/secrets/index.js';
import type { DatasetBody, SqlSourceBody } from './requests.js';

export interface CatalogCost {
  /** Statements sent, connection set-up excluded. */
  queries: number;
  /** Tables resolved, with how many columns each. */
  tables: Array<{ name: string; columns: number }>;
}

/** Resolves `data` on `source` with the secrets in `secretsDir` and counts the statements sent. */
export async function catalogCost(source: SqlSourceBody, data: DatasetBody, secretsDir: string): Promise<CatalogCost> {
  let queries = 0;
  const connector = await openConnector(sourceSchema.parse(source), new FileSecretProvider(secretsDir), { onQuery: () => (queries += 1) });
  try {
    const resolved = await resolveDataset(connector, datasetSchema.parse(data));
    return { queries, tables: resolved.tables.map((t) => ({ name: t.name, columns: t.columns.length })) };
  } finally {
    await connector.close();
  }
}
