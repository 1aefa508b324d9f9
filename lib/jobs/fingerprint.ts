import { createHash } from 'node:crypto';
import type { JobRequest } from './engine.js';

/**
 * The SHA-256 of a job's request in a canonical form (keys sorted, at every
 * depth): two calls asking for the same work have the same fingerprint, so a
 * retry attaches to the job the first one started instead of being refused.
 */
export function jobFingerprint(job: JobRequest): string {
  return createHash('sha256').update(canonical(job)).digest('hex');
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
