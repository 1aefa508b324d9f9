import type { Readable } from 'node:stream';
import type { ResolvedTable } from '../../../../lib/connectors/index.js';
import type { PackageInput } from './destination.js';

/** A table of the package as a destination writes it: its CSV stream, and the call that says it is written. */
export interface PackageTable extends ResolvedTable {
  /** Opens the table's CSV stream from the snapshot (once, when the table's turn comes). */
  csv(): Readable;
  /** The destination calls it once the table is completely written. */
  written(): void;
}

/**
 * The package's tables for a destination, reporting to `input.progress` when
 * it is given (nothing is asked of the source otherwise): first the plan, the
 * tables in order with the source's row estimates (one catalog query, on the
 * snapshot's connection); then, as each table streams, its running rows and
 * bytes once per chunk the snapshot pushes; then `done` with its totals when
 * the destination has written it. Bytes are the table's canonical CSV bytes
 * handed to the destination (header included, before any compression),
 * whatever the destination and format: a filestore CSV table in one
 * uncompressed file is exactly that file's size.
 */
export async function packageTables(input: PackageInput): Promise<PackageTable[]> {
  const { dataset, snapshot, progress } = input;
  const { schema } = dataset;
  if (!progress) {
    return dataset.tables.map((table) => ({ ...table, csv: () => snapshot.csv(schema, table.name, table.columns), written: () => undefined }));
  }
  const estimates = (await snapshot.estimateRows?.(schema, dataset.tables.map((t) => t.name))) ?? new Map<string, number>();
  progress.plan(dataset.tables.map((t) => ({ table: t.name, estimatedRows: estimates.get(t.name) ?? null })));
  return dataset.tables.map((table) => {
    let rows = 0;
    let bytes = 0;
    const update = (r: number, b: number) => {
      rows = r;
      bytes = b;
      progress.update(table.name, r, b);
    };
    return {
      ...table,
      csv: () => snapshot.csv(schema, table.name, table.columns, update),
      written: () => progress.done(table.name, snapshot.rowsRead(schema, table.name) ?? rows, bytes),
    };
  });
}
