import type pg from 'pg';

/** A table in the destination database. */
export interface DestinationTable {
  schema: string;
  table: string;
}

/**
 * The tables of the given schemas (ordinary and partitioned tables, not
 * partitions; not the `_dlt_*` bookkeeping tables the original's loader left
 * beside the data), in schema then table order.
 */
export async function schemaTables(client: pg.Client, schemas: readonly string[]): Promise<DestinationTable[]> {
  if (schemas.length === 0) return [];
  const { rows } = await client.query<DestinationTable>(
    `SELECT n.nspname AS schema, c.relname AS table
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND n.nspname = ANY ($1::text[]) AND c.relname NOT LIKE '\\_dlt\\_%' ESCAPE '\\'
      ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`,
    [schemas],
  );
  return rows;
}
