/**
 * Load generation for `npm run bench:load`: closed-loop clients (autocannon,
 * each sending its next request once answered) or an open-loop pace (requests
 * at evenly spaced times, whatever the answers take).
 */
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { Pool } from 'undici';

/** The part of autocannon's API used here (it ships no types). */
interface AutocannonOptions {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body?: string;
  connections: number;
  duration: number;
  timeout: number;
  verifyBody: (body: string) => boolean;
  requests?: Array<{ setupRequest: (request: { body?: string }) => { body?: string } }>;
}
export interface AutocannonResult {
  errors: number;
  timeouts: number;
  non2xx: number;
  mismatches: number;
  duration: number;
  statusCodeStats: Record<string, { count: number }>;
}
interface AutocannonInstance extends EventEmitter {
  stop(): void;
}
type Autocannon = (options: AutocannonOptions, done: (error: Error | null, result: AutocannonResult) => void) => AutocannonInstance;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export interface Phase {
  label: string;
  url: string;
  key: string;
  body?: string;
  /** A fresh body per request (overrides `body`). */
  bodyFor?: () => string;
  /** Whether an answer is a success. */
  ok: (body: string) => boolean;
  connections: number;
  seconds: number;
  /** Requests per second across all clients; unset, each client sends its next request as soon as it has an answer. */
  rate?: number;
}

export function fire(phase: Phase, seconds: number, onResponse: (status: number, ms: number) => void, onBad: (body: string) => void): Promise<AutocannonResult> {
  if (phase.rate) return firePaced(phase, phase.rate, seconds, onResponse, onBad);
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: phase.url,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': phase.key },
        ...(phase.body !== undefined ? { body: phase.body } : {}),
        connections: phase.connections,
        duration: seconds,
        timeout: 60,
        verifyBody: (body) => {
          const good = phase.ok(body);
          if (!good) onBad(body);
          return good;
        },
        ...(phase.bodyFor ? { requests: [{ setupRequest: (request) => ({ ...request, body: phase.bodyFor!() }) }] } : {}),
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => onResponse(status, ms));
  });
}

/**
 * An open-loop load: requests start at evenly spaced times, `rate` per second,
 * over a pool of `phase.connections` keep-alive connections, whatever the
 * answers take (autocannon's own rate limit sends each second's requests in
 * one burst, which measures its bursts' queueing instead).
 */
async function firePaced(phase: Phase, rate: number, seconds: number, onResponse: (status: number, ms: number) => void, onBad: (body: string) => void): Promise<AutocannonResult> {
  const target = new URL(phase.url);
  const pool = new Pool(target.origin, { connections: phase.connections, pipelining: 1 });
  const result: AutocannonResult = { errors: 0, timeouts: 0, non2xx: 0, mismatches: 0, duration: seconds, statusCodeStats: {} };
  const inFlight = new Set<Promise<void>>();
  const one = async (): Promise<void> => {
    const started = process.hrtime.bigint();
    try {
      const res = await pool.request({
        path: target.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': phase.key },
        body: phase.bodyFor ? phase.bodyFor() : phase.body,
        headersTimeout: 60_000,
        bodyTimeout: 60_000,
      });
      const text = await res.body.text();
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const stats = (result.statusCodeStats[String(res.statusCode)] ??= { count: 0 });
      stats.count++;
      if (res.statusCode < 200 || res.statusCode > 299) result.non2xx++;
      if (!phase.ok(text)) {
        result.mismatches++;
        onBad(text);
      }
      onResponse(res.statusCode, ms);
    } catch (error) {
      result.errors++;
      if ((error as { code?: string }).code?.includes('TIMEOUT')) result.timeouts++;
    }
  };
  const start = performance.now();
  let sent = 0;
  const total = Math.round(rate * seconds);
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    for (; sent < due; sent++) {
      const p = one().finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(inFlight);
  result.duration = (performance.now() - start) / 1000;
  await pool.close();
  return result;
}
