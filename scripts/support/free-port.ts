import { readFileSync } from 'node:fs';
import net from 'node:net';

/** The lowest port of the kernel's ephemeral range, where outgoing connections take their local ports; 32768 where it cannot be read (Linux's default). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32768;
  } catch {
    return 32768;
  }
}

/** Ports below the ephemeral range that {@link freePort} draws from. */
const FLOOR = 10000;

/**
 * The ports from {@link FLOOR} up that fetch refuses to connect to (the Fetch
 * standard's "bad ports"; Node's fetch fails with "bad port"): a service given
 * one could never answer a health check (seen: a benchmark drew 10080).
 */
export const FETCH_BAD_PORTS: ReadonlySet<number> = new Set([10080]);

function tryListen(port: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' || error.code === 'EACCES' ? resolve(null) : reject(error)));
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as net.AddressInfo;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * A loopback port nobody listens on right now (for the demo, benchmarks and
 * tests, which hand it to a service that binds it a moment later). Drawn at
 * random below the kernel's ephemeral range and checked by listening on it:
 * a port the kernel hands out for `listen(0)` lies in that range, where any
 * outgoing connection (to a database, to another service) may take it as its
 * local port before the service binds it, and the service then fails with
 * EADDRINUSE (seen in CI). Never one of {@link FETCH_BAD_PORTS}. Falls back
 * to the kernel's choice when no port below the range is free after a few
 * draws. `random`: the draw (tests fix it).
 */
export async function freePort(random: () => number = Math.random): Promise<number> {
  const low = ephemeralLow();
  if (low - FLOOR >= 1000) {
    for (let attempt = 0; attempt < 20; attempt++) {
      const drawn = FLOOR + Math.floor(random() * (low - FLOOR));
      if (FETCH_BAD_PORTS.has(drawn)) continue;
      const port = await tryListen(drawn);
      if (port !== null) return port;
    }
  }
  const port = await tryListen(0);
  if (port === null) throw new Error('no free loopback port');
  return port;
}
