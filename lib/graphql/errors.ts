import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { AppError, errorTable } from '../errors.js';
import type { Logger } from '../logging/logger.js';

/** GraphQL error codes that are the caller's mistake, with the HTTP status a REST shim answers for them. */
const CLIENT_CODES: Record<string, number> = {
  GRAPHQL_PARSE_FAILED: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  BAD_USER_INPUT: 422,
  BAD_REQUEST: 400,
  OPERATION_RESOLUTION_FAILURE: 400,
  PERSISTED_QUERY_NOT_FOUND: 400,
  PERSISTED_QUERY_NOT_SUPPORTED: 400,
};

/**
 * Apollo Server's `formatError`: an {@link AppError} keeps its detail and gains
 * `extensions.status` and `extensions.detail`, the caller's own GraphQL mistakes
 * pass through, and errors that already carry a status (from a subgraph, through
 * the gateway) are kept. Anything else is logged and masked.
 */
export function formatGraphQLError(log: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof AppError) {
      return {
        ...formatted,
        message: original.detail,
        extensions: { code: errorTable[original.code].graphql, status: original.status, detail: original.detail },
      };
    }
    const ext = formatted.extensions ?? {};
    if (typeof ext.status === 'number' && typeof ext.detail === 'string') return formatted;
    const code = typeof ext.code === 'string' ? ext.code : undefined;
    if (code && code in CLIENT_CODES) {
      const { stacktrace: _drop, ...rest } = ext;
      return { ...formatted, extensions: { ...rest, status: CLIENT_CODES[code], detail: formatted.message } };
    }
    log.error({ err: original }, 'unexpected GraphQL error');
    return {
      message: 'Internal error; the service log has the details.',
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR', status: 500, detail: 'Internal error; the service log has the details.' },
    };
  };
}
