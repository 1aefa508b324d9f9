import type { ApolloServer } from '@apollo/server';
import type { FastifyInstance } from 'fastify';
import { transferRequestSchema } from '../../../lib/contract/index.js';
import { postEndpoint } from '../../../lib/http/service.js';
import type { GatewayContext } from '../context.js';
import { DATASET_METADATA, VALIDATE_PROJECT } from './operations.js';
import { runOperation } from './run-operation.js';

/**
 * The CLI's REST endpoints under `/project/`, as shims over the graph: each
 * checks the body with the contract's schema, then runs GraphQL operations
 * through the gateway, so REST and GraphQL callers share one code path.
 */
export function projectRoutes(app: FastifyInstance, graph: ApolloServer<GatewayContext>): void {
  postEndpoint(app, '/project/validate', transferRequestSchema, async (body, call) => {
    await runOperation(graph, call, VALIDATE_PROJECT, { request: body }, 'validateProject');
    const { project_name, project_start_time, source, dataset } = body;
    return runOperation(graph, call, DATASET_METADATA, { request: { source, dataset, project_name, project_start_time } }, 'datasetMetadata');
  });
}
