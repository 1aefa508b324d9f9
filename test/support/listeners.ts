/**
 * TCP listeners on loopback that are not what a source should be, for tests
 * that point a source at them: one that records connections and stays silent,
 * one that speaks HTTP, one that sends random bytes, one that hangs up at once,
 * one that starts a message and hangs up before its end. Each counts the
 * connections it accepted.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

export type ListenerKind = 'silent' | 'http' | 'random-bytes' | 'hang-up' | 'unfinished';

/**
 * What the 'unfinished' listener sends: a 16-byte TDS packet without its
 * end-of-message flag, then 4 bytes of the next packet's header; then it hangs
 * up. The one case of random bytes (about 1 in 300) that left tedious 19's
 * connect waiting for ever, past its own connect timeout.
 */
export const UNFINISHED_MESSAGE = Buffer.from('04000010000000000000000000000000' + '04000100', 'hex');

export interface Listener extends LoopbackServer {
  kind: ListenerKind;
}

/** A server listening on 127.0.0.1 that counts its connections and drops those left open when stopped. */
export interface LoopbackServer {
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  stop(): Promise<void>;
}

/** Starts `server` on a free loopback port, counting and tracking its connections. */
export async function listenOnLoopback(server: net.Server): Promise<LoopbackServer> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return connections;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Starts a listener of the given kind on 127.0.0.1. */
export async function startListener(kind: ListenerKind): Promise<Listener> {
  const server =
    kind === 'http'
      ? http.createServer((_req, res) => res.end('not a database\n'))
      : net.createServer((socket) => {
          if (kind === 'silent') socket.resume();
          if (kind === 'random-bytes') socket.end(randomBytes(512));
          if (kind === 'hang-up') socket.destroy();
          if (kind === 'unfinished') socket.end(UNFINISHED_MESSAGE);
        });
  const listening = await listenOnLoopback(server);
  return Object.assign(listening, { kind });
}
