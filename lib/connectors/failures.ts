import { AppError } from '../errors.js';

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed',
};

/** The network-level reason of a connection failure, or undefined when it is not one. */
export function networkReason(error: unknown): string | undefined {
  const e = error as { code?: string; message?: string; errors?: unknown[] };
  if (e?.code && NETWORK_CODES[e.code]) return NETWORK_CODES[e.code];
  // Node reports a failed multi-address connect as an AggregateError.
  if (Array.isArray(e?.errors)) for (const inner of e.errors) { const r = networkReason(inner); if (r) return r; }
  if (typeof e?.message === 'string' && /timeout/i.test(e.message) && /connect/i.test(e.message)) return 'connection timed out';
  return undefined;
}

/** SOURCE_UNREACHABLE naming the source and the reason. */
export function unreachable(where: string, reason: string, cause: unknown): AppError {
  return new AppError('SOURCE_UNREACHABLE', `Cannot connect to ${where}: ${reason}.`, { cause });
}

/** SOURCE_AUTH_FAILED naming the source and the secret that held the user name. */
export function authFailed(where: string, usernameSecret: string, cause: unknown): AppError {
  return new AppError('SOURCE_AUTH_FAILED', `The ${where} rejected the credentials (user name from secret '${usernameSecret}').`, { cause });
}

/** A driver message without anything that looks like a connection string. */
export function driverMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\b\w+:\/\/[^\s]*/g, '[url]').slice(0, 500);
}

/**
 * SOURCE_NOT_SUPPORTED for a column whose native type has no logical type:
 * the type must be mapped on purpose (in the source's types module), never
 * guessed, so the catalog refuses the table rather than read it as text.
 */
export function unsupportedType(where: string, schema: string, table: string, column: string, datatype: string): AppError {
  return new AppError(
    'SOURCE_NOT_SUPPORTED',
    `Column '${column}' of table '${schema}.${table}' on the ${where} has type '${datatype}', which the publisher has no mapping for; it cannot be extracted faithfully. Leave the column out of the request to extract the rest of the table.`,
  );
}

/** SOURCE_UNREACHABLE for a connection that went away while in use. */
export function connectionLost(where: string, cause: unknown): AppError {
  return new AppError('SOURCE_UNREACHABLE', `The connection to the ${where} was lost: ${driverMessage(cause)}.`, { cause });
}
