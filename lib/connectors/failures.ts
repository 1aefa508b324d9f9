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

/**
 * SOURCE_UNREACHABLE naming the source and nothing else: refused, closed,
 * timed out, a host name that does not resolve, or a server speaking another
 * protocol all read the same to the caller, so answers cannot map which hosts
 * and ports are open. The reason travels in the cause, to the log.
 */
export function unreachable(where: string, reason: string, cause: unknown): AppError {
  return new AppError('SOURCE_UNREACHABLE', `Cannot connect to ${where}; the reason is in the service log.`, { cause: new Error(reason, { cause }) });
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

/**
 * Thrown inside a driver's authentication step when the source asks for the
 * password in a form readable on the way (clear text, MD5, RSA with a key the
 * server sent) over a connection that is not TLS with a verified certificate:
 * the password is not sent, and the connector reports {@link insecureAuth}. A
 * class of its own, since drivers rewrite the `code` of errors thrown there.
 */
export class InsecurePasswordRequest extends Error {
  constructor(readonly method: string) {
    super(`the source asked for the password ${method} without verified TLS; it was not sent`);
    this.name = 'InsecurePasswordRequest';
  }
}

/** The first error of a class in an error's cause chain, if any (drivers wrap what they catch). */
export function causeOfType<T extends Error>(error: unknown, type: abstract new (...args: never[]) => T): T | undefined {
  for (let e = error as { cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (e instanceof type) return e;
  }
  return undefined;
}

/** The InsecurePasswordRequest somewhere in an error's cause chain, if any. */
export function insecureRequestOf(error: unknown): InsecurePasswordRequest | undefined {
  return causeOfType(error, InsecurePasswordRequest);
}

/** SOURCE_INSECURE_AUTH: the source asked for the password in a readable form, and was refused it. */
export function insecureAuth(where: string, request: InsecurePasswordRequest, tlsSetting: string): AppError {
  return new AppError(
    'SOURCE_INSECURE_AUTH',
    `The ${where} asked for the password ${request.method} over a connection that is not TLS with a verified certificate; it was not sent. ` +
      `Use TLS (${tlsSetting}), or set SOURCE_ALLOW_INSECURE_PASSWORD_AUTH=true only where the network path to the source is trusted.`,
    { cause: request },
  );
}

/** Node's certificate-verification failures, which mean the server's certificate is not trusted. */
const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED',
]);

/** The certificate-verification code in an error's cause chain, if any. */
export function certificateProblem(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (typeof e.code === 'string' && CERTIFICATE_CODES.has(e.code)) return e.code;
  }
  return undefined;
}

/** SOURCE_UNREACHABLE for a source whose TLS certificate is not trusted, naming the settings that change that. */
export function untrustedCertificate(where: string, code: string, cause: unknown, acceptAny?: string): AppError {
  return new AppError(
    'SOURCE_UNREACHABLE',
    `Cannot connect to ${where}: its TLS certificate is not trusted (${code}). Trust its CA with SOURCE_TLS_CA_FILE${acceptAny ? `, or set ${acceptAny} to accept any certificate` : ''}.`,
    { cause },
  );
}
