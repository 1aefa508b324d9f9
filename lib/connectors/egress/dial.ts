import dns from 'node:dns/promises';
import https from 'node:https';
import net, { type LookupFunction } from 'node:net';
import type { Duplex } from 'node:stream';
import { AppError } from '../../errors.js';
import { unreachable } from '../failures.js';
import type { SourceHosts } from './source-hosts.js';

/** An address to dial, checked against SOURCE_ALLOWED_HOSTS. */
export interface CheckedAddress {
  address: string;
  family: 4 | 6;
}

/** SOURCE_NOT_ALLOWED: one message whatever the reason, so a refusal says nothing about how a name resolves. */
export function sourceNotAllowed(where: string, reason: string): AppError {
  return new AppError('SOURCE_NOT_ALLOWED', `Connections to the ${where} are not allowed: SOURCE_ALLOWED_HOSTS does not allow that host and port.`, {
    cause: new Error(reason),
  });
}

/**
 * Resolves `host` once and checks every address it has against the allowed
 * hosts; the caller then dials exactly the address returned (never the name
 * again, so a second DNS answer cannot differ from the one checked). A name
 * with any address that is not allowed is refused whole.
 */
export async function checkedAddress(hosts: SourceHosts, host: string, port: number, where: string): Promise<CheckedAddress> {
  const literal = host.replace(/^\[(.*)\]$/, '$1');
  let addresses: Array<{ address: string; family: number }>;
  if (net.isIP(literal)) addresses = [{ address: literal, family: net.isIP(literal) }];
  else {
    try {
      addresses = await dns.lookup(host, { all: true, verbatim: true });
    } catch (error) {
      throw unreachable(where, `host name lookup failed (${(error as NodeJS.ErrnoException).code ?? 'error'})`, error);
    }
  }
  const name = net.isIP(literal) ? undefined : host;
  for (const a of addresses) {
    if (!hosts.allows(name, a.address, port)) throw sourceNotAllowed(where, `${host} resolves to ${a.address}, which SOURCE_ALLOWED_HOSTS does not allow on port ${port}`);
  }
  const first = addresses[0];
  if (!first) throw unreachable(where, 'the host name has no address', undefined);
  return { address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** A `lookup` for node's sockets that answers one address already resolved and checked. */
export function fixedLookup({ address, family }: CheckedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as (e: null, a: CheckedAddress[]) => void)(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

/** A TCP connection to an address already checked; rejects on failure or abort. */
export function connectTcp(target: CheckedAddress, port: number, signal?: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: target.address, port, family: target.family });
    const onAbort = () => socket.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal?.removeEventListener('abort', onAbort);
      socket.removeListener('error', reject);
      resolve(socket);
    });
    socket.once('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
  });
}

/**
 * An HTTPS agent whose every connection is checked first: the request's host
 * is resolved once and checked with its port, and the socket dials exactly
 * that address through a fixed `lookup`, while TLS still verifies (and sends
 * as SNI) the host name. A refused host fails the request with
 * SOURCE_NOT_ALLOWED before any connection is made.
 */
export class CheckedHttpsAgent extends https.Agent {
  constructor(
    private readonly hosts: SourceHosts,
    private readonly where: string,
    options: https.AgentOptions = {},
  ) {
    super(options);
  }

  override createConnection(options: https.RequestOptions, callback?: (error: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const host = options.hostname ?? options.host ?? 'localhost';
    const port = Number(options.port ?? 443);
    checkedAddress(this.hosts, host, port, this.where).then(
      (target) => {
        let socket: Duplex | null | undefined;
        try {
          socket = super.createConnection({ ...options, lookup: fixedLookup(target) });
        } catch (error) {
          callback?.(error as Error, undefined as never);
          return;
        }
        if (socket) callback?.(null, socket);
      },
      (error: unknown) => callback?.(error as Error, undefined as never),
    );
    return undefined;
  }
}
