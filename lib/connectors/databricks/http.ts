import https from 'node:https';

/** An HTTPS answer: status and body text. */
export interface HttpAnswer {
  status: number;
  text: string;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: string;
  /** The agent every connection goes through: it checks SOURCE_ALLOWED_HOSTS and carries the trusted CAs. */
  agent: https.Agent;
  timeoutMs: number;
}

/**
 * One HTTPS request with node's own client through the connector's agent (Node's
 * global fetch cannot take one without undici). A network failure rejects with
 * the socket's error (its `code` names it).
 */
export function httpsRequest(request: HttpRequest): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      request.url,
      {
        method: request.method,
        headers: { ...request.headers, ...(request.body !== undefined ? { 'content-length': String(Buffer.byteLength(request.body)) } : {}) },
        agent: request.agent,
        timeout: request.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(request.body);
  });
}

/** The JSON body of an answer, or undefined when it is not JSON. */
export function jsonBody(answer: HttpAnswer): unknown {
  try {
    return JSON.parse(answer.text);
  } catch {
    return undefined;
  }
}
