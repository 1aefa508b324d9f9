import type { FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, type Registry } from 'prom-client';
import { readSettings } from '../../config/env.js';
import { connectionLimitSettings } from '../../config/settings/index.js';

/** How long each phase of a connection may take, and how many connections a service holds. */
export interface ConnectionLimits {
  /** From a request's first byte (or the connection's opening) to the end of its headers. */
  headersTimeoutMs: number;
  /** From the end of the headers to the end of the body (counted from the request's first byte, with the headers' time). */
  bodyTimeoutMs: number;
  /** How long an idle keep-alive connection stays open after an answer. */
  keepAliveTimeoutMs: number;
  /** Open connections per service; more are closed as soon as they are accepted. */
  maxConnections: number;
}

/** Reads the limits from the environment; a bad value throws a ConfigError naming the variable. */
export function readConnectionLimits(env?: NodeJS.ProcessEnv): ConnectionLimits {
  const s = readSettings(connectionLimitSettings, env);
  return { headersTimeoutMs: s.HTTP_HEADERS_TIMEOUT_MS, bodyTimeoutMs: s.HTTP_BODY_TIMEOUT_MS, keepAliveTimeoutMs: s.HTTP_KEEP_ALIVE_TIMEOUT_MS, maxConnections: s.HTTP_MAX_CONNECTIONS };
}

/**
 * The Fastify (Node HTTP server) options that bound the request side of a
 * connection. Node checks every open connection's headers and request
 * deadlines each `connectionsCheckingInterval` (30 s by default, which let a
 * stalled connection live up to 90 s with the 60 s default headers timeout);
 * here a tenth of the shorter deadline, at most 1 s. Node's `requestTimeout`
 * stops once a request is received, so an answer may still take as long as
 * the work does (a package up to PACKAGE_DEADLINE_MS); there is no idle
 * timeout on a connection waiting for its answer.
 */
export function serverTimeouts(limits: ConnectionLimits): Pick<FastifyServerOptions, 'requestTimeout' | 'keepAliveTimeout' | 'connectionTimeout'> & {
  http: { headersTimeout: number; requestTimeout: number; connectionsCheckingInterval: number };
} {
  const requestTimeout = limits.headersTimeoutMs + limits.bodyTimeoutMs;
  const interval = Math.min(1000, Math.max(20, Math.floor(Math.min(limits.headersTimeoutMs, limits.bodyTimeoutMs) / 10)));
  return {
    requestTimeout,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: 0,
    http: { headersTimeout: limits.headersTimeoutMs, requestTimeout, connectionsCheckingInterval: interval },
  };
}

/** Options of {@link connectionCap}. */
export interface ConnectionCapOptions {
  maxConnections: number;
  registry: Registry;
}

/**
 * Caps the open connections (`server.maxConnections`): one over the cap is
 * closed as soon as it is accepted, before anything is read, and counted in
 * `cr8tor_http_connections_dropped_total`.
 */
export const connectionCap = fp<ConnectionCapOptions>(
  async (app, options) => {
    app.server.maxConnections = options.maxConnections;
    const dropped = new Counter({
      name: 'cr8tor_http_connections_dropped_total',
      help: 'Connections closed on arrival because the service held HTTP_MAX_CONNECTIONS already.',
      registers: [options.registry],
    });
    app.server.on('drop', () => dropped.inc());
  },
  { name: 'cr8tor-connection-cap' },
);
