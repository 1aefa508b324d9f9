/** A database as a test describes it to the SQL Server double (sqlserver-model.ts), and as its catalog views (catalog-views.ts) show it. */

export interface SqlServerColumn {
  name: string;
  /** The type as in DDL: `int`, `nvarchar(50)`, `nvarchar(max)`, `decimal(12,2)`, `datetime2(7)`. */
  type: string;
  nullable?: boolean;
  /** Its MS_Description. */
  description?: string;
  /** Other extended properties, by name. */
  properties?: Record<string, string>;
  /** For character columns: the collation, when not the database default. */
  collation?: string;
}

export interface SqlServerTable {
  name: string;
  description?: string;
  /** Other extended properties, by name. */
  properties?: Record<string, string>;
  view?: boolean;
  columns: SqlServerColumn[];
  primaryKey?: string[];
  /** UNIQUE constraints, each a list of columns. */
  unique?: string[][];
  /** Partitions of the table (default 1): sys.partitions spreads its rows over them, as a partitioned table's. */
  partitions?: number;
  /** Rows in column order; a function for big tables made on the fly. */
  rows: unknown[][] | (() => Iterable<unknown[]>);
}

export interface SqlServerDatabase {
  name: string;
  /** ALLOW_SNAPSHOT_ISOLATION. */
  snapshotIsolation: boolean;
  /** The database default collation (default SQL_Latin1_General_CP1_CI_AS). */
  collation?: string;
  schemas: Record<string, SqlServerTable[]>;
}
