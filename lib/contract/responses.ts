/** Response payloads, as the contract spells them (snake_case). */

export interface ColumnMetadata {
  name: string;
  description: string | null;
  datatype: string;
}

export interface TableMetadata {
  name: string;
  description: string | null;
  columns: ColumnMetadata[];
}

export interface DatasetMetadata {
  name: string | null;
  description: string | null;
  catalog: string;
  schema_name: string;
  tables: TableMetadata[];
}

export interface ValidationPayload {
  validation_status: 'success';
}

/** The success envelope every REST endpoint answers with. */
export interface SuccessEnvelope<T> {
  status: 'success';
  payload: T;
}

/** The error envelope every REST endpoint answers with. */
export interface ErrorEnvelope {
  status: 'error';
  payload: { detail: string };
}

export function success<T>(payload: T): SuccessEnvelope<T> {
  return { status: 'success', payload };
}

export function failure(detail: string): ErrorEnvelope {
  return { status: 'error', payload: { detail } };
}
