/**
 * The error table: every failure the product reports has a code here, with the
 * HTTP status it answers, the GraphQL `extensions.code` it carries, and whether
 * retrying the same call could succeed (transient) or never will (terminal).
 *
 * Services throw {@link AppError}; the HTTP layer turns it into the contract's
 * envelope `{"status":"error","payload":{"detail":…}}`, the GraphQL layer into an
 * error whose extensions carry `status` and `detail` so the gateway can answer
 * the same envelope for its REST shims.
 */
export const errorTable = {
  INVALID_REQUEST: { status: 422, graphql: 'BAD_USER_INPUT', transient: false },
  UNAUTHORISED: { status: 403, graphql: 'FORBIDDEN', transient: false },
  ROUTE_NOT_FOUND: { status: 404, graphql: 'NOT_FOUND', transient: false },
  /** Refusals of the HTTP layer, answered before any route reads the request (lib/http/plugins). */
  MALFORMED_REQUEST: { status: 400, graphql: 'MALFORMED_REQUEST', transient: false },
  REQUEST_TIMEOUT: { status: 408, graphql: 'REQUEST_TIMEOUT', transient: true },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, graphql: 'UNSUPPORTED_MEDIA_TYPE', transient: false },
  HEADERS_TOO_LARGE: { status: 431, graphql: 'HEADERS_TOO_LARGE', transient: false },
  SHUTTING_DOWN: { status: 503, graphql: 'SHUTTING_DOWN', transient: true },
  SECRET_NOT_FOUND: { status: 404, graphql: 'SECRET_NOT_FOUND', transient: false },
  SECRET_STORE_FAILED: { status: 502, graphql: 'SECRET_STORE_FAILED', transient: true },
  /** A request named a secret that may not be a source credential (a platform secret, or outside SOURCE_SECRET_NAME_PATTERN). */
  SECRET_NOT_ALLOWED: { status: 403, graphql: 'SECRET_NOT_ALLOWED', transient: false },
  /** A request named a source host or port that SOURCE_ALLOWED_HOSTS does not allow. */
  SOURCE_NOT_ALLOWED: { status: 403, graphql: 'SOURCE_NOT_ALLOWED', transient: false },
  /** A source asked for its password in a form readable on the way (clear text, MD5, RSA with its own key) without verified TLS. */
  SOURCE_INSECURE_AUTH: { status: 502, graphql: 'SOURCE_INSECURE_AUTH', transient: false },
  SCHEMA_NOT_FOUND: { status: 404, graphql: 'SCHEMA_NOT_FOUND', transient: false },
  TABLE_NOT_FOUND: { status: 404, graphql: 'TABLE_NOT_FOUND', transient: false },
  COLUMN_NOT_FOUND: { status: 404, graphql: 'COLUMN_NOT_FOUND', transient: false },
  SOURCE_UNREACHABLE: { status: 502, graphql: 'SOURCE_UNREACHABLE', transient: true },
  SOURCE_AUTH_FAILED: { status: 502, graphql: 'SOURCE_AUTH_FAILED', transient: false },
  SOURCE_QUERY_FAILED: { status: 502, graphql: 'SOURCE_QUERY_FAILED', transient: true },
  SOURCE_NOT_SUPPORTED: { status: 422, graphql: 'SOURCE_NOT_SUPPORTED', transient: false },
  DESTINATION_NOT_CONFIGURED: { status: 422, graphql: 'DESTINATION_NOT_CONFIGURED', transient: false },
  DESTINATION_NOT_READY: { status: 503, graphql: 'DESTINATION_NOT_READY', transient: true },
  /** A destination (database or OPAL) failed while doing the work: the upstream's failure, relayed. */
  DESTINATION_FAILED: { status: 502, graphql: 'DESTINATION_FAILED', transient: true },
  NOTHING_TO_PUBLISH: { status: 409, graphql: 'NOTHING_TO_PUBLISH', transient: false },
  /**
   * A path under a filestore mount is a symbolic link, or not the kind of entry expected
   * there: refused before anything changed. Not the caller's mistake, and a retry cannot
   * succeed until an operator removes it.
   */
  FILESTORE_PATH_REFUSED: { status: 409, graphql: 'FILESTORE_PATH_REFUSED', transient: false },
  /** production/{project}/{start_time} already holds a bag, and published data is never replaced. */
  ALREADY_PUBLISHED: { status: 409, graphql: 'ALREADY_PUBLISHED', transient: false },
  /** The project's folder exists on the filestore under another spelling (differing only in case). */
  PROJECT_SPELLING_CLASH: { status: 409, graphql: 'PROJECT_SPELLING_CLASH', transient: false },
  /** A package or publish of the same project, start time and destination is already running. */
  PROJECT_BUSY: { status: 409, graphql: 'PROJECT_BUSY', transient: true },
  /** The PostgreSQL schema a package would replace is recorded for another project or start time; nothing was changed. */
  SCHEMA_OWNED_BY_ANOTHER_PROJECT: { status: 409, graphql: 'SCHEMA_OWNED_BY_ANOTHER_PROJECT', transient: false },
  /** The PostgreSQL schema a package would replace exists but no project is recorded as its owner; nothing was changed. */
  SCHEMA_NOT_RECORDED: { status: 409, graphql: 'SCHEMA_NOT_RECORDED', transient: false },
  /** The work did not finish within its deadline (PACKAGE_DEADLINE_MS) and was stopped. */
  DEADLINE_EXCEEDED: { status: 504, graphql: 'DEADLINE_EXCEEDED', transient: true },
  SUBGRAPH_UNAVAILABLE: { status: 502, graphql: 'SUBGRAPH_UNAVAILABLE', transient: true },
  PAYLOAD_TOO_LARGE: { status: 413, graphql: 'PAYLOAD_TOO_LARGE', transient: false },
  INTERNAL: { status: 500, graphql: 'INTERNAL_SERVER_ERROR', transient: true },
} as const satisfies Record<string, { status: number; graphql: string; transient: boolean }>;

export type ErrorCode = keyof typeof errorTable;

/** A failure with a code from {@link errorTable} and a detail safe to show a caller. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly transient: boolean;
  /** What only the service log may read (full file-system paths, OS messages); see lib/audit/track.ts. */
  readonly logDetail: string | undefined;

  /**
   * @param code   the entry of the error table
   * @param detail what the caller reads; never a secret value, a stack or a password
   * @param cause  the underlying error, kept for the logs only
   * @param status overrides the table's status; only to relay the status another service answered
   * @param logDetail what the service log gets beside the detail, never the caller
   */
  constructor(code: ErrorCode, detail: string, options?: { cause?: unknown; status?: number; logDetail?: string }) {
    super(detail, options);
    this.name = 'AppError';
    this.code = code;
    this.status = options?.status ?? errorTable[code].status;
    this.transient = errorTable[code].transient;
    this.logDetail = options?.logDetail;
  }

  get detail(): string {
    return this.message;
  }
}

/** The error code whose GraphQL code is `graphqlCode`, if any. */
export function codeOfGraphQLCode(graphqlCode: unknown): ErrorCode | undefined {
  return (Object.keys(errorTable) as ErrorCode[]).find((c) => errorTable[c].graphql === graphqlCode);
}

/** Whether an unknown value is an {@link AppError}. */
export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

/** The HTTP status and detail a caller sees for any thrown value; unknown errors are masked. */
export function publicError(error: unknown): { status: number; code: ErrorCode; detail: string } {
  if (isAppError(error)) return { status: error.status, code: error.code, detail: error.detail };
  return { status: 500, code: 'INTERNAL', detail: 'Internal error; the service log has the details.' };
}
