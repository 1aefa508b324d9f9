import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, Kind, OperationTypeNode, type DocumentNode } from 'graphql';
import { clip } from '../text.js';

/** Longest piece of a caller's operation name repeated in a message. */
const SHOWN_NAME = 100;

/**
 * Refuses, with a 400 and a clear message, a request whose operation cannot
 * run here: the `operationName` names no operation of the document, several
 * operations and no `operationName`, or an operation type the schema does not
 * have (a subscription anywhere; a mutation on the metadata subgraph). Without
 * it, graphql-js and Apollo Gateway raise these while executing, as faults.
 */
export function operationCheckPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request, schema }) {
          if (!operation) throw refusal('OPERATION_RESOLUTION_FAILURE', unresolved(document, request.operationName));
          if (schema.getRootType(operation.operation)) return;
          const supported = Object.values(OperationTypeNode).filter((t) => schema.getRootType(t));
          throw refusal('GRAPHQL_VALIDATION_FAILED', `This service does not support ${operation.operation} operations; it answers ${supported.map((t) => `${t} operations`).join(' and ')}.`);
        },
      };
    },
  };
}

/** Why no operation of `document` was chosen. */
function unresolved(document: DocumentNode, operationName: string | undefined): string {
  const named = document.definitions.flatMap((d) => (d.kind === Kind.OPERATION_DEFINITION ? [d.name?.value ?? null] : []));
  if (operationName) {
    const known = named.filter((n): n is string => n !== null).slice(0, 10);
    return `Unknown operation named "${clip(operationName, SHOWN_NAME)}"; the document names ${known.length > 0 ? known.map((n) => `"${clip(n, SHOWN_NAME)}"`).join(', ') : 'no operation'}.`;
  }
  return `The document has ${named.length} operations: send \`operationName\` to say which one to run.`;
}

function refusal(code: string, message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status: 400 } } });
}
