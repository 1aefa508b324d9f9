/**
 * HTTP/1.1 on raw sockets, for what `fetch` cannot send: requests that stall,
 * trickle, never end, or are answered before they are sent whole.
 */
import net from 'node:net';

/** The first response read from a connection, and when the server closed it. */
export interface RawAnswer {
  /** 0 when nothing (or no whole response head) came back. */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Every byte received. */
  raw: string;
  /** Milliseconds from the connection's opening to its closing by the server; null if still open when the wait ended. */
  closedAfterMs: number | null;
}

/** A step of a raw exchange: bytes to write, or a pause in milliseconds. */
export type Step = string | Buffer | number;

/** An open connection that keeps doing what it was told until the server closes it or {@link Stalled.stop} is called. */
export interface Stalled {
  /** Resolves with the answer once the server has closed the connection. */
  closed: Promise<RawAnswer>;
  /** Whether the server has closed it. */
  isClosed(): boolean;
  stop(): void;
}

function portOf(base: string): number {
  return Number(new URL(base).port);
}

/** Reads the first response out of `raw` (its body by Content-Length, or whatever follows the head). */
export function parseAnswer(raw: string, closedAfterMs: number | null): RawAnswer {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return { status: 0, headers: {}, body: '', raw, closedAfterMs };
  const [statusLine, ...lines] = raw.slice(0, end).split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  const length = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
  const body = raw.slice(end + 4, length === undefined ? undefined : end + 4 + length);
  return { status: Number(statusLine!.split(' ')[1]), headers, body, raw, closedAfterMs };
}

/**
 * Opens a connection, writes `steps` in order (pausing where a step is a
 * number), and collects what comes back until the server closes the
 * connection or `waitMs` after the last step.
 */
export async function exchange(base: string, steps: Step[], waitMs = 5000): Promise<RawAnswer> {
  const socket = net.connect(portOf(base), '127.0.0.1');
  const started = performance.now();
  const chunks: Buffer[] = [];
  let closedAfterMs: number | null = null;
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) =>
    socket.on('close', () => {
      closedAfterMs = performance.now() - started;
      resolve();
    }),
  );
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  for (const step of steps) {
    if (closedAfterMs !== null) break;
    if (typeof step === 'number') await new Promise((r) => setTimeout(r, step));
    else socket.write(step);
  }
  await Promise.race([closed, new Promise((r) => setTimeout(r, waitMs))]);
  socket.destroy();
  return parseAnswer(Buffer.concat(chunks).toString('latin1'), closedAfterMs);
}

/**
 * Opens a connection that writes `first`, then `next` every `everyMs` for as
 * long as it stays open (`next` empty: nothing more). It reads what the server
 * sends, so the server's closing is seen at once.
 */
export function stall(base: string, first: string, next = '', everyMs = 100): Stalled {
  const socket = net.connect(portOf(base), '127.0.0.1');
  const started = performance.now();
  const chunks: Buffer[] = [];
  let timer: NodeJS.Timeout | undefined;
  let isClosed = false;
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => undefined);
  socket.once('connect', () => {
    socket.write(first);
    if (next) timer = setInterval(() => socket.writable && socket.write(next), everyMs);
  });
  const closed = new Promise<RawAnswer>((resolve) =>
    socket.on('close', () => {
      isClosed = true;
      clearInterval(timer);
      resolve(parseAnswer(Buffer.concat(chunks).toString('latin1'), performance.now() - started));
    }),
  );
  return {
    closed,
    isClosed: () => isClosed,
    stop: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

/** How long `GET /healthz` takes to answer 200 on `base`, in ms. */
export async function healthzMs(base: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(`${base}/healthz`);
  await res.text();
  if (res.status !== 200) throw new Error(`/healthz answered ${res.status}`);
  return performance.now() - started;
}

/** The start of a POST with the given headers (`Content-Length` or chunked is the caller's to give). */
export function postHead(path: string, headers: Record<string, string>): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}
