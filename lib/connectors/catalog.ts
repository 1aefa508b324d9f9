import DataLoader from 'dataloader';
import { AppError } from '../errors.js';
import { describeSource, type DatasetRequest } from '../contract/index.js';
import type { ColumnInfo, SourceConnector, TableInfo } from './connector.js';
import { unsupportedType } from './failures.js';
import { assertDatasetNotSystem } from './system-schemas.js';

/** A requested table, confirmed by the catalog, with its confirmed columns in the requested order. */
export interface ResolvedTable extends TableInfo {
  columns: ColumnInfo[];
  /** The table's whole primary key (column names in key order), whichever columns were requested. */
  primaryKey: string[];
}

export interface ResolvedDataset {
  catalog: string;
  schema: string;
  tables: ResolvedTable[];
}

/**
 * What the catalog holds for a dataset request, before the request is checked
 * against it: what resolveDataset's `inspect` is shown (the publish service
 * compares it with what a validation approved).
 */
export interface CatalogView {
  catalog: string;
  schema: string;
  /** The request named no tables: every table of the schema is in `tables`. */
  allTables: boolean;
  tables: Array<{
    name: string;
    /** Every column of the table, as the catalog has them; null when the table does not exist. */
    columns: ColumnInfo[] | null;
    /** The column names requested, in order; null: every column. */
    requested: string[] | null;
  }>;
}

/** How many names an error message lists before it says "and N more". */
const MAX_NAMES = 40;

function nameList(names: readonly string[]): string {
  const shown = names.slice(0, MAX_NAMES).map((n) => `'${n}'`).join(', ');
  return names.length > MAX_NAMES ? `${shown} and ${names.length - MAX_NAMES} more` : shown || '(none)';
}

function duplicates(names: readonly string[]): string[] {
  const seen = new Set<string>();
  return [...new Set(names.filter((n) => (seen.has(n) ? true : (seen.add(n), false))))];
}

/**
 * Confirms a dataset request against the source's catalog: the schema is not
 * a system catalog (refused before any query), the schema exists,
 * every requested table exists, every requested column exists in its table.
 * Absent or empty `tables` means every table (in name order); absent or empty
 * `columns` means every column (in table order); otherwise the requested order
 * is kept. Costs two catalog reads whatever the number of tables: the
 * schema's tables (only the named ones, where the connector can), then the
 * columns of the chosen ones in one DataLoader batch (MySQL, SQL Server and
 * Databricks ask whether the schema exists apart; PostgreSQL reads named
 * tables with their columns, in one). Refusing a missing table of a request
 * that named its tables costs one more: the message lists the schema's tables.
 *
 * Only what this returns may ever be read from the source. With `forExtraction`,
 * a chosen column whose type has no faithful mapping is refused (metadata
 * still reports such columns).
 *
 * With `inspect`, the columns of every requested table that exists are read
 * first (the same one batch), and `inspect` is shown the catalog as it is
 * before a missing table or column is refused; what it throws is the answer.
 */
export async function resolveDataset(
  connector: SourceConnector,
  dataset: DatasetRequest,
  options: { forExtraction?: boolean; inspect?: (view: CatalogView) => void | Promise<void> } = {},
): Promise<ResolvedDataset> {
  // Before the first query: a system catalog is never data.
  assertDatasetNotSystem(connector.source, dataset);
  const schema = dataset.schema_name ?? connector.defaultSchema();
  const where = describeSource(connector.source);
  const requested = dataset.tables ?? [];
  // A request that names its tables reads the catalog rows of those (where the connector can), not of every table.
  const named = requested.length > 0 ? [...new Set(requested.map((t) => t.name))] : undefined;
  const available = await connector.schemaTables(schema, named);
  if (!available) throw new AppError('SCHEMA_NOT_FOUND', `Schema '${schema}' not found on the ${where}.`);
  const byName = new Map(available.map((t) => [t.name, t]));

  const twice = duplicates(requested.map((t) => t.name));
  if (twice.length > 0) throw new AppError('INVALID_REQUEST', `Invalid request body: dataset.tables names ${nameList(twice)} more than once.`);
  const missing = requested.filter((t) => !byName.has(t.name)).map((t) => t.name);
  // The message lists the schema's tables: read whole here when only the named ones were.
  const tableNotFound = async () => {
    const all = named ? ((await connector.schemaTables(schema)) ?? []) : available;
    return new AppError(
      'TABLE_NOT_FOUND',
      `Table${missing.length > 1 ? 's' : ''} ${nameList(missing)} not found in schema '${schema}' on the ${where}. Available tables: ${nameList(all.map((t) => t.name))}.`,
    );
  };
  if (missing.length > 0 && !options.inspect) throw await tableNotFound();
  const chosen = requested.length > 0 ? requested.filter((t) => byName.has(t.name)).map((t) => byName.get(t.name)!) : available;

  // Columns the connector read with the tables are not asked for again.
  const columnsOf = new DataLoader<string, ColumnInfo[]>(async (names) => {
    const unread = names.filter((n) => !byName.get(n)?.columns);
    const found = unread.length > 0 ? await connector.getColumns(schema, unread) : new Map<string, ColumnInfo[]>();
    return names.map((n) => byName.get(n)?.columns ?? found.get(n) ?? []);
  });
  if (options.inspect) {
    const read = new Map((await columnsOf.loadMany(chosen.map((t) => t.name))).map((c, i) => [chosen[i]!.name, c]));
    const columnsRead = (name: string) => {
      const c = read.get(name);
      if (c instanceof Error) throw c;
      return c ?? null;
    };
    await options.inspect({
      catalog: connector.catalogName(),
      schema,
      allTables: requested.length === 0,
      tables: (requested.length > 0 ? requested : available).map((t) => ({
        name: t.name,
        columns: columnsRead(t.name),
        requested: 'columns' in t && t.columns && t.columns.length > 0 ? t.columns.map((c) => c.name) : null,
      })),
    });
    if (missing.length > 0) throw await tableNotFound();
  }

  const tables = await Promise.all(
    chosen.map(async (table): Promise<ResolvedTable> => {
      const all = await columnsOf.load(table.name);
      const wanted = requested.find((t) => t.name === table.name)?.columns ?? [];
      const primaryKey = all
        .filter((c) => c.primaryKey !== null)
        .sort((a, b) => a.primaryKey! - b.primaryKey!)
        .map((c) => c.name);
      if (wanted.length === 0) return { ...table, columns: all, primaryKey };
      const cols = new Map(all.map((c) => [c.name, c]));
      const twiceCols = duplicates(wanted.map((c) => c.name));
      if (twiceCols.length > 0) {
        throw new AppError('INVALID_REQUEST', `Invalid request body: table '${table.name}' lists column${twiceCols.length > 1 ? 's' : ''} ${nameList(twiceCols)} more than once.`);
      }
      const unknown = wanted.filter((c) => !cols.has(c.name)).map((c) => c.name);
      if (unknown.length > 0) {
        throw new AppError(
          'COLUMN_NOT_FOUND',
          `Column${unknown.length > 1 ? 's' : ''} ${nameList(unknown)} not found in table '${table.name}' of schema '${schema}'. Available columns: ${nameList(all.map((c) => c.name))}.`,
        );
      }
      return { ...table, columns: wanted.map((c) => cols.get(c.name)!), primaryKey };
    }),
  );
  if (options.forExtraction) {
    for (const table of tables) {
      const bad = table.columns.find((c) => c.unsupported);
      if (bad) throw unsupportedType(where, schema, table.name, bad.name, bad.datatype);
    }
  }
  return { catalog: connector.catalogName(), schema, tables };
}
