import type { TableProgress } from '../contract/jobs.js';

/**
 * How a package reports how far it has got, table by table. The packaging
 * pipeline calls it (cheaply: counters only; whoever reads it decides how
 * often to look); a job reads {@link ProgressTracker.snapshot} to persist
 * and publish it.
 */
export interface PackageProgress {
  /** The tables to come, in order, with the source's estimate of each one's rows (null: it has none). */
  plan(tables: ReadonlyArray<{ table: string; estimatedRows: number | null }>): void;
  /** Rows and bytes read of `table` so far (running totals; the table is running from its first call). */
  update(table: string, rows: number, bytes: number): void;
  /** `table` is complete with these totals. */
  done(table: string, rows: number, bytes: number): void;
}

/** A {@link PackageProgress} that keeps the figures for whoever asks (a job, a metric, a log line). */
export class ProgressTracker implements PackageProgress {
  private readonly tables = new Map<string, TableProgress>();
  /** Bumped on every change: a reader persists only when it moved. */
  version = 0;

  plan(tables: ReadonlyArray<{ table: string; estimatedRows: number | null }>): void {
    for (const { table, estimatedRows } of tables) {
      this.tables.set(table, { table, state: 'waiting', rows: 0, bytes: 0, estimated_rows: estimatedRows });
    }
    this.version++;
  }

  update(table: string, rows: number, bytes: number): void {
    const t = this.entry(table);
    t.state = 'running';
    t.rows = rows;
    t.bytes = bytes;
    this.version++;
  }

  done(table: string, rows: number, bytes: number): void {
    const t = this.entry(table);
    t.state = 'done';
    t.rows = rows;
    t.bytes = bytes;
    this.version++;
  }

  /** A copy of every table's progress, in plan order. */
  snapshot(): TableProgress[] {
    return [...this.tables.values()].map((t) => ({ ...t }));
  }

  private entry(table: string): TableProgress {
    let t = this.tables.get(table);
    if (!t) {
      t = { table, state: 'waiting', rows: 0, bytes: 0, estimated_rows: null };
      this.tables.set(table, t);
    }
    return t;
  }
}
