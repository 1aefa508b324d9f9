import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { Transform, type TransformCallback, type Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { IO_BLOCK, type FileDigest } from '../digest.js';

/** Counts and hashes the bytes passing through. */
class DigestStream extends Transform {
  readonly hash: Hash = createHash('sha512');
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }
}

export interface FileSinkOptions {
  /** gzip the bytes at this level; null writes them as they are. */
  gzipLevel?: number | null;
  /** Hash the bytes that reach the file (after compression). Default true. */
  digest?: boolean;
  /** Flush the file to disk (fsync) before close resolves. Default true; temporary files skip it. */
  durable?: boolean;
}

/**
 * A new file written with backpressure: bytes go through gzip (optional), then
 * a SHA-512 tee, then to disk. The file is created exclusively (O_CREAT|O_EXCL:
 * never over an existing entry, never through a symbolic link, even a dangling
 * one) and, unless it is a temporary one, flushed to disk (fsync) before
 * {@link close} resolves.
 */
export class FileSink {
  private readonly head: Writable;
  private readonly out: Writable;
  private readonly done: Promise<void>;
  private readonly digestStream: DigestStream | undefined;
  private readonly inlineHash: Hash | undefined;
  private inlineBytes = 0;
  private failure: unknown;
  /** Bytes handed to {@link write} (before compression). */
  written = 0;
  /** Resolves once the file exists (the stream creates it asynchronously, just after construction); rejects if it could not be created. */
  readonly created: Promise<void>;

  constructor(readonly file: string, options: FileSinkOptions = {}) {
    const out = createWriteStream(file, { flags: 'wx', flush: options.durable ?? true, highWaterMark: IO_BLOCK });
    this.out = out;
    const wantDigest = options.digest ?? true;
    if (options.gzipLevel != null) {
      const gzip = createGzip({ level: options.gzipLevel, chunkSize: 256 * 1024 });
      this.digestStream = wantDigest ? new DigestStream() : undefined;
      this.head = gzip;
      this.done = this.digestStream ? pipeline(gzip, this.digestStream, out) : pipeline(gzip, out);
    } else {
      // Uncompressed: hash in write() itself, one stream hop fewer.
      this.inlineHash = wantDigest ? createHash('sha512') : undefined;
      this.head = out;
      this.done = finished(out);
    }
    this.done.catch((error: unknown) => {
      this.failure ??= error;
    });
    this.created = new Promise<void>((resolve, reject) => {
      out.once('ready', () => resolve());
      this.done.then(() => resolve(), reject);
    });
    this.created.catch(() => undefined);
  }

  /** Writes a chunk; resolves when the chunk may be followed by more (backpressure). */
  async write(chunk: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (chunk.length === 0) return;
    this.written += chunk.length;
    if (this.inlineHash) {
      this.inlineHash.update(chunk);
      this.inlineBytes += chunk.length;
    }
    if (!this.head.write(chunk)) await Promise.race([once(this.head, 'drain'), this.done]);
    if (this.failure) throw this.failure;
  }

  /** Ends the file, waits until it is on disk, and answers its size and SHA-512. */
  async close(): Promise<FileDigest> {
    if (this.failure) throw this.failure;
    this.head.end();
    await this.done;
    if (this.digestStream) return { bytes: this.digestStream.bytes, sha512: this.digestStream.hash.digest('hex') };
    if (this.inlineHash) return { bytes: this.inlineBytes, sha512: this.inlineHash.digest('hex') };
    return { bytes: this.written, sha512: '' };
  }

  /** Stops writing after a failure; the caller removes the file. */
  async abort(): Promise<void> {
    const closed = this.out.closed ? Promise.resolve() : once(this.out, 'close').then(() => undefined, () => undefined);
    this.head.destroy();
    this.out.destroy();
    await this.done.catch(() => undefined);
    await closed;
  }
}
