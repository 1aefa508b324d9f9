/**
 * The SQL warehouse's TCLIService for the Databricks double, written against
 * the Thrift structs @databricks/sql ships (`thrift/TCLIService_types.js`) and
 * served by its generated `Processor`: OpenSession, ExecuteStatement (with or
 * without direct results), GetOperationStatus, GetResultSetMetadata,
 * FetchResults (paged; column-based rows, or Arrow IPC batches built with the
 * apache-arrow the driver depends on when `arrow` is set and the client can
 * read them), CloseOperation, CloseSession. Any other method is refused and
 * recorded. CloudFetch (URL_BASED_SET) and LZ4 are never answered.
 *
 * The generated .d.ts files export no types, so the structs are loaded with
 * createRequire and used untyped here.
 */
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { DbxSqlError, type DbxModel, type ResultColumn, type ResultType } from './model.js';

const load = createRequire(import.meta.url);
const T = load('@databricks/sql/thrift/TCLIService_types.js') as Record<string, any>;
export const TCLIService = load('@databricks/sql/thrift/TCLIService.js') as { Processor: new (handler: object) => { process(input: unknown, output: unknown): void } };
const Int64 = load('node-int64') as new (buffer: Buffer) => { toNumber(allowImprecise?: boolean): number };
const Arrow = load('apache-arrow') as Record<string, any>;

/** Protocol versions the double can announce (the lever that keeps the client from asking for Arrow). */
export const PROTOCOL = { V4: 42244, V8: 42248 } as const;

function int64(value: bigint | number): InstanceType<typeof Int64> {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(value));
  return new Int64(b);
}

function handleId(): { guid: Buffer; secret: Buffer } {
  // The driver prints the guid as a UUID: it must be one (version and variant bits set).
  return { guid: Buffer.from(randomUUID().replaceAll('-', ''), 'hex'), secret: Buffer.from(randomUUID().replaceAll('-', ''), 'hex') };
}

const ok = () => new T.TStatus({ statusCode: T.TStatusCode.SUCCESS_STATUS });

const TYPE_IDS: Record<ResultType, number> = {
  BOOLEAN: 0, TINYINT: 1, SMALLINT: 2, INT: 3, BIGINT: 4, FLOAT: 5, DOUBLE: 6, STRING: 7, TIMESTAMP: 8, BINARY: 9,
};

/** One column of values as a TColumn union member, NULLs in the bitmap (bit i%8 of byte i>>3). */
function column(type: ResultType, values: unknown[]): object {
  const nulls = Buffer.alloc(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v == null) nulls[i >> 3]! |= 1 << (i % 8);
  });
  const pick = <V>(f: (v: unknown) => V, empty: V) => values.map((v) => (v == null ? empty : f(v)));
  switch (type) {
    case 'BOOLEAN': return { boolVal: { values: pick(Boolean, false), nulls } };
    case 'TINYINT': return { byteVal: { values: pick(Number, 0), nulls } };
    case 'SMALLINT': return { i16Val: { values: pick(Number, 0), nulls } };
    case 'INT': return { i32Val: { values: pick(Number, 0), nulls } };
    case 'BIGINT': return { i64Val: { values: pick((v) => int64(v as bigint), int64(0)), nulls } };
    // Column-based results carry FLOAT widened to double, as Spark's Thrift server does.
    case 'FLOAT': case 'DOUBLE': return { doubleVal: { values: pick(Number, 0), nulls } };
    case 'STRING': case 'TIMESTAMP': return { stringVal: { values: pick(String, ''), nulls } };
    case 'BINARY': return { binaryVal: { values: pick((v) => v as Buffer, Buffer.alloc(0)), nulls } };
  }
}

/** The Arrow type of each result type (what a warehouse answering ARROW_BASED_SET sends). */
function arrowType(type: ResultType): unknown {
  switch (type) {
    case 'BOOLEAN': return new Arrow.Bool();
    case 'TINYINT': return new Arrow.Int8();
    case 'SMALLINT': return new Arrow.Int16();
    case 'INT': return new Arrow.Int32();
    case 'BIGINT': return new Arrow.Int64();
    case 'FLOAT': return new Arrow.Float32();
    case 'DOUBLE': return new Arrow.Float64();
    case 'STRING': case 'TIMESTAMP': return new Arrow.Utf8();
    case 'BINARY': return new Arrow.Binary();
  }
}

/**
 * Rows as Arrow IPC stream messages: the schema message (TGetResultSetMetadataResp.arrowSchema)
 * and one record-batch message (TRowSet.arrowBatches), the end-of-stream marker dropped.
 */
function arrowMessages(columns: ResultColumn[], rows: unknown[][]): { schema: Buffer; batch: Buffer } {
  const fields = columns.map((c) => new Arrow.Field(c.name, arrowType(c.type), true));
  const schema = new Arrow.Schema(fields);
  const children = columns.map((c, i) => Arrow.vectorFromArray(rows.map((r) => r[i] ?? null), arrowType(c.type)).data[0]);
  const batch = new Arrow.RecordBatch(schema, Arrow.makeData({ type: new Arrow.Struct(fields), length: rows.length, nullCount: 0, children }));
  const eos = 8;
  const schemaOnly = Buffer.from(Arrow.tableToIPC(new Arrow.Table(schema), 'stream'));
  const full = Buffer.from(Arrow.tableToIPC(new Arrow.Table(schema, [batch]), 'stream'));
  return { schema: schemaOnly.subarray(0, schemaOnly.length - eos), batch: full.subarray(schemaOnly.length - eos, full.length - eos) };
}

interface Operation {
  id: string;
  /** The client can read Arrow and the double answers it. */
  arrow: boolean;
  session: string;
  statement: string;
  columns: ResultColumn[];
  rows: () => Iterable<unknown[]>;
  iterator: Iterator<unknown[]> | undefined;
  offset: number;
  done: boolean;
  error: { message: string; sqlState: string } | undefined;
  closed: boolean;
}

/** One Thrift call as the double saw it. */
export interface ThriftCall {
  method: string;
  statement?: string;
  /** ExecuteStatement: whether the client said it can read Arrow, and whether it got Arrow. */
  canReadArrow?: boolean;
  arrow?: boolean;
  /** ExecuteStatement: getDirectResults.maxRows, if asked; FetchResults: maxRows. */
  maxRows?: number;
  orientation?: number;
  /** Rows the answer carried (ExecuteStatement direct results, FetchResults). */
  rows?: number;
  runAsync?: boolean;
  initialCatalog?: string;
  configuration?: Record<string, string>;
}

export interface WarehouseOptions {
  /** serverProtocolVersion announced in OpenSession; V4 (default) keeps results column-based. */
  protocolVersion?: number;
  /** Answer ExecuteStatement with direct results when the client asks (default true, as Databricks does). */
  directResults?: boolean;
  /** At most this many rows per page, whatever the client asks (default 1000). */
  pageRows?: number;
  /** Answer ARROW_BASED_SET when the client can read Arrow (it asks only if protocolVersion ≥ V5); default column-based. */
  arrow?: boolean;
}

/** The warehouse's state: sessions, operations, and the calls made. */
export class WarehouseService {
  readonly calls: ThriftCall[] = [];
  readonly unexpected: string[] = [];
  private readonly sessions = new Map<string, { closed: boolean }>();
  private readonly operations = new Map<string, Operation>();

  constructor(
    private readonly model: DbxModel,
    private readonly options: WarehouseOptions = {},
  ) {}

  /** Sessions and operations still open (a client that cleans up leaves none). */
  get open(): { sessions: number; operations: number } {
    return {
      sessions: [...this.sessions.values()].filter((s) => !s.closed).length,
      operations: [...this.operations.values()].filter((o) => !o.closed).length,
    };
  }

  private operation(handle: any): Operation {
    const op = this.operations.get(Buffer.from(handle?.operationId?.guid ?? []).toString('hex'));
    if (!op) throw new Error('unknown operation handle');
    return op;
  }

  private status(op: Operation): object {
    if (op.error) {
      return new T.TGetOperationStatusResp({
        status: ok(),
        operationState: T.TOperationState.ERROR_STATE,
        sqlState: op.error.sqlState,
        errorMessage: op.error.message,
        displayMessage: op.error.message,
      });
    }
    return new T.TGetOperationStatusResp({ status: ok(), operationState: T.TOperationState.FINISHED_STATE });
  }

  private metadata(op: Operation): object {
    return new T.TGetResultSetMetadataResp({
      status: ok(),
      schema: {
        columns: op.columns.map((c, i) => ({ columnName: c.name, typeDesc: { types: [{ primitiveEntry: { type: TYPE_IDS[c.type] } }] }, position: i + 1 })),
      },
      resultFormat: op.arrow ? T.TSparkRowSetType.ARROW_BASED_SET : T.TSparkRowSetType.COLUMN_BASED_SET,
      ...(op.arrow ? { arrowSchema: arrowMessages(op.columns, []).schema, lz4Compressed: false } : {}),
    });
  }

  /** The next page of rows (at most `limit`, capped by pageRows) as a column-based TRowSet. */
  private page(op: Operation, limit: number, fromStart: boolean): { rowSet: object; hasMoreRows: boolean; count: number } {
    if (fromStart || !op.iterator) {
      op.iterator = op.rows()[Symbol.iterator]();
      op.offset = 0;
      op.done = false;
    }
    const size = Math.max(1, Math.min(limit, this.options.pageRows ?? 1000));
    const rows: unknown[][] = [];
    while (!op.done && rows.length < size) {
      const next = op.iterator.next();
      if (next.done) op.done = true;
      else rows.push(next.value);
    }
    const start = op.offset;
    op.offset += rows.length;
    if (!op.done) {
      // Peek whether anything is left, so hasMoreRows is exact.
      const next = op.iterator.next();
      if (next.done) op.done = true;
      else {
        const rest = op.iterator;
        const first = next.value;
        let given = false;
        op.iterator = { next: () => (given ? rest.next() : ((given = true), { done: false, value: first })) } as Iterator<unknown[]>;
      }
    }
    if (op.arrow) {
      const arrowBatches = rows.length > 0 ? [{ batch: arrowMessages(op.columns, rows).batch, rowCount: int64(rows.length) }] : [];
      return { rowSet: { startRowOffset: int64(start), rows: [], arrowBatches }, hasMoreRows: !op.done, count: rows.length };
    }
    const columns = op.columns.map((c, i) => column(c.type, rows.map((r) => r[i])));
    return { rowSet: { startRowOffset: int64(start), rows: [], columns }, hasMoreRows: !op.done, count: rows.length };
  }

  /** The handler the generated Processor calls; every method takes one argument and may return a promise. */
  handler(): object {
    const refuse = (method: string) => async () => {
      this.unexpected.push(`Thrift ${method}`);
      this.calls.push({ method });
      throw new Error(`the double does not implement ${method}`);
    };
    const methods = ['GetInfo', 'GetTypeInfo', 'GetCatalogs', 'GetSchemas', 'GetTables', 'GetTableTypes', 'GetColumns', 'GetFunctions',
      'GetPrimaryKeys', 'GetCrossReference', 'CancelOperation', 'GetDelegationToken', 'CancelDelegationToken', 'RenewDelegationToken'];
    const handler: Record<string, (req: any) => Promise<object>> = Object.fromEntries(methods.map((m) => [m, refuse(m)]));

    handler.OpenSession = async (req) => {
      const id = handleId();
      this.sessions.set(id.guid.toString('hex'), { closed: false });
      this.calls.push({ method: 'OpenSession', initialCatalog: req?.initialNamespace?.catalogName, configuration: req?.configuration });
      return new T.TOpenSessionResp({ status: ok(), serverProtocolVersion: this.options.protocolVersion ?? PROTOCOL.V4, sessionHandle: { sessionId: id } });
    };

    handler.CloseSession = async (req) => {
      this.calls.push({ method: 'CloseSession' });
      const session = this.sessions.get(Buffer.from(req?.sessionHandle?.sessionId?.guid ?? []).toString('hex'));
      if (session) session.closed = true;
      return new T.TCloseSessionResp({ status: ok() });
    };

    handler.ExecuteStatement = async (req) => {
      const statement = String(req?.statement ?? '');
      const direct = req?.getDirectResults;
      const call: ThriftCall = { method: 'ExecuteStatement', statement, runAsync: req?.runAsync, canReadArrow: req?.canReadArrowResult === true };
      if (direct?.maxRows !== undefined) call.maxRows = Number(direct.maxRows.toNumber?.(true) ?? direct.maxRows);
      this.calls.push(call);
      const sessionKey = Buffer.from(req?.sessionHandle?.sessionId?.guid ?? []).toString('hex');
      if (!this.sessions.get(sessionKey) || this.sessions.get(sessionKey)!.closed) {
        return new T.TExecuteStatementResp({ status: new T.TStatus({ statusCode: T.TStatusCode.INVALID_HANDLE_STATUS, errorMessage: 'Invalid SessionHandle' }) });
      }
      const id = handleId();
      const op: Operation = { id: id.guid.toString('hex'), arrow: this.options.arrow === true && req?.canReadArrowResult === true, session: sessionKey, statement, columns: [], rows: () => [], iterator: undefined, offset: 0, done: false, error: undefined, closed: false };
      try {
        const result = this.model.execute(statement);
        op.columns = result.columns;
        op.rows = result.rows;
      } catch (error) {
        if (!(error instanceof DbxSqlError)) this.unexpected.push(statement);
        op.error = { message: (error as Error).message, sqlState: error instanceof DbxSqlError ? error.sqlState : '42000' };
      }
      this.operations.set(op.id, op);
      call.arrow = op.arrow;
      const operationHandle = { operationId: id, operationType: T.TOperationType.EXECUTE_STATEMENT, hasResultSet: true };
      if (!direct || this.options.directResults === false) return new T.TExecuteStatementResp({ status: ok(), operationHandle });
      const directResults: Record<string, object> = { operationStatus: this.status(op) };
      if (!op.error) {
        const limit = Number(direct.maxRows?.toNumber?.(true) ?? direct.maxRows ?? 100000);
        const { rowSet, hasMoreRows, count } = this.page(op, limit, true);
        call.rows = count;
        directResults.resultSetMetadata = this.metadata(op);
        directResults.resultSet = new T.TFetchResultsResp({ status: ok(), hasMoreRows, results: rowSet });
      }
      return new T.TExecuteStatementResp({ status: ok(), operationHandle, directResults });
    };

    handler.GetOperationStatus = async (req) => {
      this.calls.push({ method: 'GetOperationStatus' });
      return this.status(this.operation(req?.operationHandle));
    };

    handler.GetResultSetMetadata = async (req) => {
      this.calls.push({ method: 'GetResultSetMetadata' });
      return this.metadata(this.operation(req?.operationHandle));
    };

    handler.FetchResults = async (req) => {
      const op = this.operation(req?.operationHandle);
      const maxRows = Number(req?.maxRows?.toNumber?.(true) ?? req?.maxRows ?? 0);
      const orientation = Number(req?.orientation ?? 0);
      const call: ThriftCall = { method: 'FetchResults', maxRows, orientation };
      this.calls.push(call);
      if (op.error) throw new Error(op.error.message);
      const { rowSet, hasMoreRows, count } = this.page(op, maxRows, orientation === T.TFetchOrientation.FETCH_FIRST);
      call.rows = count;
      return new T.TFetchResultsResp({ status: ok(), hasMoreRows, results: rowSet });
    };

    handler.CloseOperation = async (req) => {
      this.calls.push({ method: 'CloseOperation' });
      const op = this.operation(req?.operationHandle);
      op.closed = true;
      return new T.TCloseOperationResp({ status: ok() });
    };

    return handler;
  }
}
