import type { Fetcher, FetcherRequestInit, FetcherResponse } from '@apollo/utils.fetcher';
import { Agent, request } from 'undici';

/**
 * How the gateway sends its HTTP requests to the subgraphs: undici's `request`
 * over a keep-alive connection pool, the body read whole (a subgraph answers
 * one JSON document). The gateway's default fetcher (make-fetch-happen over
 * node-fetch) and even WHATWG `fetch` spend more CPU per call than the
 * subgraph spends answering it; this path is most of the gateway's own cost.
 *
 * No timeout of its own (undici's default would cut a call at 300 s): a package
 * may rightly run for an hour, and the publish service bounds it with its own
 * deadline (PACKAGE_DEADLINE_MS).
 *
 * An idle connection is kept for half the services' keep-alive timeout
 * (`keepAliveMs`, HTTP_KEEP_ALIVE_TIMEOUT_MS), at most 30 s, and never longer
 * than the subgraph's own `Keep-Alive: timeout=` less 2 s: the gateway closes
 * an idle connection before the subgraph does, so it never sends a call on a
 * connection the subgraph is closing.
 */
export function subgraphFetcher(keepAliveMs: number): Fetcher & { close(): Promise<void> } {
  const idle = Math.max(1, Math.min(30_000, Math.floor(keepAliveMs / 2)));
  const agent = new Agent({ keepAliveTimeout: idle, keepAliveMaxTimeout: idle, keepAliveTimeoutThreshold: 2000, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 });
  const fetcher = async (url: string, init: FetcherRequestInit = {}): Promise<FetcherResponse> => {
    const res = await request(url, {
      dispatcher: agent,
      method: (init.method ?? 'GET') as 'GET' | 'POST',
      headers: init.headers,
      body: init.body,
      signal: init.signal,
    });
    const body = await res.body.text();
    const headers = new Headers();
    for (const [name, value] of Object.entries(res.headers)) {
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else if (value !== undefined) headers.set(name, value);
    }
    return bufferedResponse(url, res.statusCode, headers, body);
  };
  return Object.assign(fetcher, { close: () => agent.close() });
}

function bufferedResponse(url: string, status: number, headers: Headers, body: string): FetcherResponse {
  return {
    bodyUsed: false,
    url,
    redirected: false,
    status,
    ok: status >= 200 && status < 300,
    statusText: '',
    headers,
    text: async () => body,
    json: async () => JSON.parse(body) as unknown,
    arrayBuffer: async () => new TextEncoder().encode(body).buffer as ArrayBuffer,
    clone: () => bufferedResponse(url, status, headers, body),
  };
}
