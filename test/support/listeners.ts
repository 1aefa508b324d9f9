/**
 * TCP listeners on loopback that are not what a source should be, for tests
 * that point a source at them: one that records connections and stays silent,
 * one that speaks HTTP, one that sends random bytes, one that hangs up at once.
 * Each counts the connections it accepted.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

export type ListenerKind = 'silent' | 'http' | 'random-bytes' | 'hang-up';

export interface Listener {
  kind: ListenerKind;
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  stop(): Promise<void>;
}

/** Starts a listener of the given kind on 127.0.0.1. */
export async function startListener(kind: ListenerKind): Promise<Listener> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  };
  const server =
    kind === 'http'
      ? http.createServer((_req, res) => res.end('not a database\n'))
      : net.createServer((socket) => {
          if (kind === 'silent') socket.resume();
          if (kind === 'random-bytes') socket.end(randomBytes(512));
          if (kind === 'hang-up') socket.destroy();
        });
  server.on('connection', track);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    kind,
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
