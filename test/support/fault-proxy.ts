/**
 * An HTTP fault proxy for the fault tests: it forwards every request to an
 * upstream (an OPAL double, a subgraph) unchanged, except those a rule picks,
 * which it answers with an error status without forwarding, or cuts (the
 * connection destroyed without an answer, as when the upstream restarts).
 * Rules count the requests they match, so "the second resource creation"
 * can fail while the first goes through.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { stopHttpServer } from './http-server.js';
import type { AddressInfo } from 'node:net';

/** What to do with the `nth` (1-based) request matching `method` and `path` (tested against the path with its query). */
export interface FaultRule {
  method?: string;
  path: RegExp;
  nth: number;
  /** An HTTP status answered instead of forwarding, or 'reset' to destroy the connection. */
  fault: number | 'reset';
}

export interface FaultProxy {
  /** The proxy's base URL: the upstream's, with the proxy's host and port. */
  readonly url: string;
  /** Requests seen (`METHOD path`), with the fault applied when there was one. */
  readonly log: string[];
  /** Adds a rule; its count starts now. */
  inject(rule: FaultRule): void;
  /** Drops every rule. */
  clear(): void;
  stop(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 in front of `upstream` (an http:// base URL). */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const rules: (FaultRule & { seen: number })[] = [];
  const log: string[] = [];

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const out = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  };

  const server = http.createServer((req, res) => {
    const line = `${req.method} ${req.url}`;
    const rule = rules.find((r) => (r.method === undefined || r.method === req.method) && r.path.test(req.url ?? '') && ++r.seen === r.nth);
    if (!rule) {
      log.push(line);
      forward(req, res);
      return;
    }
    log.push(`${line} → ${rule.fault}`);
    req.resume();
    if (rule.fault === 'reset') {
      req.socket.destroy();
      return;
    }
    res.writeHead(rule.fault, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: rule.fault, status: 'InjectedFault' }));
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  const base = new URL(upstream);
  base.host = `127.0.0.1:${port}`;

  return {
    url: base.toString().replace(/\/$/, ''),
    log,
    inject: (rule) => void rules.push({ ...rule, seen: 0 }),
    clear: () => void rules.splice(0),
    stop: () => stopHttpServer(server),
  };
}
