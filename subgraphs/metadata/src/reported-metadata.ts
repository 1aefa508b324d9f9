/** The dataset metadata this service reports (describe-dataset.ts) and summarises (report-summary.ts). */

/** A column as this service reports it (the REST contract shows name, description and datatype). */
export interface ReportedColumn {
  name: string;
  description: string | null;
  datatype: string;
  nullable: boolean;
}

/** Dataset metadata as this service reports it, snake_case like the contract. */
export interface ReportedMetadata {
  name: string | null;
  description: string | null;
  catalog: string;
  schema_name: string;
  tables: Array<{ name: string; description: string | null; columns: ReportedColumn[] }>;
}
