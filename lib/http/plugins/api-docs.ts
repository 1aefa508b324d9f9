import fp from 'fastify-plugin';
import { docsPage, openApiDocument, type DocLink } from '../openapi.js';

/** Options of {@link apiDocs}. */
export interface ApiDocsOptions {
  title: string;
  description: string;
  version: string;
  /** Further pages of the service, linked from /docs. */
  links: DocLink[];
}

/**
 * `GET /openapi.json` and a readable `GET /docs`, generated once, on first
 * request, from the endpoints registered with `postEndpoint`. Open: no key.
 */
export const apiDocs = fp<ApiDocsOptions>(
  async (app, options) => {
    let document: Record<string, unknown> | undefined;
    const apiDocument = () => (document ??= openApiDocument(options, app.endpointDocs));
    app.get('/openapi.json', { config: { open: true } }, async () => apiDocument());
    app.get('/docs', { config: { open: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(docsPage(apiDocument(), options.links)));
  },
  { name: 'cr8tor-api-docs' },
);
