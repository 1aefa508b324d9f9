import type { ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { apolloRefusal, AppError, errorMessage, errorTable } from '../errors.js';
import type { CallContext } from '../http/service.js';
import type { Logger } from '../logging/logger.js';

/** How an error is answered and logged: a caller's mistake, a failure we relay, or a fault of ours. */
type Verdict = { kind: 'client' | 'relayed'; code: string; status: number; detail: string } | { kind: 'fault' };

/** The HTTP status Apollo Server answers for an error (`extensions.http.status`), if it set one. */
function httpStatusOf(error: unknown): number | undefined {
  const status = (error as { extensions?: { http?: { status?: unknown } } } | null)?.extensions?.http?.status;
  return typeof status === 'number' ? status : undefined;
}

/** Classifies one error as Apollo Server hands it to `formatError` or to a plugin. */
function verdict(error: unknown, formatted: GraphQLFormattedError): Verdict {
  const original = unwrapResolverError(error);
  if (original instanceof AppError) {
    return { kind: original.status < 500 ? 'client' : 'relayed', code: errorTable[original.code].graphql, status: original.status, detail: original.detail };
  }
  const ext = formatted.extensions ?? {};
  const code = typeof ext.code === 'string' ? ext.code : undefined;
  // Already classified where it arose (a subgraph's answer, relayed by the gateway).
  if (typeof ext.status === 'number' && typeof ext.detail === 'string') {
    return { kind: ext.status < 500 ? 'client' : 'relayed', code: code ?? 'INTERNAL_SERVER_ERROR', status: ext.status, detail: ext.detail };
  }
  const http = httpStatusOf(error);
  const clientHttp = http !== undefined && http >= 400 && http < 500 ? http : undefined;
  const refusal = apolloRefusal(code);
  if (refusal || clientHttp) {
    // Apollo Server gives a code to most of its refusals; one without (an unsupported persisted-query version) is a bad request.
    const known = refusal ?? 'GRAPHQL_BAD_REQUEST';
    return { kind: 'client', code: errorTable[known].graphql, status: clientHttp ?? errorTable[known].status, detail: errorMessage(known, { apollo: formatted.message }) };
  }
  return { kind: 'fault' };
}

/**
 * Apollo Server's `formatError`: an {@link AppError} keeps its detail and gains
 * `extensions.status` and `extensions.detail`; the caller's own GraphQL mistakes
 * pass through with the status they are answered with (400, or 405 for a
 * mutation sent with GET); errors that already carry a status (from a subgraph,
 * through the gateway) are kept. Anything else is a fault of ours: logged with
 * its stack and masked.
 */
export function formatGraphQLError(log: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const v = verdict(error, formatted);
    if (v.kind !== 'fault') {
      const { stacktrace: _drop, ...rest } = formatted.extensions ?? {};
      return { ...formatted, message: v.detail, extensions: { ...rest, code: v.code, status: v.status, detail: v.detail } };
    }
    log.error({ err: unwrapResolverError(error) }, 'unexpected GraphQL error');
    const detail = errorMessage('INTERNAL');
    return { message: detail, path: formatted.path, extensions: { code: errorTable.INTERNAL.graphql, status: errorTable.INTERNAL.status, detail } };
  };
}

/**
 * Logs what went wrong with a GraphQL request, one line per error, without a
 * stack: a caller's mistake at info, a failure relayed from a source, a
 * destination or a subgraph at warn. Faults of ours are logged (with their
 * stack) by {@link formatGraphQLError}. Lines carry the request's id when the
 * request got as far as having a context.
 */
export function errorLogPlugin(log: Logger): ApolloServerPlugin<CallContext> {
  const line = (logger: Pick<Logger, 'info' | 'warn'>, error: unknown) => {
    const message = (error as { message?: unknown } | null)?.message;
    const v = verdict(error, { message: typeof message === 'string' ? message : '', extensions: (error as { extensions?: Record<string, unknown> } | null)?.extensions });
    if (v.kind === 'client') logger.info({ code: v.code, status: v.status, detail: v.detail }, 'GraphQL request refused');
    else if (v.kind === 'relayed') logger.warn({ code: v.code, status: v.status, detail: v.detail }, 'GraphQL operation failed');
  };
  return {
    // Refused before a context exists: malformed bodies, batches, a missing query.
    async invalidRequestWasReceived({ error }) {
      line(log, error);
    },
    async requestDidStart({ contextValue }) {
      return {
        async didEncounterErrors({ errors }) {
          for (const error of errors) line(contextValue.log ?? log, error);
        },
      };
    },
  };
}
