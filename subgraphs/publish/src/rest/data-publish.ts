import type { FastifyInstance } from 'fastify';
import { accessRequestSchema, publishRequestSchema, transferRequestSchema } from '../../../../lib/contract/index.js';
import { endpointDocs } from '../../../../lib/contract/endpoint-docs.js';
import { postEndpoint } from '../../../../lib/http/service.js';
import { packageAndWait, publishAndWait } from '../jobs/sync.js';
import type { PublishDeps } from '../deps.js';
import { validateProject } from '../validate-project.js';

/** The publish service's REST endpoints under `/data-publish/`; package and publish run as jobs, waited for (jobs/sync.ts). */
export function dataPublishRoutes(app: FastifyInstance, deps: PublishDeps): void {
  postEndpoint(app, '/data-publish/validate', accessRequestSchema, endpointDocs.validate, (body, call) => validateProject(body, deps, call));
  postEndpoint(app, '/data-publish/package', transferRequestSchema, endpointDocs.package, (body, call) => packageAndWait(body, deps, call));
  postEndpoint(app, '/data-publish/publish', publishRequestSchema, endpointDocs.publish, (body, call) => publishAndWait(body, deps, call));
}
