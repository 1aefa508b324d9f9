import type { ApolloServer } from '@apollo/server';
import type { FastifyInstance } from 'fastify';
import { publishRequestSchema, transferRequestSchema } from '../../../lib/contract/index.js';
import { endpointDocs } from '../../../lib/contract/endpoint-docs.js';
import { assertDatasetNotSystem } from '../../../lib/connectors/system-schemas.js';
import { postEndpoint } from '../../../lib/http/service.js';
import type { GatewayContext } from '../context.js';
import { DATASET_METADATA, PACKAGE_PROJECT, PUBLISH_PROJECT, VALIDATE_PROJECT } from './operations.js';
import { runOperation } from './run-operation.js';

/**
 * The CLI's REST endpoints under `/project/`, as shims over the graph: each
 * checks the body with the contract's schema, then runs GraphQL operations
 * through the gateway, so REST and GraphQL callers share one code path. The
 * answer is shaped by the endpoint's response schema (lib/contract/codec.ts):
 * GraphQL's nulls for the other kind of entry (`tableName: null` beside a
 * file) are not the contract's.
 */
export function projectRoutes(app: FastifyInstance, graph: ApolloServer<GatewayContext>): void {
  postEndpoint(app, '/project/validate', transferRequestSchema, endpointDocs.projectValidate, async (body, call) => {
    // A system catalog is refused before the validation below opens the source.
    assertDatasetNotSystem(body.source, body.dataset);
    await runOperation(graph, call, VALIDATE_PROJECT, { request: body }, 'validateProject');
    const { project_name, project_start_time, source, dataset } = body;
    return runOperation(graph, call, DATASET_METADATA, { request: { source, dataset, project_name, project_start_time } }, 'datasetMetadata');
  });

  postEndpoint(app, '/project/package', transferRequestSchema, endpointDocs.package, (body, call) =>
    runOperation(graph, call, PACKAGE_PROJECT, { request: body }, 'packageProject'),
  );

  postEndpoint(app, '/project/publish', publishRequestSchema, endpointDocs.publish, (body, call) =>
    runOperation(graph, call, PUBLISH_PROJECT, { request: body }, 'publishProject'),
  );
}
