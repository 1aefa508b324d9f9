import fp from 'fastify-plugin';
import { docsPage, openApiDocument } from '../openapi.js';

/** Options of {@link apiDocs}. */
export interface ApiDocsOptions {
  title: string;
  description: string;
  version: string;
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
    app.get('/docs', { config: { open: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(docsPage(apiDocument())));
  },
  { name: 'cr8tor-api-docs' },
);
