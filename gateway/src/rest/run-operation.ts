import type { ApolloServer } from '@apollo/server';
import { toGraphQL, fromGraphQL } from '../../../lib/contract/index.js';
import { AppError, codeOfGraphQLCode } from '../../../lib/errors.js';
import type { GatewayContext } from '../context.js';

/**
 * Runs one GraphQL operation through the gateway itself (the same code path as
 * a GraphQL caller) with snake_case variables converted to camelCase, and gives
 * back the data converted to snake_case. The first error becomes an error with
 * the status and detail the subgraph gave it.
 */
export async function runOperation(
  server: ApolloServer<GatewayContext>,
  context: GatewayContext,
  query: string,
  variables: Record<string, unknown>,
  field: string,
): Promise<unknown> {
  const response = await server.executeOperation({ query, variables: toGraphQL(variables) as Record<string, unknown> }, { contextValue: context });
  if (response.body.kind !== 'single') throw new AppError('INTERNAL', 'Unexpected incremental GraphQL response.');
  const { data, errors } = response.body.singleResult;
  if (errors && errors.length > 0) {
    const first = errors[0]!;
    const ext = first.extensions ?? {};
    const status = typeof ext.status === 'number' ? ext.status : 500;
    const detail = typeof ext.detail === 'string' ? ext.detail : first.message;
    throw new AppError(codeOfGraphQLCode(ext.code) ?? 'INTERNAL', detail, { status });
  }
  const value = data?.[field];
  if (value === undefined || value === null) throw new AppError('INTERNAL', `The graph returned no ${field}.`);
  return fromGraphQL(value);
}
