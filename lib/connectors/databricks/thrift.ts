/**
 * The few TCLIService shapes the connector reads and writes, typed here
 * because the generated files @databricks/sql ships declare no exports. The
 * numbers are the Thrift enum values of TCLIService.thrift.
 */

/** TProtocolVersion: what each version lets a client ask for. */
export const PROTOCOL = {
  /** CloudFetch (canDownloadResult). */
  V3: 42243,
  /** Arrow results (canReadArrowResult, arrowSchema). */
  V5: 42245,
  /** LZ4-compressed Arrow (canDecompressLZ4Result). */
  V6: 42246,
  /** The version this client speaks, as @databricks/sql 2.1.0 announces it. */
  V8: 42248,
} as const;

/** TSparkRowSetType. */
export const ROW_SET = { ARROW: 0, COLUMN: 1, URL: 3 } as const;

/** TOperationState values that mean "not finished yet". */
export const OPERATION_STATE = { INITIALIZED: 0, RUNNING: 1, FINISHED: 2, CANCELED: 3, CLOSED: 4, ERROR: 5, UNKNOWN: 6, PENDING: 7, TIMEDOUT: 8 } as const;

/** TFetchOrientation. */
export const FETCH = { NEXT: 0, ABSOLUTE: 3, FIRST: 4 } as const;

/** TStatusCode values that carry success. */
const OK_CODES = new Set([0, 1]);

/** A Thrift i64 as a number (node-int64 objects convert with valueOf). */
export function int64(value: unknown): number {
  return value === undefined || value === null ? 0 : Number(value);
}

export interface TStatus {
  statusCode: number;
  sqlState?: string | null;
  errorMessage?: string | null;
  displayMessage?: string | null;
}

/** Whether a TStatus says the call succeeded. */
export function succeeded(status: TStatus | undefined): boolean {
  return status !== undefined && OK_CODES.has(status.statusCode);
}

export interface THandle {
  guid: Buffer;
  secret: Buffer;
}

export interface TOperationHandle {
  operationId: THandle;
  operationType: number;
  hasResultSet: boolean;
}

export interface TSessionHandle {
  sessionId: THandle;
}

export interface TColumnValues {
  values: unknown[];
  nulls: Buffer;
}

/** TColumn: exactly one member is set. */
export type TColumn = Partial<Record<'boolVal' | 'byteVal' | 'i16Val' | 'i32Val' | 'i64Val' | 'doubleVal' | 'stringVal' | 'binaryVal', TColumnValues>>;

export interface TArrowBatch {
  batch: Buffer;
  rowCount: unknown;
}

export interface TResultLink {
  fileLink: string;
  expiryTime: unknown;
  startRowOffset: unknown;
  rowCount: unknown;
  bytesNum: unknown;
  httpHeaders?: Record<string, string> | null;
}

export interface TRowSet {
  startRowOffset: unknown;
  columns?: TColumn[] | null;
  arrowBatches?: TArrowBatch[] | null;
  resultLinks?: TResultLink[] | null;
}

export interface TResultMetadata {
  status: TStatus;
  schema?: { columns: Array<{ columnName: string; position: number }> } | null;
  resultFormat?: number | null;
  lz4Compressed?: boolean | null;
  arrowSchema?: Buffer | null;
}

export interface TOperationStatus {
  status: TStatus;
  operationState?: number | null;
  sqlState?: string | null;
  errorMessage?: string | null;
  displayMessage?: string | null;
}

export interface TFetchResults {
  status: TStatus;
  hasMoreRows?: boolean | null;
  results?: TRowSet | null;
}

export interface TExecuteResults {
  status: TStatus;
  operationHandle?: TOperationHandle | null;
  directResults?: {
    operationStatus?: TOperationStatus | null;
    resultSetMetadata?: TResultMetadata | null;
    resultSet?: TFetchResults | null;
    closeOperation?: { status: TStatus } | null;
  } | null;
}

/** The Thrift calls the connector makes, as @databricks/sql's HiveDriver exposes them (DBSQLClient.getDriver()). */
export interface ThriftDriver {
  openSession(request: object): Promise<{ status: TStatus; serverProtocolVersion: number; sessionHandle?: TSessionHandle | null }>;
  closeSession(request: object): Promise<{ status: TStatus }>;
  executeStatement(request: object): Promise<TExecuteResults>;
  getOperationStatus(request: object): Promise<TOperationStatus>;
  getResultSetMetadata(request: object): Promise<TResultMetadata>;
  fetchResults(request: object): Promise<TFetchResults>;
  closeOperation(request: object): Promise<{ status: TStatus }>;
}
