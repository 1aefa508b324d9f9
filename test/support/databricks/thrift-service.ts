/**
 * The SQL warehouse side of the Databricks double: the TCLIService handler
 * behind the `Processor` @databricks/sql ships, answering as a SQL warehouse
 * does. OpenSession announces protocol V8 by default (the lever for older
 * servers: V4 means no Arrow, no LZ4) and takes only the session parameters
 * Databricks SQL lets a session set, over the workspace's defaults (by
 * default ones an administrator changed: ANSI_MODE false, a non-UTC
 * TIMEZONE). ExecuteStatement checks the statement with the Spark grammar
 * first (a refusal is an ERROR_STATUS with SQLSTATE 42601, as Spark's parser
 * answers), may stay PENDING/RUNNING for a few status polls, and answers
 * direct results when asked. The result format is the server's choice from
 * what the client said it can read: column-based rows if it cannot read
 * Arrow; inline Arrow IPC batches (LZ4-frame compressed, with an encoder of
 * its own, if the client can decompress them); CloudFetch links to files in
 * the storage double (storage.ts) for results of `cloudFetch.minRows` rows
 * or more if the client can download them, several files per result, a few
 * links per FetchResults, each link expiring. FETCH_ABSOLUTE at a
 * startRowOffset hands out fresh links, as clients ask when one expired.
 * Any other method is refused and recorded.
 *
 * The generated .d.ts files export no types, so the structs are loaded with
 * createRequire and used untyped here.
 */
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { DbxSqlError } from './spark-sql.js';
import { type DbxModel, type ResultColumn, type ResultType, type SessionSettings } from './model.js';
import { checkSyntax } from './spark-sql.js';
import type { FileFault, StorageDouble } from './storage.js';

const load = createRequire(import.meta.url);
const T = load('@databricks/sql/thrift/TCLIService_types.js') as Record<string, any>;
export const TCLIService = load('@databricks/sql/thrift/TCLIService.js') as { Processor: new (handler: object) => { process(input: unknown, output: unknown): void } };
const Int64 = load('node-int64') as new (buffer: Buffer) => { toNumber(allowImprecise?: boolean): number };
const Arrow = load('apache-arrow') as Record<string, any>;
const lz4js = load('lz4js') as { compress(data: Uint8Array): Uint8Array };

/** Protocol versions the double can announce. */
export const PROTOCOL = { V4: 42244, V5: 42245, V6: 42246, V8: 42248 } as const;

/** Session parameters a Databricks SQL session may set ("Databricks SQL does not support setting Spark configurations that aren't listed"). */
const SETTABLE = ['ANSI_MODE', 'LEGACY_TIME_PARSER_POLICY', 'MAX_FILE_PARTITION_BYTES', 'STATEMENT_TIMEOUT', 'TIMEZONE', 'USE_CACHED_RESULT'];

function int64(value: bigint | number): InstanceType<typeof Int64> {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(value));
  return new Int64(b);
}

const num = (value: any): number | undefined => (value === undefined || value === null ? undefined : Number(value.toNumber?.(true) ?? value));

function handleId(): { guid: Buffer; secret: Buffer } {
  // The driver prints the guid as a UUID: it must be one (version and variant bits set).
  return { guid: Buffer.from(randomUUID().replaceAll('-', ''), 'hex'), secret: Buffer.from(randomUUID().replaceAll('-', ''), 'hex') };
}

const ok = () => new T.TStatus({ statusCode: T.TStatusCode.SUCCESS_STATUS });
const failure = (sqlState: string, message: string) => new T.TStatus({ statusCode: T.TStatusCode.ERROR_STATUS, sqlState, errorMessage: message, displayMessage: message });

const TYPE_IDS: Record<ResultType, number> = {
  BOOLEAN: 0, TINYINT: 1, SMALLINT: 2, INT: 3, BIGINT: 4, FLOAT: 5, DOUBLE: 6, STRING: 7, TIMESTAMP: 8, BINARY: 9, MAP: 11, STRUCT: 12,
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
    case 'BINARY': return { binaryVal: { values: pick((v) => v as Buffer, Buffer.alloc(0)), nulls } };
    default: return { stringVal: { values: pick(String, ''), nulls } };
  }
}

/** The Arrow type of each result type when the client asked for no native Arrow timestamps or complex types: those come as text. */
function arrowType(type: ResultType): unknown {
  switch (type) {
    case 'BOOLEAN': return new Arrow.Bool();
    case 'TINYINT': return new Arrow.Int8();
    case 'SMALLINT': return new Arrow.Int16();
    case 'INT': return new Arrow.Int32();
    case 'BIGINT': return new Arrow.Int64();
    case 'FLOAT': return new Arrow.Float32();
    case 'DOUBLE': return new Arrow.Float64();
    case 'BINARY': return new Arrow.Binary();
    default: return new Arrow.Utf8();
  }
}

const EOS = 8;

/** The Arrow schema of a result and its IPC schema message. */
function arrowSchema(columns: ResultColumn[]): { schema: any; message: Buffer } {
  const schema = new Arrow.Schema(columns.map((c) => new Arrow.Field(c.name, arrowType(c.type), true)));
  const stream = Buffer.from(Arrow.tableToIPC(new Arrow.Table(schema), 'stream'));
  return { schema, message: stream.subarray(0, stream.length - EOS) };
}

/** A Utf8 column built directly (offsets, bytes, validity): apache-arrow's generic builder is slow for large results. */
function utf8Data(values: unknown[]): unknown {
  const texts = values.map((v) => (v == null ? '' : String(v)));
  const bytes = Buffer.from(texts.join(''), 'utf8');
  const offsets = new Int32Array(values.length + 1);
  const validity = new Uint8Array(Math.ceil(values.length / 8));
  let nulls = 0;
  for (let i = 0; i < values.length; i++) {
    offsets[i + 1] = offsets[i]! + Buffer.byteLength(texts[i]!, 'utf8');
    if (values[i] == null) nulls++;
    else validity[i >> 3]! |= 1 << (i % 8);
  }
  return Arrow.makeData({ type: new Arrow.Utf8(), length: values.length, nullCount: nulls, nullBitmap: validity, valueOffsets: offsets, data: bytes });
}

/** One column of a record batch. */
function arrowData(type: ResultType, values: unknown[]): unknown {
  return arrowType(type) instanceof Arrow.Utf8 ? utf8Data(values) : Arrow.vectorFromArray(values, arrowType(type)).data[0];
}

/** One record batch of rows as its IPC message (what TRowSet.arrowBatches carries). */
function batchMessage(columns: ResultColumn[], rows: unknown[][]): Buffer {
  const { schema, message } = arrowSchema(columns);
  const children = columns.map((c, i) => arrowData(c.type, rows.map((r) => r[i] ?? null)));
  const batch = new Arrow.RecordBatch(schema, Arrow.makeData({ type: new Arrow.Struct(schema.fields), length: rows.length, nullCount: 0, children }));
  const full = Buffer.from(Arrow.tableToIPC(new Arrow.Table(schema, [batch]), 'stream'));
  return full.subarray(message.length, full.length - EOS);
}

/** A CloudFetch file: a whole IPC stream (schema, record batches of `batchRows`, end of stream). */
function ipcFile(columns: ResultColumn[], rows: unknown[][], batchRows: number): Buffer {
  const parts = [arrowSchema(columns).message];
  for (let i = 0; i < rows.length; i += batchRows) parts.push(batchMessage(columns, rows.slice(i, i + batchRows)));
  parts.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
  return Buffer.concat(parts);
}

const lz4 = (bytes: Buffer) => Buffer.from(lz4js.compress(bytes));

type Format = 'column' | 'arrow' | 'url';

interface Operation {
  id: string;
  format: Format;
  lz4: boolean;
  statement: string;
  columns: ResultColumn[];
  rows: () => Iterable<unknown[]>;
  /** Sequential reader over the rows, restarted when a read goes back. */
  iterator: Iterator<unknown[]> | undefined;
  iteratorAt: number;
  /** Where the next FETCH_NEXT starts. */
  cursor: number;
  total: number | undefined;
  /** Status polls left before the operation has finished. */
  pollsLeft: number;
  error: { message: string; sqlState: string } | undefined;
  closed: boolean;
  /** Links handed out so far, per file. */
  linksIssued: Map<number, number>;
  /** CloudFetch files made so far, by index. */
  files: Map<number, Buffer>;
}

/** One Thrift call as the double saw it. */
export interface ThriftCall {
  method: string;
  statement?: string;
  /** ExecuteStatement: what the client said it can read, and the format it got. */
  canReadArrow?: boolean;
  canDownload?: boolean;
  canLz4?: boolean;
  nativeTypes?: Record<string, boolean>;
  format?: Format;
  lz4?: boolean;
  /** ExecuteStatement: getDirectResults.maxRows, if asked; FetchResults: maxRows. */
  maxRows?: number;
  orientation?: number;
  startRowOffset?: number;
  /** Rows the answer carried inline (ExecuteStatement direct results, FetchResults), or the links it carried. */
  rows?: number;
  links?: number;
  /** Rows per inline Arrow batch sent. */
  batchRows?: number[];
  runAsync?: boolean;
  initialCatalog?: string;
  configuration?: Record<string, string>;
  state?: number;
}

export interface CloudFetchOptions {
  /** Results of at least this many rows go by CloudFetch when the client can download them (default 1000). */
  minRows?: number;
  /** Rows per file (default 1000). */
  fileRows?: number;
  /** Rows per record batch inside a file (default: the whole file in one batch). */
  batchRows?: number;
  /** Links per FetchResults (default 2). */
  linksPerPage?: number;
  /** How long a link lives (default 15 minutes). */
  linkLifetimeMs?: number;
  /**
   * Links that go wrong, by file index: `expires-soon` is issued with 50 ms
   * to live (it expires while earlier files are read); `refused` claims the
   * usual lifetime but storage already refuses it (a clock that disagrees).
   * Only the first link of a file is affected, fresh ones are good; with
   * `always-refused` every link of the file is refused.
   */
  linkFaults?: Record<number, 'expires-soon' | 'refused' | 'always-refused'>;
  /** Files that fail when downloaded, by index (storage.ts). */
  fileFaults?: Record<number, FileFault>;
}

export interface WarehouseOptions {
  /** serverProtocolVersion announced in OpenSession (default V8). */
  protocolVersion?: number;
  /** Answer ExecuteStatement with direct results when the client asks (default true, as Databricks does). */
  directResults?: boolean;
  /** Column-based pages: at most this many rows, whatever the client asks (default 1000). */
  pageRows?: number;
  /** Inline Arrow pages: this many rows whatever the client asks (real warehouses cap by bytes); default the client's maxRows capped by pageRows. */
  inlinePageRows?: number;
  /** Rows per inline Arrow record batch (default: the whole page). */
  inlineBatchRows?: number;
  cloudFetch?: CloudFetchOptions;
  /** Status polls an operation answers PENDING, then RUNNING, before FINISHED (default 0). */
  runningPolls?: number;
  /** The workspace's session parameter defaults (default ANSI_MODE false and TIMEZONE America/Los_Angeles, as an administrator may set them). */
  workspaceDefaults?: Record<string, string>;
}

/** The warehouse's state: sessions, operations, and the calls made. */
export class WarehouseService {
  readonly calls: ThriftCall[] = [];
  readonly unexpected: string[] = [];
  private readonly sessions = new Map<string, { closed: boolean; settings: SessionSettings }>();
  private readonly operations = new Map<string, Operation>();

  constructor(
    private readonly model: DbxModel,
    readonly options: WarehouseOptions,
    private readonly storage: StorageDouble,
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

  private status(op: Operation, poll: boolean): any {
    if (op.pollsLeft > 0) {
      // Queued first (PENDING), then RUNNING, as a warehouse reports a statement waiting for capacity.
      const state = op.pollsLeft > (this.options.runningPolls ?? 0) / 2 ? T.TOperationState.PENDING_STATE : T.TOperationState.RUNNING_STATE;
      if (poll) op.pollsLeft--;
      return new T.TGetOperationStatusResp({ status: ok(), operationState: state });
    }
    if (op.error) {
      return new T.TGetOperationStatusResp({ status: ok(), operationState: T.TOperationState.ERROR_STATE, sqlState: op.error.sqlState, errorMessage: op.error.message, displayMessage: op.error.message });
    }
    return new T.TGetOperationStatusResp({ status: ok(), operationState: T.TOperationState.FINISHED_STATE });
  }

  private metadata(op: Operation): object {
    const formats = { column: T.TSparkRowSetType.COLUMN_BASED_SET, arrow: T.TSparkRowSetType.ARROW_BASED_SET, url: T.TSparkRowSetType.URL_BASED_SET };
    return new T.TGetResultSetMetadataResp({
      status: ok(),
      schema: {
        columns: op.columns.map((c, i) => ({ columnName: c.name, typeDesc: { types: [{ primitiveEntry: { type: TYPE_IDS[c.type] } }] }, position: i + 1 })),
      },
      resultFormat: formats[op.format],
      ...(op.format === 'column' ? {} : { arrowSchema: arrowSchema(op.columns).message, lz4Compressed: op.lz4 }),
    });
  }

  /** `count` rows from row `start` (fewer at the end). */
  private slice(op: Operation, start: number, count: number): unknown[][] {
    if (!op.iterator || op.iteratorAt > start) {
      op.iterator = op.rows()[Symbol.iterator]();
      op.iteratorAt = 0;
    }
    const rows: unknown[][] = [];
    while (rows.length < count) {
      const next = op.iterator.next();
      if (next.done) break;
      if (op.iteratorAt++ >= start) rows.push(next.value);
    }
    return rows;
  }

  private total(op: Operation): number {
    if (op.total === undefined) {
      let n = 0;
      for (const _ of op.rows()) n++;
      op.total = n;
    }
    return op.total;
  }

  /** The page starting at `start`: inline rows, or links to the files there. */
  private page(op: Operation, start: number, maxRows: number, call: ThriftCall): { rowSet: object; hasMoreRows: boolean } {
    if (op.format === 'url') return this.links(op, start, call);
    const o = this.options;
    const size = op.format === 'arrow' && o.inlinePageRows !== undefined ? o.inlinePageRows : Math.max(1, Math.min(maxRows || 100_000, o.pageRows ?? 1000));
    const rows = this.slice(op, start, size);
    op.cursor = start + rows.length;
    call.rows = rows.length;
    const hasMoreRows = op.cursor < this.total(op);
    if (op.format === 'column') {
      return { rowSet: { startRowOffset: int64(start), rows: [], columns: op.columns.map((c, i) => column(c.type, rows.map((r) => r[i]))) }, hasMoreRows };
    }
    const per = o.inlineBatchRows ?? Math.max(rows.length, 1);
    const arrowBatches = [];
    call.batchRows = [];
    for (let i = 0; i < rows.length; i += per) {
      const part = rows.slice(i, i + per);
      const message = batchMessage(op.columns, part);
      arrowBatches.push({ batch: op.lz4 ? lz4(message) : message, rowCount: int64(part.length) });
      call.batchRows.push(part.length);
    }
    return { rowSet: { startRowOffset: int64(start), rows: [], arrowBatches }, hasMoreRows };
  }

  /** Links to the files from the one holding row `start`, a few per page. */
  private links(op: Operation, start: number, call: ThriftCall): { rowSet: object; hasMoreRows: boolean } {
    const cf = this.options.cloudFetch ?? {};
    const fileRows = cf.fileRows ?? 1000;
    const total = this.total(op);
    const first = Math.floor(start / fileRows);
    const links = [];
    for (let file = first; file < first + (cf.linksPerPage ?? 2) && file * fileRows < total; file++) {
      const from = file * fileRows;
      const count = Math.min(fileRows, total - from);
      const name = `${op.id}-${file}`;
      let bytes = op.files.get(file);
      if (!bytes) {
        const ipc = ipcFile(op.columns, this.slice(op, from, count), cf.batchRows ?? count);
        bytes = op.lz4 ? lz4(ipc) : ipc;
        op.files.set(file, bytes);
      }
      const body = bytes;
      this.storage.put(name, () => body);
      const fault = cf.fileFaults?.[file];
      if (fault) this.storage.faults.set(name, fault);
      const issued = op.linksIssued.get(file) ?? 0;
      op.linksIssued.set(file, issued + 1);
      const lifetime = cf.linkLifetimeMs ?? 15 * 60_000;
      const linkFault = issued === 0 || cf.linkFaults?.[file] === 'always-refused' ? cf.linkFaults?.[file] : undefined;
      const expiry = Date.now() + (linkFault === 'expires-soon' ? 50 : lifetime);
      links.push({
        fileLink: this.storage.link(name, linkFault === 'refused' || linkFault === 'always-refused' ? Date.now() - 1000 : expiry),
        expiryTime: int64(expiry),
        startRowOffset: int64(from),
        rowCount: int64(count),
        // The file's size as stored (compressed when LZ4).
        bytesNum: int64(body.length),
      });
      op.cursor = from + count;
    }
    call.links = links.length;
    return { rowSet: { startRowOffset: int64(start), rows: [], resultLinks: links }, hasMoreRows: op.cursor < total };
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
    const protocol = this.options.protocolVersion ?? PROTOCOL.V8;

    handler.OpenSession = async (req) => {
      const configuration: Record<string, string> = req?.configuration ?? {};
      this.calls.push({ method: 'OpenSession', initialCatalog: req?.initialNamespace?.catalogName, configuration });
      const conf = new Map(Object.entries(this.options.workspaceDefaults ?? { ANSI_MODE: 'false', TIMEZONE: 'America/Los_Angeles' }).map(([k, v]) => [k.toUpperCase(), v]));
      for (const [key, value] of Object.entries(configuration)) {
        if (!SETTABLE.includes(key.toUpperCase())) {
          return new T.TOpenSessionResp({ status: failure('42K0I', `[CONFIG_NOT_AVAILABLE] Configuration ${key} is not available. SQLSTATE: 42K0I`), serverProtocolVersion: protocol });
        }
        conf.set(key.toUpperCase(), value);
      }
      const id = handleId();
      const settings = { ansi: (conf.get('ANSI_MODE') ?? 'true').toLowerCase() === 'true', timeZone: conf.get('TIMEZONE') ?? 'UTC' };
      this.sessions.set(id.guid.toString('hex'), { closed: false, settings });
      return new T.TOpenSessionResp({ status: ok(), serverProtocolVersion: protocol, sessionHandle: { sessionId: id } });
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
      const call: ThriftCall = {
        method: 'ExecuteStatement', statement, runAsync: req?.runAsync,
        canReadArrow: req?.canReadArrowResult === true, canDownload: req?.canDownloadResult === true, canLz4: req?.canDecompressLZ4Result === true,
        ...(req?.useArrowNativeTypes ? { nativeTypes: Object.fromEntries(Object.entries(req.useArrowNativeTypes).filter(([, v]) => v !== null && v !== undefined)) as Record<string, boolean> } : {}),
      };
      if (direct?.maxRows !== undefined) call.maxRows = num(direct.maxRows);
      this.calls.push(call);
      const session = this.sessions.get(Buffer.from(req?.sessionHandle?.sessionId?.guid ?? []).toString('hex'));
      if (!session || session.closed) {
        return new T.TExecuteStatementResp({ status: new T.TStatus({ statusCode: T.TStatusCode.INVALID_HANDLE_STATUS, errorMessage: 'Invalid SessionHandle' }) });
      }
      try {
        checkSyntax(statement);
      } catch (error) {
        const e = error as DbxSqlError;
        return new T.TExecuteStatementResp({ status: failure(e.sqlState, e.message) });
      }
      const arrow = call.canReadArrow! && protocol >= PROTOCOL.V5;
      const id = handleId();
      const op: Operation = {
        id: id.guid.toString('hex'), format: arrow ? 'arrow' : 'column', lz4: arrow && call.canLz4! && protocol >= PROTOCOL.V6, statement, columns: [], rows: () => [],
        iterator: undefined, iteratorAt: 0, cursor: 0, total: undefined, pollsLeft: this.options.runningPolls ?? 0, error: undefined, closed: false, linksIssued: new Map(), files: new Map(),
      };
      try {
        const result = this.model.execute(statement, session.settings);
        op.columns = result.columns;
        op.rows = result.rows;
        if (arrow && call.canDownload && this.total(op) >= (this.options.cloudFetch?.minRows ?? 1000)) op.format = 'url';
      } catch (error) {
        if (!(error instanceof DbxSqlError)) this.unexpected.push(statement);
        op.error = { message: (error as Error).message, sqlState: error instanceof DbxSqlError ? error.sqlState : '42000' };
      }
      this.operations.set(op.id, op);
      call.format = op.format;
      call.lz4 = op.lz4;
      const operationHandle = { operationId: id, operationType: T.TOperationType.EXECUTE_STATEMENT, hasResultSet: true };
      if (!direct || this.options.directResults === false) return new T.TExecuteStatementResp({ status: ok(), operationHandle });
      const operationStatus = this.status(op, false);
      call.state = operationStatus.operationState;
      const directResults: Record<string, object> = { operationStatus };
      if (operationStatus.operationState === T.TOperationState.FINISHED_STATE) {
        const { rowSet, hasMoreRows } = this.page(op, 0, num(direct.maxRows) ?? 100_000, call);
        directResults.resultSetMetadata = this.metadata(op);
        directResults.resultSet = new T.TFetchResultsResp({ status: ok(), hasMoreRows, results: rowSet });
      }
      return new T.TExecuteStatementResp({ status: ok(), operationHandle, directResults });
    };

    handler.GetOperationStatus = async (req) => {
      const answer = this.status(this.operation(req?.operationHandle), true);
      this.calls.push({ method: 'GetOperationStatus', state: answer.operationState });
      return answer;
    };

    handler.GetResultSetMetadata = async (req) => {
      this.calls.push({ method: 'GetResultSetMetadata' });
      return this.metadata(this.operation(req?.operationHandle));
    };

    handler.FetchResults = async (req) => {
      const op = this.operation(req?.operationHandle);
      const maxRows = num(req?.maxRows) ?? 0;
      const orientation = Number(req?.orientation ?? 0);
      const startRowOffset = num(req?.startRowOffset);
      const call: ThriftCall = { method: 'FetchResults', maxRows, orientation, ...(startRowOffset === undefined ? {} : { startRowOffset }) };
      this.calls.push(call);
      if (op.error || op.pollsLeft > 0) throw new Error(op.error?.message ?? 'the operation has not finished');
      const start = orientation === T.TFetchOrientation.FETCH_FIRST ? 0 : startRowOffset ?? op.cursor;
      if (orientation === T.TFetchOrientation.FETCH_ABSOLUTE && startRowOffset === undefined) throw new Error('FETCH_ABSOLUTE without a startRowOffset');
      const { rowSet, hasMoreRows } = this.page(op, start, maxRows, call);
      return new T.TFetchResultsResp({ status: ok(), hasMoreRows, results: rowSet });
    };

    handler.CloseOperation = async (req) => {
      this.calls.push({ method: 'CloseOperation' });
      const op = this.operation(req?.operationHandle);
      op.closed = true;
      op.files.clear();
      return new T.TCloseOperationResp({ status: ok() });
    };

    return handler;
  }
}
