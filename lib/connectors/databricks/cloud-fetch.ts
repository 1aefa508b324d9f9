/**
 * CloudFetch: results a warehouse leaves in cloud storage as files (an Arrow
 * IPC stream each, LZ4-frame compressed when asked), each reached by a
 * presigned HTTPS link that expires. The connector downloads them itself,
 * through an HTTPS agent it creates ({@link agentFor}: SOURCE_ALLOWED_HOSTS
 * checked on every connection), a few files ahead
 * ({@link CloudFetchOptions.concurrency}), in row order. A link that expired
 * before its download, or that storage refuses with 403, is replaced by a
 * fresh one for the same rows (FetchResults FETCH_ABSOLUTE at its
 * startRowOffset, as Databricks' ADBC driver does), once; @databricks/sql
 * 2.1.0's own CloudFetch fails with "CloudFetch link has expired" instead.
 */
import https from 'node:https';
import tls from 'node:tls';
import { AppError } from '../../errors.js';
import { CheckedHttpsAgent } from '../egress/dial.js';
import type { SourceHosts } from '../egress/source-hosts.js';
import { networkReason, unreachable } from '../failures.js';
import { arrowRows, lz4Decompress, ResultFormatError, unreadable, type ResultRow } from './rows.js';
import { int64, type TResultLink } from './thrift.js';

/** A CloudFetch link with its numbers read. */
export interface CloudFetchLink {
  url: string;
  expiresAt: number;
  startRow: number;
  rowCount: number;
  bytes: number;
  headers: Record<string, string>;
}

export function linkOf(link: TResultLink): CloudFetchLink {
  return {
    url: link.fileLink,
    expiresAt: int64(link.expiryTime),
    startRow: int64(link.startRowOffset),
    rowCount: int64(link.rowCount),
    bytes: int64(link.bytesNum),
    headers: { ...(link.httpHeaders ?? {}) },
  };
}

export interface StorageAgentOptions {
  /** SOURCE_ALLOWED_HOSTS: a link's host and port are checked on the address dialled, as a source's are. */
  hosts: SourceHosts;
  /** Extra CA certificates (PEM) trusted beside Node's roots. */
  tlsCa?: string | undefined;
  /** Sockets kept per storage host: the download concurrency. */
  maxSockets: number;
}

/**
 * The HTTPS agent every CloudFetch download of a source goes through, the one
 * place where the connector decides how storage hosts are dialled. The links
 * come from the warehouse, a server the request named, so each connection is
 * checked against SOURCE_ALLOWED_HOSTS on the address it dials: a link to a
 * host or port not allowed is refused (SOURCE_NOT_ALLOWED) before any
 * connection is made.
 */
export function agentFor(source: { where: string }, options: StorageAgentOptions): https.Agent {
  return new CheckedHttpsAgent(options.hosts, `cloud storage of the ${source.where}`, {
    keepAlive: true,
    maxSockets: options.maxSockets,
    minVersion: 'TLSv1.2',
    ...(options.tlsCa ? { ca: [...tls.rootCertificates, options.tlsCa] } : {}),
  });
}

export interface CloudFetchOptions {
  agent: https.Agent;
  where: string;
  timeoutMs: number;
  /** Files downloaded ahead at once (each held whole until read). */
  concurrency: number;
  /** Whether the files are LZ4 frames (TGetResultSetMetadataResp.lz4Compressed). */
  lz4: boolean;
  /** At most this many rows become values at a time. */
  maxRows: number;
  /** A fresh link for the file whose rows start at this offset, or undefined. */
  refresh: (startRow: number) => Promise<CloudFetchLink | undefined>;
}

/** Attempts for a download failing with 5xx or a network error. */
const ATTEMPTS = 3;
/** A link this close to expiry is replaced before it is used. */
const EXPIRY_MARGIN_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Which file, for messages: its rows and storage host, never the signed URL. */
function describe(link: CloudFetchLink): string {
  let host = 'cloud storage';
  try {
    host = new URL(link.url).host;
  } catch {
    // An unparsable link is named by its rows alone.
  }
  return `the CloudFetch file of rows ${link.startRow}–${link.startRow + link.rowCount - 1} (from ${host})`;
}

interface Answer {
  status: number;
  body: Buffer;
  complete: boolean;
}

function get(link: CloudFetchLink, options: CloudFetchOptions, signal: AbortSignal): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(link.url, { method: 'GET', headers: link.headers, agent: options.agent, timeout: options.timeoutMs, signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), complete: res.complete }));
      res.on('error', (error) => (res.statusCode === 200 ? resolve({ status: 200, body: Buffer.concat(chunks), complete: false }) : reject(error)));
      res.on('aborted', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), complete: false }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('download timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
}

/** One file's bytes, decompressed: expiry checked first, 403 answered with a fresh link once, 5xx and network errors retried. */
export async function download(first: CloudFetchLink, options: CloudFetchOptions, signal: AbortSignal): Promise<Buffer> {
  let link = first;
  let refreshed = false;
  const renew = async (why: string) => {
    const fresh = refreshed ? undefined : await options.refresh(link.startRow);
    if (!fresh) throw new AppError('SOURCE_QUERY_FAILED', `Downloading ${describe(link)} for the ${options.where} failed: ${why}${refreshed ? ', again with a fresh link' : ''}. Retry; if it keeps failing, set SOURCE_DATABRICKS_CLOUD_FETCH=false.`);
    refreshed = true;
    link = fresh;
  };
  for (let attempt = 1; ; attempt++) {
    if (Date.now() >= link.expiresAt - EXPIRY_MARGIN_MS) {
      await renew('its link expired before it could be used');
      continue;
    }
    let answer: Answer;
    try {
      answer = await get(link, options, signal);
    } catch (error) {
      // A refusal of ours (SOURCE_ALLOWED_HOSTS) is final: no retry, and nothing was dialled.
      if (signal.aborted || error instanceof AppError) throw error;
      const reason = networkReason(error) ?? (error as Error).message;
      if (attempt < ATTEMPTS) {
        await sleep(200 * attempt);
        continue;
      }
      // Reads the same whatever is on the port; the reason goes to the log.
      throw unreachable(`${describe(link)} for the ${options.where}`, `${reason} (${ATTEMPTS} attempts)`, error);
    }
    if (answer.status === 403) {
      await renew('cloud storage refused its link (HTTP 403: expired or not signed for this file)');
      continue;
    }
    if (answer.status >= 500 && attempt < ATTEMPTS) {
      await sleep(200 * attempt);
      continue;
    }
    if (answer.status !== 200) {
      throw new AppError('SOURCE_UNREACHABLE', `Downloading ${describe(link)} for the ${options.where} failed: cloud storage answered HTTP ${answer.status}${answer.status >= 500 ? ` (${ATTEMPTS} attempts)` : ''}.`);
    }
    if (!answer.complete || (link.bytes > 0 && answer.body.length !== link.bytes)) {
      throw new AppError('SOURCE_QUERY_FAILED', `Downloading ${describe(link)} for the ${options.where} failed: the file was cut short (${answer.body.length} of ${link.bytes} bytes).`);
    }
    return answer.body;
  }
}

/**
 * The rows of a CloudFetch result, in row order, at most `maxRows` at a time.
 * `links` yields the links as the warehouse hands them out (page by page);
 * up to `concurrency` files are downloaded ahead while one is read.
 */
export async function* cloudFetchRows(links: AsyncIterator<CloudFetchLink>, options: CloudFetchOptions): AsyncGenerator<ResultRow[]> {
  const abort = new AbortController();
  const pending: Array<{ link: CloudFetchLink; body: Promise<Buffer> }> = [];
  let exhausted = false;
  const fill = async () => {
    while (!exhausted && pending.length < options.concurrency) {
      const next = await links.next();
      if (next.done) {
        exhausted = true;
        return;
      }
      const body = download(next.value, options, abort.signal);
      // Settled later, in order; a failure must not surface as an unhandled rejection meanwhile.
      body.catch(() => undefined);
      pending.push({ link: next.value, body });
    }
  };
  try {
    for (;;) {
      await fill();
      const file = pending.shift();
      if (!file) return;
      const bytes = await file.body;
      await fill();
      const what = describe(file.link);
      try {
        yield* arrowRows(options.lz4 ? lz4Decompress(bytes, what) : bytes, options.maxRows, what);
      } catch (error) {
        if (error instanceof ResultFormatError) throw unreadable(options.where, error);
        throw error;
      }
    }
  } finally {
    abort.abort();
  }
}
