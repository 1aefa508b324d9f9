import { z } from 'zod';
import { errorEnvelopeSchema, successEnvelopeSchema } from '../contract/response-schemas.js';
import { sourceDocSchema, sourceSchema } from '../contract/source.js';

/** How one REST endpoint is documented; registered with the route itself so the two cannot drift. */
export interface EndpointDoc {
  path: string;
  summary: string;
  description?: string;
  /** The schema that checks the body (the same one the route parses with). */
  request: z.ZodType;
  /** The schema of the success payload. */
  response: z.ZodType;
  example?: unknown;
}

const ERROR_RESPONSES: Record<string, string> = {
  '400': 'Malformed HTTP request or Content-Length.',
  '403': 'Missing or wrong x-api-key.',
  '404': 'Unknown route, secret, schema, table or column.',
  '408': 'The request (headers or body) was not received in time.',
  '413': 'Request body too large.',
  '415': 'The body is not application/json.',
  '422': 'Invalid body; the detail names every offending field.',
  '500': 'Unexpected failure; details only in the service log.',
  '502': 'A source, destination, secret store or subgraph failed or refused.',
};

/** JSON Schema (2020-12, as OpenAPI 3.1 uses) of a request schema, as callers write it. */
export function requestJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...json } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    // The source is checked in two steps (type first, then the type's fields); document the fields.
    override: (ctx) => {
      if (ctx.zodSchema === sourceSchema) {
        for (const key of Object.keys(ctx.jsonSchema)) delete ctx.jsonSchema[key];
        Object.assign(ctx.jsonSchema, z.toJSONSchema(sourceDocSchema, { io: 'input', target: 'draft-2020-12' }));
        delete ctx.jsonSchema.$schema;
      }
    },
  }) as Record<string, unknown>;
  return json;
}

function responseJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _drop, ...json } = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as Record<string, unknown>;
  return json;
}

/** The OpenAPI 3.1 document of a service's REST endpoints. */
export function openApiDocument(service: { title: string; description: string; version: string }, endpoints: readonly EndpointDoc[]): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const e of endpoints) {
    const responses: Record<string, unknown> = {
      '200': { description: 'Success.', content: { 'application/json': { schema: responseJsonSchema(successEnvelopeSchema(e.response)) } } },
    };
    for (const [status, description] of Object.entries(ERROR_RESPONSES)) {
      responses[status] = { description, content: { 'application/json': { schema: responseJsonSchema(errorEnvelopeSchema) } } };
    }
    paths[e.path] = {
      post: {
        operationId: e.path.replace(/^\//, '').replace(/[/-](\w)/g, (_m, c: string) => c.toUpperCase()),
        summary: e.summary,
        ...(e.description ? { description: e.description } : {}),
        security: [{ apiKey: [] }],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: requestJsonSchema(e.request), ...(e.example ? { example: e.example } : {}) } },
        },
        responses,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: service.title, description: service.description, version: service.version },
    components: { securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } } },
    paths,
  };
}

/** A page of the service that /docs links to, beside the REST endpoints. */
export interface DocLink {
  href: string;
  text: string;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A self-contained, human-readable page of the OpenAPI document (no scripts, nothing loaded from elsewhere). */
export function docsPage(doc: Record<string, unknown>, links: readonly DocLink[] = []): string {
  const info = doc.info as { title: string; description: string; version: string };
  interface Operation {
    summary: string;
    description?: string;
    requestBody: { content: Record<string, { schema: unknown; example?: unknown }> };
    responses: Record<string, { description: string; content: Record<string, { schema: unknown }> }>;
  }
  const paths = doc.paths as Record<string, { post: Operation }>;
  const sections = Object.entries(paths).map(([path, { post }]) => {
    const body = post.requestBody.content['application/json'] ?? { schema: {} };
    const ok = post.responses['200']?.content['application/json']?.schema ?? {};
    const errors = Object.entries(post.responses as Record<string, { description: string }>)
      .filter(([status]) => status !== '200')
      .map(([status, r]) => `<li><code>${status}</code> ${escapeHtml(r.description)}</li>`)
      .join('');
    return `<section><h2><code>POST ${escapeHtml(path)}</code></h2><p>${escapeHtml(post.summary)}</p>${post.description ? `<p>${escapeHtml(post.description)}</p>` : ''}
<h3>Request body</h3>${body.example ? `<p>Example:</p><pre>${escapeHtml(JSON.stringify(body.example, null, 2))}</pre>` : ''}
<details><summary>JSON Schema</summary><pre>${escapeHtml(JSON.stringify(body.schema, null, 2))}</pre></details>
<h3>Responses</h3><p><code>200</code> success envelope:</p><details><summary>JSON Schema</summary><pre>${escapeHtml(JSON.stringify(ok, null, 2))}</pre></details>
<p>Errors answer <code>{"status": "error", "payload": {"detail": "…"}}</code>:</p><ul>${errors}</ul></section>`;
  });
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(info.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}pre{background:#f4f4f4;padding:.75rem;overflow:auto}section{border-top:1px solid #ccc;margin-top:2rem}</style></head>
<body><h1>${escapeHtml(info.title)} <small>${escapeHtml(info.version)}</small></h1><p>${escapeHtml(info.description)}</p>
<p>Every call carries the header <code>x-api-key</code>. Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
${links.length > 0 ? `<ul>${links.map((l) => `<li><a href="${escapeHtml(l.href)}">${escapeHtml(l.href)}</a> — ${escapeHtml(l.text)}</li>`).join('')}</ul>` : ''}
${sections.join('\n')}</body></html>`;
}
