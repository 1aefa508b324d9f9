import type pg from 'pg';
import type { Logger } from '../../logging/logger.js';
import type { PlatformStore } from '../../store/store.js';
import { JOBS_CHANNEL, type JobNotification } from './rows.js';

/** How long to wait before connecting again after the listening connection was lost. */
const RECONNECT_MS = 1_000;

/**
 * One connection of the store's pool, held for LISTEN on the jobs channel:
 * every notification of the jobs table's trigger is passed to `onNotification`.
 * A lost connection is replaced (every {@link RECONNECT_MS} until it works) and
 * LISTENs again; `onReconnect` then lets the engine look at what it may have
 * missed meanwhile (its heartbeat and polling cover it anyway).
 */
export class JobListener {
  private client: pg.PoolClient | undefined;
  /** Gives the current connection back (destroyed: it LISTENed). */
  private release: (() => void) | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: PlatformStore,
    private readonly log: Logger,
    private readonly onNotification: (n: JobNotification) => void,
    private readonly onReconnect: () => void,
  ) {}

  /** Connects and LISTENs; the first failure is thrown (the engine does not start without it). */
  async start(): Promise<void> {
    await this.connect();
  }

  /** Whether the connection is up (for tests and readiness). */
  get listening(): boolean {
    return this.client !== undefined;
  }

  private async connect(): Promise<void> {
    const client = await this.store.pool.connect();
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (this.client === client) [this.client, this.release] = [undefined, undefined];
      client.removeListener('notification', onMessage);
      client.release(error ?? true);
      if (this.closed) return;
      this.log.warn({ err: error ? { message: error.message } : undefined }, 'jobs: lost the LISTEN connection to the platform database; connecting again');
      this.schedule();
    };
    const onMessage = (message: pg.Notification) => {
      if (message.channel !== JOBS_CHANNEL || !message.payload) return;
      try {
        this.onNotification(JSON.parse(message.payload) as JobNotification);
      } catch (error) {
        this.log.warn({ err: { message: (error as Error).message } }, 'jobs: unreadable notification');
      }
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', onMessage);
    try {
      await client.query(`LISTEN "${JOBS_CHANNEL}"`);
    } catch (error) {
      onLost(error as Error);
      throw error;
    }
    if (this.closed) {
      onLost();
      return;
    }
    [this.client, this.release] = [client, () => onLost()];
  }

  private schedule(): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.connect().then(
        () => this.onReconnect(),
        () => this.schedule(),
      );
    }, RECONNECT_MS);
    this.retry.unref();
  }

  /** Stops listening and gives the connection back to the pool. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    const release = this.release;
    // Released destroyed (release(true) in onLost): a connection that LISTENed is not handed to anyone else.
    release?.();
  }
}
