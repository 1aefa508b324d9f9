/**
 * Loaded into a service process under test (`NODE_OPTIONS=--import tsx --import <this file>`):
 * the process may connect to loopback only. It plays the part of a hosts file
 * and a firewall, outside the code under test:
 * - names in CR8TOR_TEST_HOSTS (`name=address,…`) resolve to their address
 *   (a vault's `*.vault.azure.net` name to the double on 127.0.0.1); every other
 *   name but `localhost` fails to resolve, so no query leaves the machine;
 * - a connection to anything but loopback (the managed-identity endpoint
 *   169.254.169.254, login.microsoftonline.com, …) is refused before a packet is sent.
 * Every lookup and connection is appended, one line each, to the file
 * CR8TOR_TEST_OUTBOUND_LOG (`lookup <name> -> <address|refused>`,
 * `connect <host>:<port> <allowed|refused>`), for the test to assert on.
 */
import { appendFileSync } from 'node:fs';
import dns from 'node:dns';
import net from 'node:net';

const logFile = process.env.CR8TOR_TEST_OUTBOUND_LOG;
const hosts = new Map(
  (process.env.CR8TOR_TEST_HOSTS ?? '')
    .split(',')
    .filter((entry) => entry.includes('='))
    .map((entry) => entry.split('=', 2) as [string, string]),
);
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function record(line: string): void {
  if (logFile) appendFileSync(logFile, `${line}\n`);
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address?: string | dns.LookupAddress[], family?: number) => void;

const realLookup = dns.lookup;
function guardedLookup(hostname: string, options: unknown, callback?: unknown): void {
  const cb = (typeof options === 'function' ? options : callback) as LookupCallback;
  const opts = (typeof options === 'object' && options !== null ? options : {}) as dns.LookupOptions;
  const mapped = hosts.get(hostname.toLowerCase());
  if (mapped !== undefined) {
    record(`lookup ${hostname} -> ${mapped}`);
    const family = net.isIP(mapped);
    process.nextTick(() => (opts.all ? cb(null, [{ address: mapped, family }]) : cb(null, mapped, family)));
    return;
  }
  if (net.isIP(hostname) !== 0 || hostname === 'localhost') {
    (realLookup as (...args: unknown[]) => void)(hostname, options, callback);
    return;
  }
  record(`lookup ${hostname} -> refused`);
  const error: NodeJS.ErrnoException = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname} (outbound-guard: only loopback is reachable in this test)`), { code: 'ENOTFOUND', hostname });
  process.nextTick(() => cb(error));
}
(dns as { lookup: unknown }).lookup = guardedLookup;

const realConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
  const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
  let host: string | undefined;
  let port: unknown;
  if (typeof first === 'object' && first !== null) {
    const o = first as { host?: string | null; port?: unknown; path?: unknown };
    // A local (Unix) socket: a path and no port. (An HTTP request's options carry `path: null`.)
    if (typeof o.path === 'string' && (o.port === undefined || o.port === null)) return (realConnect as (...a: unknown[]) => net.Socket).apply(this, args);
    host = o.host ?? 'localhost';
    port = o.port;
  } else {
    port = first;
    host = typeof args[1] === 'string' ? args[1] : 'localhost';
  }
  const name = host.replace(/^\[|\]$/g, '').toLowerCase();
  const allowed = LOOPBACK.has(name) || hosts.has(name);
  record(`connect ${host}:${String(port)} ${allowed ? 'allowed' : 'refused'}`);
  if (!allowed) {
    process.nextTick(() => this.destroy(Object.assign(new Error(`connect ECONNREFUSED ${host}:${String(port)} (outbound-guard: only loopback is reachable in this test)`), { code: 'ECONNREFUSED' })));
    return this;
  }
  return (realConnect as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof net.Socket.prototype.connect;
