/**
 * A cloud-storage double for CloudFetch: a second HTTPS server on loopback
 * that serves result files by presigned URL, as Azure Blob Storage / S3 do
 * for a SQL warehouse's results. A URL is `/results/<file>?se=<expiry
 * ms>&sig=<HMAC of file and expiry>`; a wrong signature or an expired one is
 * refused with 403 and an Azure-style `AuthenticationFailed` body. A file can
 * be told to fail: 500 every time, a body cut short, or bytes that are not
 * the promised LZ4 frame. Every request is recorded, and every connection
 * counted (a link the publisher may not dial must make none).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { stopHttpServer } from '../http-server.js';
import type { DoubleTls } from './tls.js';

/** How a file fails when downloaded. */
export type FileFault = 'server-error' | 'truncated' | 'garbage';

export interface StorageRequest {
  file: string;
  status: number;
  bytes: number;
}

export class StorageDouble {
  readonly requests: StorageRequest[] = [];
  readonly faults = new Map<string, FileFault>();
  /** TCP connections accepted since the start, TLS or not. */
  connections = 0;
  private readonly files = new Map<string, () => Buffer>();
  private readonly key = randomBytes(32);
  private server: https.Server | undefined;
  origin = '';

  async start(tls: DoubleTls): Promise<this> {
    this.server = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      const url = new URL(req.url ?? '/', this.origin);
      const file = /^\/results\/([\w-]+)$/.exec(url.pathname)?.[1] ?? '';
      const record: StorageRequest = { file, status: 0, bytes: 0 };
      this.requests.push(record);
      const refuse = (status: number, code: string, message: string) => {
        record.status = status;
        res.writeHead(status, { 'content-type': 'application/xml' }).end(`<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
      };
      if (req.method !== 'GET' || !this.files.has(file)) return refuse(404, 'BlobNotFound', 'The specified blob does not exist.');
      const se = url.searchParams.get('se') ?? '';
      const sig = Buffer.from(url.searchParams.get('sig') ?? '', 'hex');
      const expected = this.signature(file, se);
      if (sig.length !== expected.length || !timingSafeEqual(sig, expected)) return refuse(403, 'AuthenticationFailed', 'Server failed to authenticate the request. Signature did not match.');
      if (!(Date.now() < Number(se))) return refuse(403, 'AuthenticationFailed', 'Server failed to authenticate the request. Signed expiry time has passed.');
      const fault = this.faults.get(file);
      if (fault === 'server-error') return refuse(500, 'InternalError', 'The server encountered an internal error.');
      const body = this.files.get(file)!();
      record.status = 200;
      if (fault === 'truncated') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
        res.write(body.subarray(0, body.length >> 1), () => res.destroy());
        record.bytes = body.length >> 1;
        return;
      }
      const sent = fault === 'garbage' ? Buffer.alloc(body.length, 0x5a) : body;
      record.bytes = sent.length;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(sent.length) }).end(sent);
    });
    this.server.on('connection', () => void (this.connections += 1));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.origin = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  private signature(file: string, expiry: string): Buffer {
    return createHmac('sha256', this.key).update(`${file}\n${expiry}`).digest();
  }

  /** Makes a file downloadable; its bytes are made when it is downloaded. */
  put(file: string, body: () => Buffer): void {
    this.files.set(file, body);
  }

  /** A presigned URL for a file that storage honours until `expiresAt` (ms since the epoch). */
  link(file: string, expiresAt: number): string {
    return `${this.origin}/results/${file}?se=${expiresAt}&sig=${this.signature(file, String(expiresAt)).toString('hex')}`;
  }

  async close(): Promise<void> {
    if (this.server) await stopHttpServer(this.server);
  }
}
