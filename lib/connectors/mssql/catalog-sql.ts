/**
 * The catalog queries of the SQL Server connector: INFORMATION_SCHEMA for
 * tables, columns and primary keys, sys.extended_properties for the
 * `MS_Description` comments. Names compare under the database's collation, as
 * SQL Server itself resolves them; lists are ordered by code point.
 */

import type { Param } from './connection.js';

export const SCHEMA_EXISTS = 'SELECT 1 AS present FROM INFORMATION_SCHEMA.SCHEMATA WHERE SCHEMA_NAME = @schema';

/** The object's `MS_Description` (sql_variant) as text; `id` is the object, `minor` 0 for the object, a column id for a column. */
const description = (id: string, minor: string) => `
    (SELECT CAST(ep.value AS NVARCHAR(MAX)) FROM sys.extended_properties ep
     WHERE ep.class = 1 AND ep.major_id = ${id} AND ep.minor_id = ${minor} AND ep.name = N'MS_Description')`;

/**
 * The schema's tables with their comments; with `named` (1 to
 * {@link MAX_TABLES_PER_QUERY}), only those named `@t0`, `@t1`, …: a request
 * naming two tables of a schema of thousands reads two comments, not thousands.
 */
export function listTables(named = 0): string {
  const only = named > 0 ? ` AND t.TABLE_NAME IN (${tableParams(named)})` : '';
  return `
  SELECT t.TABLE_NAME AS name,${description('o.id', '0')} AS description
  FROM INFORMATION_SCHEMA.TABLES t
  CROSS APPLY (SELECT OBJECT_ID(QUOTENAME(t.TABLE_SCHEMA) + N'.' + QUOTENAME(t.TABLE_NAME)) AS id) o
  WHERE t.TABLE_SCHEMA = @schema${only}
  ORDER BY t.TABLE_NAME COLLATE Latin1_General_BIN2`;
}

/** Parameters per statement, well under SQL Server's 2100. */
export const MAX_TABLES_PER_QUERY = 1000;

/** `@t0, @t1, …`: the parameters of `count` table names. */
function tableParams(count: number): string {
  return Array.from({ length: count }, (_, i) => `@t${i}`).join(', ');
}

/** Table names in statements of at most {@link MAX_TABLES_PER_QUERY}: each batch's count and parameters (`@schema`, `@t0`, `@t1`, …). */
export function tableBatches(schema: string, tables: readonly string[]): Array<{ count: number; params: Param[] }> {
  const batches: Array<{ count: number; params: Param[] }> = [];
  for (let start = 0; start < tables.length; start += MAX_TABLES_PER_QUERY) {
    const names = tables.slice(start, start + MAX_TABLES_PER_QUERY);
    batches.push({ count: names.length, params: [{ name: 'schema', value: schema }, ...names.map((value, i) => ({ name: `t${i}`, value }))] });
  }
  return batches;
}

/** Every column of the named tables (`@t0`, `@t1`, …) in one query, with its type details, comment and position in the primary key. */
export function listColumns(tableCount: number): string {
  const names = tableParams(tableCount);
  return `
  SELECT c.TABLE_NAME AS table_name, c.COLUMN_NAME AS name,${description('o.id', "COLUMNPROPERTY(o.id, c.COLUMN_NAME, 'ColumnId')")} AS description,
         c.DATA_TYPE AS data_type, c.CHARACTER_MAXIMUM_LENGTH AS char_length, c.NUMERIC_PRECISION AS numeric_precision,
         c.NUMERIC_SCALE AS numeric_scale, c.DATETIME_PRECISION AS datetime_precision,
         c.IS_NULLABLE AS is_nullable, c.ORDINAL_POSITION AS position,
         (SELECT k.ORDINAL_POSITION FROM INFORMATION_SCHEMA.KEY_COLUMN_USAGE k
          JOIN INFORMATION_SCHEMA.TABLE_CONSTRAINTS tc
            ON tc.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND tc.CONSTRAINT_NAME = k.CONSTRAINT_NAME
          WHERE tc.CONSTRAINT_TYPE = 'PRIMARY KEY' AND k.TABLE_SCHEMA = c.TABLE_SCHEMA
            AND k.TABLE_NAME = c.TABLE_NAME AND k.COLUMN_NAME = c.COLUMN_NAME) AS primary_key
  FROM INFORMATION_SCHEMA.COLUMNS c
  CROSS APPLY (SELECT OBJECT_ID(QUOTENAME(c.TABLE_SCHEMA) + N'.' + QUOTENAME(c.TABLE_NAME)) AS id) o
  WHERE c.TABLE_SCHEMA = @schema AND c.TABLE_NAME IN (${names})
  ORDER BY c.TABLE_NAME COLLATE Latin1_General_BIN2, c.ORDINAL_POSITION`;
}

/** A row of {@link listColumns}. */
export interface ColumnRow {
  table_name: string;
  name: string;
  description: string | null;
  data_type: string;
  char_length: number | null;
  numeric_precision: number | null;
  numeric_scale: number | null;
  datetime_precision: number | null;
  is_nullable: string;
  position: number;
  primary_key: number | null;
}

/**
 * Each named table's rows (`@t0`, `@t1`, …) as sys.partitions counts them: the
 * heap (index_id 0) or clustered index (1) of every partition, summed. These
 * counts are kept by the storage engine as rows change (approximate only
 * while transactions are in flight), and need no VIEW DATABASE STATE (which
 * sys.dm_db_partition_stats does). A view has no partitions: its estimate is NULL.
 */
export function estimateRows(tableCount: number): string {
  const names = tableParams(tableCount);
  return `
  SELECT t.TABLE_NAME AS name,
         (SELECT SUM(p.[rows]) FROM sys.partitions p WHERE p.object_id = o.id AND p.index_id IN (0, 1)) AS estimate
  FROM INFORMATION_SCHEMA.TABLES t
  CROSS APPLY (SELECT OBJECT_ID(QUOTENAME(t.TABLE_SCHEMA) + N'.' + QUOTENAME(t.TABLE_NAME)) AS id) o
  WHERE t.TABLE_SCHEMA = @schema AND t.TABLE_NAME IN (${names})`;
}
