import { createHash } from 'node:crypto';
import { clip, clipOrNull } from '../../../lib/text.js';
import type { ReportedColumn, ReportedMetadata } from './reported-metadata.js';

/** Most tables a summary lists; the rest are counted. */
export const SUMMARY_MAX_TABLES = 100;
/** Most columns a summary lists in full, across its tables; the rest are counted (and in each table's digest). */
export const SUMMARY_MAX_COLUMNS = 500;
/** Longest text kept (names, types, descriptions); longer text ends in `…`. */
export const SUMMARY_MAX_TEXT = 256;

/** A table as a summary keeps it. */
export interface TableSummary {
  name: string;
  description: string | null;
  column_count: number;
  columns_digest: string;
  columns_omitted: number;
  columns: ReportedColumn[];
}

/** What a metadata report keeps of a dataset: bounded whatever the dataset's size. */
export interface DatasetSummary {
  name: string | null;
  description: string | null;
  catalog: string;
  schema_name: string;
  table_count: number;
  tables_omitted: number;
  tables: TableSummary[];
}

/**
 * SHA-256 (hex) of the table's columns as the JSON text of
 * `[[name, datatype, nullable], …]`, in report order: two reports with the
 * same digest reported the same columns.
 */
export function columnsDigest(columns: readonly ReportedColumn[]): string {
  return createHash('sha256').update(JSON.stringify(columns.map((c) => [c.name, c.datatype, c.nullable]))).digest('hex');
}

/**
 * The summary of a metadata report: every table up to {@link SUMMARY_MAX_TABLES}
 * with its column count and digest, and the first {@link SUMMARY_MAX_COLUMNS}
 * columns in full; what is left out is counted, never silently dropped.
 */
export function summariseMetadata(m: ReportedMetadata): DatasetSummary {
  let columnsLeft = SUMMARY_MAX_COLUMNS;
  const tables = m.tables.slice(0, SUMMARY_MAX_TABLES).map((t): TableSummary => {
    const kept = t.columns.slice(0, columnsLeft);
    columnsLeft -= kept.length;
    return {
      name: clip(t.name, SUMMARY_MAX_TEXT),
      description: clipOrNull(t.description, SUMMARY_MAX_TEXT),
      column_count: t.columns.length,
      columns_digest: columnsDigest(t.columns),
      columns_omitted: t.columns.length - kept.length,
      columns: kept.map((c) => ({ name: clip(c.name, SUMMARY_MAX_TEXT), description: clipOrNull(c.description, SUMMARY_MAX_TEXT), datatype: clip(c.datatype, SUMMARY_MAX_TEXT), nullable: c.nullable })),
    };
  });
  return {
    name: clipOrNull(m.name, SUMMARY_MAX_TEXT),
    description: clipOrNull(m.description, SUMMARY_MAX_TEXT),
    catalog: clip(m.catalog, SUMMARY_MAX_TEXT),
    schema_name: clip(m.schema_name, SUMMARY_MAX_TEXT),
    table_count: m.tables.length,
    tables_omitted: m.tables.length - tables.length,
    tables,
  };
}
