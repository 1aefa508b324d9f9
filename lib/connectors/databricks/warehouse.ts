import type https from 'node:https';
import { DBSQLClient } from '@databricks/sql';
import { AppError } from '../../errors.js';
import { sourceNotAllowed } from '../egress/dial.js';
import { causeOfType, driverMessage, networkReason, unreachable } from '../failures.js';
import { cloudFetchRows, linkOf, type CloudFetchLink } from './cloud-fetch.js';
import { arrowRows, columnRows, lz4Decompress, ResultFormatError, unreadable, type ResultRow } from './rows.js';
import type { DatabricksSettings } from './settings.js';
import {
  FETCH, OPERATION_STATE, PROTOCOL, ROW_SET, int64, succeeded,
  type TFetchResults, type TOperationHandle, type TOperationStatus, type TResultMetadata, type TSessionHandle, type TStatus, type ThriftDriver,
} from './thrift.js';
import type { TokenSource } from './token.js';

/** One SQL warehouse of a workspace, reached with the service principal's token. */
export interface WarehouseTarget {
  host: string;
  port: number;
  /** The warehouse's http_path, `/sql/1.0/warehouses/…`. */
  path: string;
  catalog: string;
  where: string;
  /** The agent of the driver's every HTTPS request (the Thrift calls): SOURCE_ALLOWED_HOSTS, trusted CAs. */
  agent: https.Agent;
  tokens: TokenSource;
  /** How long to retry opening a session while the warehouse starts (HTTP 503). */
  startTimeoutMs: number;
  /** Socket timeout of one Thrift call or CloudFetch download. */
  socketTimeoutMs: number;
  /** Result formats asked for (every one explicit: the driver's defaults are not used). */
  settings: Required<Pick<DatabricksSettings, 'arrow' | 'lz4' | 'cloudFetch' | 'cloudFetchConcurrency'>>;
  /** The agent CloudFetch downloads go through (cloud-fetch.ts, agentFor): SOURCE_ALLOWED_HOSTS, trusted CAs. */
  storageAgent: https.Agent;
  onQuery?: ((sql: string) => void) | undefined;
}

/**
 * Session parameters the output depends on. A SQL warehouse lets a session
 * set only its documented parameters (ANSI_MODE, TIMEZONE, …; "Databricks SQL
 * does not support setting Spark configurations that aren't listed"), and an
 * administrator may change their defaults, so the connector sets them:
 * ANSI_MODE makes CAST(decimal AS STRING) print plain digits (0.0000000000,
 * not 0E-10). The rest of the output does not depend on the session: JSON
 * keeps NULL struct fields through to_json's own option, and instants are
 * read as epoch microseconds, whatever TIMEZONE is.
 */
export const SESSION_CONFIGURATION: Readonly<Record<string, string>> = { ANSI_MODE: 'true' };

type ConnectionOptions = Parameters<DBSQLClient['connect']>[0];

/**
 * The @databricks/sql connection options: how the warehouse's host is
 * dialled (HTTPS, timeouts, retries, no telemetry) and how each Thrift call
 * is authorised, in one place. TLS trust and the SOURCE_ALLOWED_HOSTS check
 * are the agent's ({@link withAgent}).
 */
export function driverOptions(target: WarehouseTarget, authorization: () => Promise<string>): ConnectionOptions {
  return {
    host: target.host,
    port: target.port,
    path: target.path,
    authType: 'custom',
    provider: { authenticate: async () => ({ Authorization: await authorization() }) },
    telemetryEnabled: false,
    userAgentEntry: 'cr8tor-publisher',
    socketTimeout: target.socketTimeoutMs,
    // The driver retries 429/503 of idempotent calls (status, metadata, close) on its own.
    retryMaxAttempts: 3,
    retryDelayMin: 1_000,
    retryDelayMax: 10_000,
    retriesTimeout: 60_000,
  };
}

/**
 * Hands the driver `agent` for every HTTPS request it makes (the Thrift calls,
 * and anything else it would fetch): each takes its agent from the connection
 * provider that connect() creates, so the provider is wrapped before connect().
 * The agent checks each connection's host against SOURCE_ALLOWED_HOSTS and
 * carries the trusted CAs (hence no `customCaCert` in {@link driverOptions}).
 */
export function withAgent(client: DBSQLClient, agent: https.Agent): void {
  const provider = client.getConnectionProvider.bind(client);
  client.getConnectionProvider = async () => {
    const connections = await provider();
    connections.getAgent = async () => agent;
    return connections;
  };
}

/** The driver logs nothing (failures reach the caller as errors). */
const quiet = { log: () => undefined };

function httpStatus(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' ? status : undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const IN_PROGRESS = new Set<number>([OPERATION_STATE.INITIALIZED, OPERATION_STATE.PENDING, OPERATION_STATE.RUNNING]);
const STATE_NAMES: Record<number, string> = { 3: 'was cancelled', 4: 'was closed', 6: 'is in an unknown state', 8: 'timed out' };

/** Maps an @databricks/sql failure to the error table, naming the source and never a token. */
export function translateWarehouse(error: unknown, target: Pick<WarehouseTarget, 'where' | 'path'>): AppError {
  // Ours, raised inside the driver's request (SOURCE_ALLOWED_HOSTS) and wrapped by it:
  // node-fetch keeps only its code and message, Thrift the error itself.
  const own = causeOfType(error, AppError);
  if (own) return own;
  if ((error as { code?: unknown }).code === 'SOURCE_NOT_ALLOWED') return sourceNotAllowed(target.where, driverMessage(error));
  if (error instanceof ResultFormatError) return unreadable(target.where, error);
  const status = httpStatus(error);
  const warehouse = `SQL warehouse ${target.path} of the ${target.where}`;
  if (status === 401 || status === 403) return new AppError('SOURCE_AUTH_FAILED', `The ${warehouse} refused the service principal's OAuth token (HTTP ${status}).`, { cause: error });
  if (status === 404) return new AppError('SOURCE_UNREACHABLE', `There is no ${warehouse} (HTTP 404): check http_path.`, { cause: error });
  if (status === 429 || status === 503) return new AppError('SOURCE_UNREACHABLE', `The ${warehouse} is not running or not accepting sessions (HTTP ${status}); start it, or retry once it has started.`, { cause: error });
  if (status !== undefined) return new AppError('SOURCE_UNREACHABLE', `The ${warehouse} answered HTTP ${status}.`, { cause: error });
  const network = networkReason(error) ?? networkReason((error as { cause?: unknown }).cause);
  if (network) return unreachable(target.where, network, error);
  return new AppError('SOURCE_QUERY_FAILED', `The ${warehouse} failed: ${driverMessage(error)}.`, { cause: error });
}

interface Session {
  handle: TSessionHandle;
  /** serverProtocolVersion: what the warehouse lets this session ask for. */
  protocol: number;
}

/**
 * A session on a SQL warehouse. @databricks/sql carries the Thrift calls
 * (HTTPS, the token from {@link TokenSource} on every call); the connector
 * builds each request itself, so every result format is asked for explicitly,
 * and reads the results itself (rows.ts, cloud-fetch.ts), so at most
 * `maxRows` rows become values at a time whatever the warehouse sends. A 401
 * drops the token and the call is made once more with a new one; a warehouse
 * that answers 503 or 429 while it starts is asked again, with growing
 * pauses, until `startTimeoutMs` has passed.
 */
export class Warehouse {
  private client: DBSQLClient | undefined;
  private opening: Promise<Session> | undefined;
  private session: Session | undefined;
  /** The token the last Thrift call carried. */
  private lastToken: string | undefined;

  constructor(private readonly target: WarehouseTarget) {}

  private async driver(): Promise<ThriftDriver> {
    if (!this.client) {
      const client = new DBSQLClient({ logger: quiet as never });
      client.on('error', () => undefined);
      withAgent(client, this.target.agent);
      await client.connect(driverOptions(this.target, async () => `Bearer ${(this.lastToken = await this.target.tokens.get())}`));
      this.client = client;
    }
    return (await this.client.getDriver()) as unknown as ThriftDriver;
  }

  /** One Thrift call; a 401 drops the token and the call is made once more. */
  private async call<T>(run: (driver: ThriftDriver) => Promise<T>): Promise<T> {
    const driver = await this.driver();
    try {
      return await run(driver);
    } catch (error) {
      if (httpStatus(error) !== 401 || !this.lastToken) throw error;
      this.target.tokens.invalidate(this.lastToken);
      return await run(driver);
    }
  }

  private failed(status: { sqlState?: string | null; displayMessage?: string | null; errorMessage?: string | null }, fallback: string): AppError {
    const message = status.displayMessage || status.errorMessage || fallback;
    return new AppError('SOURCE_QUERY_FAILED', `The SQL warehouse ${this.target.path} of the ${this.target.where} failed: ${driverMessage(message).replace(/\.$/, '')}.`);
  }

  private checked<T extends { status: TStatus }>(response: T, what: string): T {
    if (!succeeded(response.status)) throw this.failed(response.status, `${what} failed`);
    return response;
  }

  /** Opens a session (starting the warehouse if it is stopped and allowed to start). */
  async open(): Promise<void> {
    if (this.session) return;
    this.opening ??= this.openSession().then(
      (s) => (this.session = s),
      (error: unknown) => {
        this.opening = undefined;
        throw error;
      },
    );
    await this.opening;
  }

  private async openSession(): Promise<Session> {
    const started = Date.now();
    let pause = 500;
    for (;;) {
      try {
        const response = this.checked(
          await this.call((d) =>
            d.openSession({
              client_protocol_i64: PROTOCOL.V8,
              initialNamespace: { catalogName: this.target.catalog },
              configuration: { ...SESSION_CONFIGURATION },
              canUseMultipleCatalogs: true,
            }),
          ),
          'OpenSession',
        );
        if (!response.sessionHandle) throw new AppError('SOURCE_QUERY_FAILED', `The SQL warehouse ${this.target.path} of the ${this.target.where} opened no session.`);
        return { handle: response.sessionHandle, protocol: response.serverProtocolVersion };
      } catch (error) {
        const status = httpStatus(error);
        const waited = Date.now() - started;
        if ((status === 503 || status === 429) && waited + pause <= this.target.startTimeoutMs) {
          await sleep(pause);
          pause = Math.min(pause * 2, 10_000);
          continue;
        }
        const failure = translateWarehouse(error, this.target);
        if (status === 503 || status === 429) {
          throw new AppError('SOURCE_UNREACHABLE', `${failure.message.replace(/\.$/, '')} (waited ${Math.round(waited / 1000)} s).`, { cause: error });
        }
        throw failure;
      }
    }
  }

  /** Runs a statement whose result is small (always inline) and returns its rows. */
  async query(sql: string): Promise<ResultRow[]> {
    const rows: ResultRow[] = [];
    for await (const batch of this.rows(sql, 1000, false)) rows.push(...batch);
    return rows;
  }

  /**
   * The rows of a statement in batches of at most `maxRows`, each read only
   * when the previous one was taken; large results may come by CloudFetch.
   */
  batches(sql: string, maxRows: number): AsyncGenerator<ResultRow[]> {
    return this.rows(sql, maxRows, this.target.settings.cloudFetch);
  }

  private async *rows(sql: string, maxRows: number, cloudFetch: boolean): AsyncGenerator<ResultRow[]> {
    try {
      yield* this.statement(sql, maxRows, cloudFetch);
    } catch (error) {
      throw translateWarehouse(error, this.target);
    }
  }

  /** The ExecuteStatement request: every result format asked for or refused explicitly, within what the server's protocol allows. */
  private request(session: Session, sql: string, maxRows: number, cloudFetch: boolean): object {
    const { settings } = this.target;
    const arrow = settings.arrow && session.protocol >= PROTOCOL.V5;
    return {
      sessionHandle: session.handle,
      statement: sql,
      runAsync: true,
      getDirectResults: { maxRows },
      canReadArrowResult: arrow,
      // Values the output depends on are turned into text by the statement itself; Arrow carries them as text too.
      ...(arrow ? { useArrowNativeTypes: { timestampAsArrow: false, decimalAsArrow: false, complexTypesAsArrow: false, intervalTypesAsArrow: false } } : {}),
      ...(session.protocol >= PROTOCOL.V3 ? { canDownloadResult: arrow && cloudFetch } : {}),
      ...(session.protocol >= PROTOCOL.V6 ? { canDecompressLZ4Result: arrow && settings.lz4 } : {}),
    };
  }

  private async *statement(sql: string, maxRows: number, cloudFetch: boolean): AsyncGenerator<ResultRow[]> {
    await this.open();
    const session = this.session!;
    this.target.onQuery?.(sql);
    const response = this.checked(await this.call((d) => d.executeStatement(this.request(session, sql, maxRows, cloudFetch))), 'ExecuteStatement');
    const handle = response.operationHandle;
    if (!handle) throw new AppError('SOURCE_QUERY_FAILED', `The SQL warehouse ${this.target.path} of the ${this.target.where} started no operation.`);
    const direct = response.directResults ?? undefined;
    try {
      await this.finished(handle, direct?.operationStatus ?? undefined);
      if (!handle.hasResultSet) return;
      const metadata = direct?.resultSetMetadata ?? this.checked(await this.call((d) => d.getResultSetMetadata({ operationHandle: handle })), 'GetResultSetMetadata');
      yield* this.result(handle, metadata, direct?.resultSet ?? undefined, maxRows);
    } finally {
      if (!direct?.closeOperation) await this.call((d) => d.closeOperation({ operationHandle: handle })).catch(() => undefined);
    }
  }

  /** Polls the operation until it has finished (PENDING and RUNNING may last a while), or fails as the warehouse says. */
  private async finished(handle: TOperationHandle, first: TOperationStatus | undefined): Promise<void> {
    let status = first;
    let pause = 100;
    while (!status || IN_PROGRESS.has(status.operationState ?? OPERATION_STATE.UNKNOWN)) {
      if (status) {
        await sleep(pause);
        pause = Math.min(pause * 1.5, 1_000);
      }
      status = this.checked(await this.call((d) => d.getOperationStatus({ operationHandle: handle })), 'GetOperationStatus');
    }
    const state = status.operationState ?? OPERATION_STATE.UNKNOWN;
    if (state === OPERATION_STATE.ERROR) throw this.failed(status, 'the statement failed');
    if (state !== OPERATION_STATE.FINISHED) throw this.failed(status, `the statement ${STATE_NAMES[state] ?? `ended in state ${state}`}`);
  }

  /** Fetches pages until the warehouse has no more, the first from the direct results if they came. */
  private async *pages(handle: TOperationHandle, first: TFetchResults | undefined, maxRows: number, nextRow: () => number | undefined): AsyncGenerator<TFetchResults> {
    let page = first;
    if (page) yield this.checked(page, 'FetchResults');
    while (!page || page.hasMoreRows) {
      const startRowOffset = page ? nextRow() : undefined;
      page = this.checked(
        await this.call((d) => d.fetchResults({ operationHandle: handle, orientation: page ? FETCH.NEXT : FETCH.FIRST, maxRows, ...(startRowOffset === undefined ? {} : { startRowOffset }) })),
        'FetchResults',
      );
      yield page;
    }
  }

  private async *result(handle: TOperationHandle, metadata: TResultMetadata, first: TFetchResults | undefined, maxRows: number): AsyncGenerator<ResultRow[]> {
    const names = [...(metadata.schema?.columns ?? [])].sort((a, b) => a.position - b.position).map((c) => c.columnName);
    const lz4 = metadata.lz4Compressed === true;
    switch (metadata.resultFormat) {
      case ROW_SET.COLUMN:
        for await (const page of this.pages(handle, first, maxRows, () => undefined)) {
          const rows = columnRows(page.results?.columns ?? [], names);
          for (let i = 0; i < rows.length; i += maxRows) yield rows.slice(i, i + maxRows);
        }
        return;
      case ROW_SET.ARROW: {
        const schema = metadata.arrowSchema;
        if (!schema) throw new ResultFormatError('an Arrow result without its Arrow schema');
        for await (const page of this.pages(handle, first, maxRows, () => undefined)) {
          for (const [i, b] of (page.results?.arrowBatches ?? []).entries()) {
            const what = `Arrow batch ${i + 1} of rows from ${int64(page.results?.startRowOffset)}`;
            yield* arrowRows([schema, lz4 ? lz4Decompress(b.batch, what) : b.batch], maxRows, what);
          }
        }
        return;
      }
      case ROW_SET.URL: {
        let next = 0;
        const pages = this.pages(handle, first, maxRows, () => next);
        const links = (async function* () {
          for await (const page of pages) {
            const found = (page.results?.resultLinks ?? []).map(linkOf).sort((a, b) => a.startRow - b.startRow);
            for (const link of found) {
              next = Math.max(next, link.startRow + link.rowCount);
              yield link;
            }
          }
        })();
        yield* cloudFetchRows(links, {
          agent: this.target.storageAgent,
          where: this.target.where,
          timeoutMs: this.target.socketTimeoutMs,
          concurrency: this.target.settings.cloudFetchConcurrency,
          lz4,
          maxRows,
          refresh: (startRow) => this.freshLink(handle, startRow, maxRows),
        });
        return;
      }
      default:
        throw new ResultFormatError(`a result in format ${metadata.resultFormat} (neither column-based, Arrow nor CloudFetch)`);
    }
  }

  /** A new link for the CloudFetch file whose rows start at `startRow` (FETCH_ABSOLUTE at that offset). */
  private async freshLink(handle: TOperationHandle, startRow: number, maxRows: number): Promise<CloudFetchLink | undefined> {
    const page = this.checked(
      await this.call((d) => d.fetchResults({ operationHandle: handle, orientation: FETCH.ABSOLUTE, startRowOffset: startRow, maxRows })),
      'FetchResults',
    );
    return (page.results?.resultLinks ?? []).map(linkOf).find((l) => l.startRow === startRow);
  }

  async close(): Promise<void> {
    const { session, client } = this;
    this.session = undefined;
    this.opening = undefined;
    this.client = undefined;
    if (session && client) {
      const driver = (await client.getDriver().catch(() => undefined)) as unknown as ThriftDriver | undefined;
      await driver?.closeSession({ sessionHandle: session.handle }).catch(() => undefined);
    }
    if (client) await client.close().catch(() => undefined);
  }
}
