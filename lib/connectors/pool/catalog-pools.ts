import { createHash, createHmac, randomBytes } from 'node:crypto';

/** The bounds of the metadata service's catalog connection pools (SOURCE_METADATA_POOL_* settings). */
export interface CatalogPoolSettings {
  /** Distinct source identities with a pool at once; the least recently used is closed beyond it. */
  poolsMax: number;
  /** Connections one pool holds at most (in use and idle); further requests wait for one. */
  connectionsPerPool: number;
  /** Milliseconds an idle connection is kept before it is closed. */
  idleMs: number;
}

/** Who a connection is logged in as, and where: what decides whether it may be handed to a request. */
export interface SourceIdentity {
  type: string;
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

/** How a pool opens and closes its connections: the connector's own, so every new connection is checked as any other. */
export interface ConnectionFactory<C> {
  open(): Promise<C>;
  destroy(connection: C): Promise<void>;
  /** Whether an idle connection can still be used (the server may have closed it meanwhile). */
  usable(connection: C): boolean;
}

/** A connection borrowed from a pool; give it back once with `release` (reusable) or `discard` (closed). */
export interface Lease<C> {
  readonly connection: C;
  release(): void;
  discard(): void;
}

interface Idle<C> {
  connection: C;
  timer: NodeJS.Timeout;
}

/**
 * The connections of one source identity: at most `connectionsPerPool` open,
 * idle ones closed after `idleMs`, requests beyond the bound queued in order.
 */
class ConnectionPool<C> {
  private readonly idle: Array<Idle<C>> = [];
  private readonly waiting: Array<{ resolve: (lease: Lease<C>) => void; reject: (error: unknown) => void }> = [];
  /** Connections open or opening, idle or in use. */
  private live = 0;
  private closed = false;

  constructor(
    private readonly settings: CatalogPoolSettings,
    private readonly factory: ConnectionFactory<C>,
    /** Called when the pool holds nothing any more (no connection, no waiter), so its registry may forget it. */
    private readonly onEmpty: () => void,
  ) {}

  get size(): number {
    return this.live;
  }

  acquire(): Promise<Lease<C>> {
    if (this.closed) return Promise.reject(new Error('the catalog pool is closed'));
    for (let idle = this.idle.pop(); idle; idle = this.idle.pop()) {
      clearTimeout(idle.timer);
      if (this.factory.usable(idle.connection)) return Promise.resolve(this.lease(idle.connection));
      this.live--;
      void this.factory.destroy(idle.connection).catch(() => undefined);
    }
    if (this.live < this.settings.connectionsPerPool) return this.create();
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private async create(): Promise<Lease<C>> {
    this.live++;
    try {
      return this.lease(await this.factory.open());
    } catch (error) {
      this.live--;
      // A waiter may now open a connection of its own (it will report its own failure).
      const next = this.waiting.shift();
      if (next) this.create().then(next.resolve, next.reject);
      else this.checkEmpty();
      throw error;
    }
  }

  private lease(connection: C): Lease<C> {
    let done = false;
    return {
      connection,
      release: () => {
        if (done) return;
        done = true;
        this.giveBack(connection);
      },
      discard: () => {
        if (done) return;
        done = true;
        this.drop(connection);
      },
    };
  }

  private giveBack(connection: C): void {
    if (this.closed) return this.drop(connection);
    const next = this.waiting.shift();
    if (next) return next.resolve(this.lease(connection));
    const timer = setTimeout(() => {
      const at = this.idle.findIndex((i) => i.connection === connection);
      if (at >= 0) this.idle.splice(at, 1);
      this.drop(connection);
    }, this.settings.idleMs);
    timer.unref();
    this.idle.push({ connection, timer });
  }

  private drop(connection: C): void {
    this.live--;
    void this.factory.destroy(connection).catch(() => undefined);
    const next = this.waiting.shift();
    if (next && !this.closed) this.create().then(next.resolve, next.reject);
    else this.checkEmpty();
  }

  private checkEmpty(): void {
    if (this.live === 0 && this.waiting.length === 0) this.onEmpty();
  }

  /** Closes the idle connections now and those in use when they come back; waiters fail. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(new Error('the catalog pool was closed'));
    const idle = this.idle.splice(0);
    this.live -= idle.length;
    await Promise.all(
      idle.map(async (i) => {
        clearTimeout(i.timer);
        await this.factory.destroy(i.connection).catch(() => undefined);
      }),
    );
  }
}

interface Entry {
  pool: ConnectionPool<unknown>;
  /** The identity without the password: which pools a failed login for the same user closes. */
  account: string;
}

/**
 * The metadata service's catalog connections, reused across requests: one
 * small pool per source identity (type, host, port, database, user and
 * password). Pools are found by an HMAC-SHA256 of the identity under a key
 * drawn at random per process (never logged), so no password, nor anything a
 * password could be guessed from offline, is held as a key; a connection is
 * only ever handed to a request with the very same identity. At most
 * `poolsMax` pools exist (the least recently used is closed beyond it), each
 * of at most `connectionsPerPool` connections, idle ones closed after
 * `idleMs`. A failed login closes every pool of that user on that database,
 * so a rotated password takes effect at once. Connections are opened by the
 * connector, exactly as an unpooled one (SOURCE_ALLOWED_HOSTS, TLS, password
 * policy); extraction never uses them.
 */
export class CatalogPools {
  /** The HMAC key, drawn per process; a private field, so not even `util.inspect` shows it. */
  readonly #key = randomBytes(32);
  /** In least recently used order: a Map keeps insertion order, and a use re-inserts. */
  private readonly pools = new Map<string, Entry>();
  private closed = false;

  constructor(readonly settings: CatalogPoolSettings) {}

  private digest(parts: readonly string[]): string {
    return createHmac('sha256', this.#key).update(parts.join('\u0000')).digest('base64url');
  }

  private keys(identity: SourceIdentity): { key: string; account: string } {
    const account = [identity.type, identity.host.toLowerCase(), String(identity.port), identity.database, identity.user];
    const password = createHash('sha256').update(identity.password).digest('base64url');
    return { key: this.digest([...account, password]), account: this.digest(account) };
  }

  /** Borrows a connection for `identity`, opening one with `factory` when none is idle. */
  async acquire<C>(identity: SourceIdentity, factory: ConnectionFactory<C>): Promise<Lease<C>> {
    if (this.closed) throw new Error('the catalog pools are closed');
    const { key, account } = this.keys(identity);
    let entry = this.pools.get(key);
    if (entry) this.pools.delete(key);
    else {
      const pool: ConnectionPool<unknown> = new ConnectionPool(this.settings, factory as ConnectionFactory<unknown>, () => {
        if (this.pools.get(key)?.pool === pool) this.pools.delete(key);
      });
      entry = { pool, account };
    }
    this.pools.set(key, entry);
    while (this.pools.size > this.settings.poolsMax) {
      const [oldest, least] = this.pools.entries().next().value as [string, Entry];
      this.pools.delete(oldest);
      void least.pool.close();
    }
    return (await entry.pool.acquire()) as Lease<C>;
  }

  /** Closes every pool of the identity's user on its database, whatever the password: after a failed login. */
  async evictAccount(identity: SourceIdentity): Promise<void> {
    const { account } = this.keys(identity);
    const closing: Array<Promise<void>> = [];
    for (const [key, entry] of [...this.pools]) {
      if (entry.account !== account) continue;
      this.pools.delete(key);
      closing.push(entry.pool.close());
    }
    await Promise.all(closing);
  }

  /** Pools and connections (open or opening) held now. */
  stats(): { pools: number; connections: number } {
    let connections = 0;
    for (const { pool } of this.pools.values()) connections += pool.size;
    return { pools: this.pools.size, connections };
  }

  /** Closes every pool (at shutdown); connections in use close when given back. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((e) => e.pool.close()));
  }
}
