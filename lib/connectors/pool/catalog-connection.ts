import { isAppError } from '../../errors.js';
import type { CatalogPools, ConnectionFactory, Lease, SourceIdentity } from './catalog-pools.js';

/**
 * The one catalog connection of a connector, opened on first use: borrowed
 * from the metadata service's pools when the connector has them, otherwise
 * opened for the connector alone. Closing gives a borrowed connection back,
 * unless a statement failed on it (then it is closed: a connection whose state
 * is in doubt is never handed to another request). A login the source refuses
 * closes every pool of that user, so a rotated password takes effect at once.
 */
export class CatalogConnection<C> {
  private connection: C | undefined;
  private connecting: Promise<C> | undefined;
  private lease: Lease<C> | undefined;
  private failed = false;

  constructor(
    private readonly factory: ConnectionFactory<C>,
    private readonly pools: CatalogPools | undefined,
    private readonly identity: () => SourceIdentity,
  ) {}

  /** The open connection, opening or borrowing it on first use. */
  get(): Promise<C> {
    if (this.connection) return Promise.resolve(this.connection);
    this.connecting ??= this.open().then(
      (c) => (this.connection = c),
      (error: unknown) => {
        this.connecting = undefined;
        throw error;
      },
    );
    return this.connecting;
  }

  private async open(): Promise<C> {
    if (!this.pools) return this.factory.open();
    const identity = this.identity();
    try {
      this.lease = await this.pools.acquire(identity, this.factory);
    } catch (error) {
      if (isAppError(error) && error.code === 'SOURCE_AUTH_FAILED') await this.pools.evictAccount(identity);
      throw error;
    }
    return this.lease.connection;
  }

  /** A statement failed on the connection: it is closed rather than given back. */
  markFailed(): void {
    this.failed = true;
  }

  async close(): Promise<void> {
    // A connection still being opened is waited for, so that it is not left open.
    if (!this.connection && this.connecting) await this.connecting.catch(() => undefined);
    const { connection, lease, failed } = this;
    this.connection = undefined;
    this.connecting = undefined;
    this.lease = undefined;
    this.failed = false;
    if (lease) {
      if (failed) lease.discard();
      else lease.release();
    } else if (connection) await this.factory.destroy(connection).catch(() => undefined);
  }
}
