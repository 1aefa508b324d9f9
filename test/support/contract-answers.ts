/**
 * Checks a REST answer of a contract endpoint against the contract's schemas,
 * strictly: a success is the success envelope around the endpoint's payload
 * schema, anything else the error envelope; a missing field, a field of the
 * wrong type, an extra field, or fields in another order than the schema's
 * fail. Every answer the platform helper (platform.ts) gets from a contract
 * route goes through it, so every e2e test checks the payloads it receives.
 */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { errorEnvelopeSchema, successEnvelopeSchema } from '../../lib/contract/index.js';

/** The endpoint a service registered for `route` (by its documentation), if it is a contract endpoint. */
export function contractEndpoint(app: FastifyInstance, route: string): { path: string; response: z.ZodType } | undefined {
  const path = route.split('?')[0];
  return app.endpointDocs.find((doc) => doc.path === path);
}

/**
 * Throws, naming the difference, unless `text` (the body as received) is
 * exactly what the schemas allow for an answer with `status`. Answers that are
 * not JSON are left to the test (a refusal cut before any answer).
 */
export function assertContractAnswer(endpoint: { path: string; response: z.ZodType }, status: number, text: string): void {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${endpoint.path} answered ${status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
  const schema = status === 200 ? successEnvelopeSchema(endpoint.response) : errorEnvelopeSchema;
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    throw new Error(`${endpoint.path} answered ${status} with a body its schema refuses (${issues}): ${text.slice(0, 500)}`);
  }
  // What the schema keeps, in the schema's order: anything else the body had is an extra field, or one out of order.
  const extra = extraPaths(body, parsed.data, '');
  if (extra.length > 0) throw new Error(`${endpoint.path} answered ${status} with fields its schema does not have: ${extra.slice(0, 10).join(', ')}`);
  if (JSON.stringify(parsed.data) !== text) {
    throw new Error(`${endpoint.path} answered ${status} with the schema's fields in another order or spelling:\n  got      ${text.slice(0, 500)}\n  expected ${JSON.stringify(parsed.data).slice(0, 500)}`);
  }
}

/** Paths present in `got` but not in `kept` (what the schema's parse dropped). */
function extraPaths(got: unknown, kept: unknown, at: string): string[] {
  if (Array.isArray(got) && Array.isArray(kept)) return got.flatMap((g, i) => extraPaths(g, kept[i], `${at}[${i}]`));
  if (got !== null && typeof got === 'object' && kept !== null && typeof kept === 'object') {
    return Object.entries(got).flatMap(([k, v]) => {
      const path = at ? `${at}.${k}` : k;
      return k in kept ? extraPaths(v, (kept as Record<string, unknown>)[k], path) : [path];
    });
  }
  return [];
}
