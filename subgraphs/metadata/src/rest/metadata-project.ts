import type { FastifyInstance } from 'fastify';
import { endpointDocs } from '../../../../lib/contract/endpoint-docs.js';
import { transferRequestSchema } from '../../../../lib/contract/index.js';
import { postEndpoint } from '../../../../lib/http/service.js';
import { describeDataset, type MetadataDeps } from '../describe-dataset.js';

/** `POST /metadata/project`: the contract's transfer request in, the dataset metadata out. */
export function metadataProjectRoute(app: FastifyInstance, deps: MetadataDeps): void {
  postEndpoint(app, '/metadata/project', transferRequestSchema, endpointDocs.metadata, (body, call) => describeDataset(body, deps, call));
}
