import type { z } from 'zod';
import { appError } from '../errors.js';

/** Most issues one 422 detail lists; the rest are counted. */
const MAX_LISTED_ISSUES = 8;

/**
 * Parses a request body with its contract schema. Unknown fields are dropped; a
 * body that does not fit becomes an INVALID_REQUEST error (422) whose detail
 * names every offending field, e.g. `source.port: must be a whole number`.
 */
export function parseRequest<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw appError('INVALID_REQUEST', { problem: 'expected a JSON object' });
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const missing = issue.code === 'invalid_type' && valueAt(body, issue.path) === undefined;
    return `${formatPath(issue.path) || '(body)'}: ${missing ? 'is required' : issue.message}`;
  });
  const unique = [...new Set(lines)];
  const listed = unique.slice(0, MAX_LISTED_ISSUES).join('; ');
  const more = unique.length > MAX_LISTED_ISSUES ? `; and ${unique.length - MAX_LISTED_ISSUES} more` : '';
  throw appError('INVALID_REQUEST', { problem: `${listed}${more}` });
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
}

/** The value at a path of the raw body, or undefined when any step is absent. */
function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = body;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
