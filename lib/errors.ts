import { clip } from './text.js';

/** Longest detail taken from a message we did not write (graphql-js repeats names from the document, which may be megabytes long). */
const MAX_FOREIGN_DETAIL = 1000;

const PERSISTED_QUERIES = 'Persisted queries are not supported: send the operation itself in `query`.';

/** What each entry of {@link errorTable} says; `message`, when present, is the code's message template. */
interface ErrorKind {
  status: number;
  graphql: string;
  transient: boolean;
  /** The message template: the detail every failure of this code that is not more specific answers. */
  message?: (...params: never[]) => string;
  /** A refusal Apollo Server makes itself (never thrown here): matched by its GraphQL code and answered with it. */
  apollo?: true;
}

/**
 * The error table: every failure the product reports has a code here, with the
 * HTTP status it answers, the GraphQL `extensions.code` it carries, whether
 * retrying the same call could succeed (transient) or never will (terminal),
 * and, where the code has one, its message template with typed parameters
 * (see {@link appError}); other failures give a detail that names their
 * situation.
 *
 * Services throw {@link AppError}; the HTTP layer turns it into the contract's
 * envelope `{"status":"error","payload":{"detail":…}}`, the GraphQL layer into an
 * error whose extensions carry `status` and `detail` so the gateway can answer
 * the same envelope for its REST shims.
 */
export const errorTable = {
  INVALID_REQUEST: {
    status: 422,
    graphql: 'BAD_USER_INPUT',
    transient: false,
    message: (p: { problem: string }) => `Invalid request body: ${p.problem}.`,
  },
  UNAUTHORISED: {
    status: 403,
    graphql: 'FORBIDDEN',
    transient: false,
    message: () => 'Could not validate API key. Please provide a valid API key in the x-api-key header.',
  },
  ROUTE_NOT_FOUND: {
    status: 404,
    graphql: 'NOT_FOUND',
    transient: false,
    // The path is the caller's: shortened, as is the method.
    message: (p: { method: string; path: string; service: string }) =>
      `No route ${p.method.slice(0, 16)} ${p.path.length > 100 ? `${p.path.slice(0, 100)}…` : p.path} on the ${p.service} service.`,
  },
  /** Refusals of the HTTP layer, answered before any route reads the request (lib/http/plugins). */
  MALFORMED_REQUEST: { status: 400, graphql: 'MALFORMED_REQUEST', transient: false, message: () => 'Malformed HTTP request.' },
  REQUEST_TIMEOUT: {
    status: 408,
    graphql: 'REQUEST_TIMEOUT',
    transient: true,
    message: (p: { late: 'headers' | 'body'; withinMs: number }) =>
      p.late === 'body'
        ? `The request was not received in time: its body did not arrive within ${p.withinMs} ms of its start.`
        : `The request was not received in time: its headers did not arrive within ${p.withinMs} ms.`,
  },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, graphql: 'UNSUPPORTED_MEDIA_TYPE', transient: false, message: () => 'Unsupported content type: send application/json.' },
  HEADERS_TOO_LARGE: { status: 431, graphql: 'HEADERS_TOO_LARGE', transient: false, message: () => 'Request headers too large.' },
  SHUTTING_DOWN: {
    status: 503,
    graphql: 'SHUTTING_DOWN',
    transient: true,
    message: (p: { service: string }) => `The ${p.service} service is shutting down; send the call again (to another instance, or once it has restarted).`,
  },
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
  /** No job has that id (or the id is not one a job could have). */
  JOB_NOT_FOUND: { status: 404, graphql: 'JOB_NOT_FOUND', transient: false, message: (p: { id: string }) => `No job has the id '${p.id}'.` },
  /** The job was cancelled (Mutation.cancelJob) before it finished; nothing of it was kept. */
  JOB_CANCELLED: {
    status: 409,
    graphql: 'JOB_CANCELLED',
    transient: false,
    message: (p: { kind: string; id: string; project: string; startTime: string; by: string }) =>
      `The ${p.kind} job ${p.id} of project '${p.project}' (start time ${p.startTime}) was cancelled by key '${p.by}'; nothing of it was kept.`,
  },
  /** The publish replica running the job stopped (killed, or shut down past its grace) before it finished; nothing of it was published. */
  JOB_INTERRUPTED: {
    status: 503,
    graphql: 'JOB_INTERRUPTED',
    transient: true,
    message: (p: { kind: string; id: string; why: string }) => `The ${p.kind} job ${p.id} did not finish: ${p.why}. Nothing of it was published; send the call again.`,
  },
  /** The caller closed its connection before the answer: its wait for a job ends, the job goes on (never answered; 499 as nginx logs it). */
  CALLER_DISCONNECTED: { status: 499, graphql: 'CALLER_DISCONNECTED', transient: true, message: () => 'The caller closed its connection before the answer; the job goes on.' },
  /**
   * The source's tables or columns differ from what the project's latest validation approved (PACKAGE_ALLOW_CATALOG_DRIFT allows it),
   * or, with PACKAGE_REQUIRE_VALIDATION, no validation approved anything for the project. Nothing was extracted.
   */
  CATALOG_DRIFT: {
    status: 409,
    graphql: 'CATALOG_DRIFT',
    transient: false,
    message: (p: { project: string; startTime: string } & ({ unvalidated: true } | { source: string; schema: string; drift: string })) =>
      'unvalidated' in p
        ? `No validation of project '${p.project}' (start time ${p.startTime}) approved a dataset, and PACKAGE_REQUIRE_VALIDATION requires one: validate the project with its dataset first. Nothing was extracted.`
        : `The tables and columns of schema '${p.schema}' on the ${p.source} differ from what the validation of project '${p.project}' (start time ${p.startTime}) approved: ${p.drift}. Nothing was extracted. Validate the project again to approve the catalog as it is now, or set PACKAGE_ALLOW_CATALOG_DRIFT to package it anyway.`,
  },
  SUBGRAPH_UNAVAILABLE: {
    status: 502,
    graphql: 'SUBGRAPH_UNAVAILABLE',
    transient: true,
    message: (p: { service: string; problems?: readonly string[]; status?: number }) =>
      p.problems ? `The ${p.service} service is not ready: ${p.problems.join(' ')}` : p.status ? `The ${p.service} service is not ready (HTTP ${p.status}).` : `The ${p.service} service is unreachable.`,
  },
  PAYLOAD_TOO_LARGE: { status: 413, graphql: 'PAYLOAD_TOO_LARGE', transient: false, message: () => 'Request body too large.' },
  /** A fault of ours; what is not an {@link AppError} is answered with this template's detail, masked. */
  INTERNAL: { status: 500, graphql: 'INTERNAL_SERVER_ERROR', transient: true, message: () => 'Internal error; the service log has the details.' },

  /*
   * Apollo Server's own refusals of a GraphQL request (the caller's mistakes),
   * answered with Apollo's code and its message, clipped, or said clearly.
   */
  GRAPHQL_PARSE_FAILED: { status: 400, graphql: 'GRAPHQL_PARSE_FAILED', transient: false, apollo: true, message: (p: { apollo: string }) => clip(p.apollo, MAX_FOREIGN_DETAIL) },
  GRAPHQL_VALIDATION_FAILED: { status: 400, graphql: 'GRAPHQL_VALIDATION_FAILED', transient: false, apollo: true, message: (p: { apollo: string }) => clip(p.apollo, MAX_FOREIGN_DETAIL) },
  /** Variables of the wrong type (an {@link AppError} INVALID_REQUEST from a resolver, also BAD_USER_INPUT, keeps its 422). */
  GRAPHQL_BAD_VARIABLES: { status: 400, graphql: 'BAD_USER_INPUT', transient: false, apollo: true, message: (p: { apollo: string }) => clip(p.apollo, MAX_FOREIGN_DETAIL) },
  /** Also what any refusal of Apollo's without a code of this table is (an unsupported persisted-query version). */
  GRAPHQL_BAD_REQUEST: { status: 400, graphql: 'BAD_REQUEST', transient: false, apollo: true, message: (p: { apollo: string }) => clip(p.apollo, MAX_FOREIGN_DETAIL) },
  GRAPHQL_OPERATION_RESOLUTION_FAILURE: { status: 400, graphql: 'OPERATION_RESOLUTION_FAILURE', transient: false, apollo: true, message: (p: { apollo: string }) => clip(p.apollo, MAX_FOREIGN_DETAIL) },
  PERSISTED_QUERY_NOT_FOUND: { status: 400, graphql: 'PERSISTED_QUERY_NOT_FOUND', transient: false, apollo: true, message: (_: { apollo: string }) => PERSISTED_QUERIES },
  PERSISTED_QUERY_NOT_SUPPORTED: { status: 400, graphql: 'PERSISTED_QUERY_NOT_SUPPORTED', transient: false, apollo: true, message: (_: { apollo: string }) => PERSISTED_QUERIES },
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof errorTable;

type Table = typeof errorTable;

/** The codes that have a message template. */
export type TemplatedCode = { [C in ErrorCode]: Table[C] extends { message: (...params: never[]) => string } ? C : never }[ErrorCode];

/** The parameters of a code's message template: none, or one object of typed fields. */
export type MessageParams<C extends TemplatedCode> = Table[C] extends { message: (...params: infer P) => string } ? P : never;

/** A code's message, from its template in {@link errorTable}. */
export function errorMessage<C extends TemplatedCode>(code: C, ...params: MessageParams<C>): string {
  return (errorTable[code].message as (...p: MessageParams<C>) => string)(...params);
}

/** An {@link AppError} whose detail is its code's message template filled in. */
export function appError<C extends TemplatedCode>(code: C, ...params: MessageParams<C>): AppError {
  return new AppError(code, errorMessage(code, ...params));
}

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

/** The error code whose GraphQL code is `graphqlCode`, if any: ours before Apollo Server's (BAD_USER_INPUT is INVALID_REQUEST). */
export function codeOfGraphQLCode(graphqlCode: unknown): ErrorCode | undefined {
  return (Object.keys(errorTable) as ErrorCode[]).find((c) => errorTable[c].graphql === graphqlCode);
}

/** The codes of Apollo Server's own refusals. */
export type ApolloRefusalCode = { [C in ErrorCode]: Table[C] extends { apollo: true } ? C : never }[ErrorCode];

/** The entry of an Apollo Server refusal by its GraphQL code, if the table has it. */
export function apolloRefusal(graphqlCode: unknown): ApolloRefusalCode | undefined {
  return (Object.keys(errorTable) as ErrorCode[]).find((c): c is ApolloRefusalCode => 'apollo' in errorTable[c] && errorTable[c].graphql === graphqlCode);
}

/** Whether an unknown value is an {@link AppError}. */
export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

/** The HTTP status and detail a caller sees for any thrown value; unknown errors are masked. */
export function publicError(error: unknown): { status: number; code: ErrorCode; detail: string } {
  if (isAppError(error)) return { status: error.status, code: error.code, detail: error.detail };
  return { status: 500, code: 'INTERNAL', detail: errorMessage('INTERNAL') };
}
