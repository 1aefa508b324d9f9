import type { FastifyInstance } from 'fastify';
import { accessRequestSchema } from '../../../../lib/contract/index.js';
import { postEndpoint } from '../../../../lib/http/service.js';
import { validateProject, type PublishDeps } from '../validate-project.js';

/** The publish service's REST endpoints under `/data-publish/`. */
export function dataPublishRoutes(app: FastifyInstance, deps: PublishDeps): void {
  postEndpoint(app, '/data-publish/validate', accessRequestSchema, (body) => validateProject(body, deps));
}
