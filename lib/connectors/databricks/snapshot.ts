import { Readable } from 'node:stream';
import { AppError } from '../../errors.js';
import type { ColumnInfo, CsvProgress, SourceSnapshot } from '../connector.js';
import { canonicalCsvStream, type CanonicalRow } from '../csv-rows.js';
import { databricksFormatter, databricksSelectExpression, quoteIdentifier } from './types.js';
import type { UcTable } from './unity-catalog.js';
import type { Warehouse } from './warehouse.js';

export interface DatabricksSnapshotContext {
  catalog: string;
  where: string;
  warehouse: Warehouse;
  /** Unity Catalog's description of a table listed earlier, if any (its type and storage format). */
  tableInfo: (schema: string, table: string) => UcTable | undefined;
  fetchRows: number;
}

/** `catalog`.`schema`.`table`. */
export function qualifiedName(catalog: string, schema: string, table: string): string {
  return [catalog, schema, table].map(quoteIdentifier).join('.');
}

/** The SELECT reading the columns of a table (aliased c0, c1, … so no column name can clash with a property name), at a Delta version if pinned. */
export function selectStatement(catalog: string, schema: string, table: string, columns: readonly ColumnInfo[], version?: number): string {
  const list = columns.map((c, i) => `${databricksSelectExpression(quoteIdentifier(c.name), c.logical)} AS c${i}`);
  return `SELECT ${list.join(', ')} FROM ${qualifiedName(catalog, schema, table)}${version === undefined ? '' : ` VERSION AS OF ${version}`}`;
}

/** Whether Unity Catalog says the table is a Delta table, whose versions can be read back. */
function isDeltaTable(info: UcTable | undefined): boolean {
  return info?.data_source_format?.toUpperCase() === 'DELTA' && ['MANAGED', 'EXTERNAL'].includes(info.table_type?.toUpperCase() ?? '');
}

/**
 * What a Databricks package can promise. Databricks SQL has no transaction
 * spanning tables, so there is no one snapshot of several tables. Each Delta
 * table is read at one version — its latest when its read starts, found with
 * `DESCRIBE HISTORY … LIMIT 1` and read with `VERSION AS OF` — so every table
 * is internally consistent and the versions read are recorded (the package log
 * lists them; the same rows can be read again with `VERSION AS OF`). Commits
 * made while the package runs may show in tables read after them. Views and
 * non-Delta tables are read as they are at that moment, without a version.
 *
 * It gives no row estimates (no `estimateRows`): DESCRIBE DETAIL tells a Delta
 * table's files and bytes, not its rows, and the row count ANALYZE TABLE may
 * have recorded is only read table by table (DESCRIBE TABLE EXTENDED), one
 * warehouse statement each.
 */
export class DatabricksSnapshot implements SourceSnapshot {
  readonly caveat = true;
  private readonly reads: string[] = [];
  private closed = false;
  /** Rows of each table whose stream completed, by `schema\0table`. */
  private readonly rowCounts = new Map<string, number>();

  constructor(private readonly context: DatabricksSnapshotContext) {}

  /** The consistency statement for the package log, with the version of every table read so far. */
  get consistency(): string {
    const read = this.reads.length > 0 ? ` Read: ${this.reads.join('; ')}.` : '';
    return `Databricks catalog '${this.context.catalog}' has no snapshot across tables: each Delta table was read at one pinned version (repeatable with VERSION AS OF), one table after another, so commits made during the package may show in tables read later; views and non-Delta tables were read as they were at that moment.${read}`;
  }

  csv(schema: string, table: string, columns: readonly ColumnInfo[], progress?: CsvProgress): Readable {
    if (this.closed) {
      const output = new Readable({ read() {} });
      process.nextTick(() => output.destroy(new AppError('INTERNAL', `The snapshot of the ${this.context.where} is closed.`)));
      return output;
    }
    const formatters = columns.map((c) => databricksFormatter(c.logical));
    const rows = Readable.from(this.rows(schema, table, columns, formatters), { objectMode: true, highWaterMark: 1 });
    return canonicalCsvStream(columns.map((c) => c.name), rows, (error) =>
      error instanceof AppError ? error : new AppError('SOURCE_QUERY_FAILED', `Reading table '${schema}.${table}' from the ${this.context.where} failed: ${(error as Error).message}`, { cause: error }),
      undefined,
      progress,
    );
  }

  private async *rows(schema: string, table: string, columns: readonly ColumnInfo[], formatters: ReadonlyArray<(v: unknown) => string | null>): AsyncGenerator<CanonicalRow> {
    const { warehouse, catalog, fetchRows } = this.context;
    let version: number | undefined;
    if (isDeltaTable(this.context.tableInfo(schema, table))) {
      const [latest] = await warehouse.query(`DESCRIBE HISTORY ${qualifiedName(catalog, schema, table)} LIMIT 1`);
      const v = Number(latest?.version);
      if (!Number.isSafeInteger(v) || v < 0) throw new AppError('SOURCE_QUERY_FAILED', `DESCRIBE HISTORY of '${schema}.${table}' on the ${this.context.where} gave no version.`);
      version = v;
    }
    this.reads.push(`${schema}.${table} ${version === undefined ? '(not versioned)' : `version ${version}`}`);
    const keys = columns.map((_, i) => `c${i}`);
    let count = 0;
    for await (const batch of warehouse.batches(selectStatement(catalog, schema, table, columns, version), fetchRows)) {
      for (const record of batch) {
        yield keys.map((k, i) => formatters[i]!(record[k]));
        count++;
      }
    }
    this.rowCounts.set(`${schema}\u0000${table}`, count);
  }

  rowsRead(schema: string, table: string): number | null {
    return this.rowCounts.get(`${schema}\u0000${table}`) ?? null;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
