/**
 * A least-recently-used cache with a time to live, bounded both in entries and
 * in bytes: its keys come from callers (secret names a request chose), so
 * neither many names nor large values can grow it without limit.
 */
export class BoundedCache<V> {
  private readonly entries = new Map<string, { value: V; bytes: number; expires: number }>();
  private bytes = 0;

  constructor(
    private readonly limits: { maxEntries: number; maxBytes: number; ttlMs: number },
    private readonly sizeOf: (key: string, value: V) => number,
  ) {}

  /** The live value of `key`, marking it most recently used; an expired entry is dropped. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.delete(key);
    if (entry.expires <= Date.now()) return undefined;
    this.entries.set(key, entry);
    this.bytes += entry.bytes;
    return entry.value;
  }

  /** Stores a value, evicting the least recently used entries beyond the limits; one larger than the whole cache is not kept. */
  set(key: string, value: V): void {
    this.delete(key);
    const bytes = this.sizeOf(key, value);
    if (bytes > this.limits.maxBytes) return;
    this.entries.set(key, { value, bytes, expires: Date.now() + this.limits.ttlMs });
    this.bytes += bytes;
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.limits.maxEntries && this.bytes <= this.limits.maxBytes) break;
      this.delete(oldest);
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }

  /** Entries held, live or not yet found expired (tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  /** Bytes held by the entries. */
  get byteSize(): number {
    return this.bytes;
  }
}
