import type https from 'node:https';
import { DBSQLClient } from '@databricks/sql';
import { AppError } from '../../errors.js';
import { sourceNotAllowed } from '../egress/dial.js';
import { causeOfType, driverMessage, networkReason, unreachable } from '../failures.js';
import type { TokenSource } from './token.js';

/** One SQL warehouse of a workspace, reached with the service principal's token. */
export interface WarehouseTarget {
  host: string;
  port: number;
  /** The warehouse's http_path, `/sql/1.0/warehouses/…`. */
  path: string;
  catalog: string;
  where: string;
  /** The agent of every HTTPS request of the driver (Thrift, result downloads): SOURCE_ALLOWED_HOSTS, trusted CAs. */
  agent: https.Agent;
  tokens: TokenSource;
  /** How long to retry opening a session while the warehouse starts (HTTP 503). */
  startTimeoutMs: number;
  /** Socket timeout of one Thrift call. */
  socketTimeoutMs: number;
  onQuery?: ((sql: string) => void) | undefined;
}

type IDBSQLSession = Awaited<ReturnType<DBSQLClient['openSession']>>;
type IOperation = Awaited<ReturnType<IDBSQLSession['executeStatement']>>;

/** The driver logs nothing (failures reach the caller as errors). */
const quiet = { log: () => undefined };

function httpStatus(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' ? status : undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Maps an @databricks/sql failure to the error table, naming the source and never a token. */
export function translateWarehouse(error: unknown, target: Pick<WarehouseTarget, 'where' | 'path'>): AppError {
  // Ours, raised inside the driver's request (SOURCE_ALLOWED_HOSTS) and wrapped by it:
  // node-fetch keeps only its code and message, Thrift the error itself.
  const own = causeOfType(error, AppError);
  if (own) return own;
  if ((error as { code?: unknown }).code === 'SOURCE_NOT_ALLOWED') return sourceNotAllowed(target.where, driverMessage(error));
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

/**
 * A session on a SQL warehouse through @databricks/sql (Thrift over HTTPS,
 * telemetry off). The token comes from {@link TokenSource} before every
 * Thrift call; a 401 drops it and the call is retried once with a new one. A
 * warehouse that answers 503 or 429 while it starts is asked again, with
 * growing pauses, until `startTimeoutMs` has passed.
 */
export class Warehouse {
  private client: DBSQLClient | undefined;
  private opening: Promise<IDBSQLSession> | undefined;
  private session: IDBSQLSession | undefined;
  /** The token the last Thrift call carried. */
  private lastToken: string | undefined;

  constructor(private readonly target: WarehouseTarget) {}

  private async connect(): Promise<DBSQLClient> {
    if (this.client) return this.client;
    const client = new DBSQLClient({ logger: quiet as never });
    client.on('error', () => undefined);
    // Every HTTPS request of the driver (Thrift calls, CloudFetch downloads)
    // takes its agent from the connection provider: hand it ours, which checks
    // each connection's host against SOURCE_ALLOWED_HOSTS. Set on the provider
    // before connect() builds the Thrift connection with it.
    const provider = client.getConnectionProvider.bind(client);
    client.getConnectionProvider = async () => {
      const connections = await provider();
      connections.getAgent = async () => this.target.agent;
      return connections;
    };
    await client.connect({
      host: this.target.host,
      port: this.target.port,
      path: this.target.path,
      authType: 'custom',
      provider: {
        authenticate: async () => {
          this.lastToken = await this.target.tokens.get();
          return { Authorization: `Bearer ${this.lastToken}` };
        },
      },
      telemetryEnabled: false,
      userAgentEntry: 'cr8tor-publisher',
      socketTimeout: this.target.socketTimeoutMs,
    });
    this.client = client;
    return client;
  }

  /** The open session, opening one on first use. */
  async open(): Promise<IDBSQLSession> {
    if (this.session) return this.session;
    this.opening ??= this.openSession().then(
      (s) => (this.session = s),
      (error: unknown) => {
        this.opening = undefined;
        throw error;
      },
    );
    return this.opening;
  }

  private async openSession(): Promise<IDBSQLSession> {
    const client = await this.connect();
    const started = Date.now();
    let pause = 500;
    let refreshed = false;
    for (;;) {
      try {
        return await client.openSession({ initialCatalog: this.target.catalog });
      } catch (error) {
        const status = httpStatus(error);
        if (status === 401 && !refreshed && this.lastToken) {
          refreshed = true;
          this.target.tokens.invalidate(this.lastToken);
          continue;
        }
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

  /** Starts a statement; a 401 on the way drops the token and starts it once more. */
  async execute(sql: string, maxRows: number): Promise<IOperation> {
    const session = await this.open();
    this.target.onQuery?.(sql);
    try {
      return await session.executeStatement(sql, { maxRows });
    } catch (error) {
      if (httpStatus(error) === 401 && this.lastToken) {
        this.target.tokens.invalidate(this.lastToken);
        try {
          return await session.executeStatement(sql, { maxRows });
        } catch (again) {
          throw translateWarehouse(again, this.target);
        }
      }
      throw translateWarehouse(error, this.target);
    }
  }

  /** Runs a statement whose result is small and returns its rows. */
  async query(sql: string): Promise<Array<Record<string, unknown>>> {
    const operation = await this.execute(sql, 1000);
    try {
      return (await operation.fetchAll()) as Array<Record<string, unknown>>;
    } catch (error) {
      throw translateWarehouse(error, this.target);
    } finally {
      await operation.close().catch(() => undefined);
    }
  }

  /**
   * The rows of a statement in batches of at most `maxRows`, each fetched
   * only when the previous one was taken (bounded memory). A 401 between
   * batches drops the token and repeats the fetch once.
   */
  async *batches(sql: string, maxRows: number): AsyncGenerator<Array<Record<string, unknown>>> {
    const operation = await this.execute(sql, maxRows);
    try {
      do {
        let chunk: object[];
        try {
          chunk = await operation.fetchChunk({ maxRows, disableBuffering: true });
        } catch (error) {
          if (httpStatus(error) !== 401 || !this.lastToken) throw error;
          this.target.tokens.invalidate(this.lastToken);
          chunk = await operation.fetchChunk({ maxRows, disableBuffering: true });
        }
        if (chunk.length > 0) yield chunk as Array<Record<string, unknown>>;
      } while (await operation.hasMoreRows());
    } catch (error) {
      throw translateWarehouse(error, this.target);
    } finally {
      await operation.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const { session, client } = this;
    this.session = undefined;
    this.opening = undefined;
    this.client = undefined;
    if (session) await session.close().catch(() => undefined);
    if (client) await client.close().catch(() => undefined);
  }
}
