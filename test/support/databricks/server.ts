/**
 * A protocol-level Databricks workspace double: one in-process HTTPS server on
 * a free loopback port that speaks
 * - the OAuth token endpoint `POST /oidc/v1/token` (client_credentials, HTTP
 *   Basic client authentication, scope `all-apis`), issuing opaque tokens
 *   that expire (or that a test revokes with {@link DatabricksDouble.expireTokens});
 * - the Unity Catalog REST API the connector reads: `GET
 *   /api/2.1/unity-catalog/schemas/{catalog.schema}`, `GET
 *   /api/2.1/unity-catalog/tables?catalog_name=…&schema_name=…` (paged with
 *   `next_page_token`, an empty page included), `GET
 *   /api/2.1/unity-catalog/tables/{catalog.schema.table}` (columns and
 *   primary-key constraint), with Databricks' `{error_code, message}` errors;
 * - the SQL warehouse at its http_path: Thrift TCLIService in TBinaryProtocol
 *   over HTTP POST, served by the `Processor` @databricks/sql ships (see
 *   thrift-service.ts: protocol V8, statements checked with a Spark grammar,
 *   column-based rows, inline Arrow or CloudFetch, LZ4, PENDING/RUNNING
 *   operations, Spark's session-dependent output); a stopped warehouse
 *   answers HTTP 503, as Databricks does while a warehouse starts;
 * - beside it, on a port of its own, the cloud storage CloudFetch links point
 *   to (storage.ts: presigned URLs that expire, 403 when they have).
 * Every request is recorded (method, path, query, which credentials it
 * carried); anything else — another path, method or query parameter, the
 * driver's telemetry or feature-flag calls — is answered 400/404 and recorded
 * in {@link DatabricksDouble.unexpected}, so a test can assert it stays empty.
 *
 * TLS: a throwaway CA and a server certificate for 127.0.0.1, localhost and
 * this machine's host name; give {@link DatabricksDouble.ca} to the client.
 */
import { randomBytes } from 'node:crypto';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stopHttpServer } from '../http-server.js';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { DbxModel, type DbxCatalog, type DbxTable } from './model.js';
import { doubleTls } from './tls.js';
import { StorageDouble } from './storage.js';
import { TCLIService, WarehouseService, type WarehouseOptions } from './thrift-service.js';

const load = createRequire(import.meta.url);
const thrift = load('thrift') as { TBufferedTransport: any; TBinaryProtocol: any };

/** One HTTP request as the double received it. */
export interface WorkspaceRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** `basic:<client id>`, `bearer:<token>` or `none`. */
  credentials: string;
  status: number;
  /** The Thrift method, for warehouse calls. */
  thrift?: string;
}

export interface TokenRequest {
  clientId: string | undefined;
  body: Record<string, string>;
  status: number;
}

export interface DatabricksDoubleOptions extends WarehouseOptions {
  /** Service principals: OAuth client id → client secret. */
  clients: Record<string, string>;
  catalogs: DbxCatalog[];
  /** The warehouse's http_path (default `/sql/1.0/warehouses/double01`). */
  warehousePath?: string;
  /** Tables per Unity Catalog list page (default 2). */
  ucPageSize?: number;
  /** Lifetime of issued tokens, in seconds (default 3600). */
  tokenLifetimeS?: number;
}

const UC = '/api/2.1/unity-catalog';
const LIST_PARAMS = new Set(['catalog_name', 'schema_name', 'max_results', 'page_token', 'omit_columns', 'omit_properties', 'omit_username', 'include_browse', 'include_manifest_capabilities']);

export class DatabricksDouble {
  readonly requests: WorkspaceRequest[] = [];
  readonly tokenRequests: TokenRequest[] = [];
  readonly unexpected: string[] = [];
  readonly model: DbxModel;
  readonly warehouse: WarehouseService;
  /** The cloud storage CloudFetch links point to. */
  readonly storage = new StorageDouble();
  readonly warehousePath: string;
  /** RUNNING, or STOPPED (every warehouse call answers 503); `startAfter` 503s then RUNNING again, as a warehouse that starts. */
  warehouseState: { state: 'RUNNING' | 'STOPPED'; startAfter?: number } = { state: 'RUNNING' };
  ca = '';
  url = '';
  port = 0;
  private readonly tokens = new Map<string, { expiresAt: number; revoked: boolean }>();
  private server: https.Server | undefined;

  constructor(readonly options: DatabricksDoubleOptions) {
    this.model = new DbxModel(options.catalogs);
    this.warehouse = new WarehouseService(this.model, options, this.storage);
    this.warehousePath = options.warehousePath ?? '/sql/1.0/warehouses/double01';
  }

  async start(): Promise<this> {
    const tls = await doubleTls();
    this.ca = tls.ca;
    await this.storage.start(tls);
    this.server = https.createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          this.route(req, res, Buffer.concat(chunks));
        } catch (error) {
          this.unexpected.push(`${req.method} ${req.url}: ${(error as Error).message}`);
          if (!res.headersSent) res.writeHead(500).end();
        }
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `https://127.0.0.1:${this.port}`;
    return this;
  }

  async close(): Promise<void> {
    if (this.server) await stopHttpServer(this.server);
    await this.storage.close();
  }

  /** Revokes every token issued so far: the next call carrying one gets 401, as with an expired token. */
  expireTokens(): void {
    for (const t of this.tokens.values()) t.revoked = true;
  }

  /** Requests that reached a path (for assertions), e.g. `/oidc/v1/token`. */
  hits(pathPrefix: string): WorkspaceRequest[] {
    return this.requests.filter((r) => r.path.startsWith(pathPrefix));
  }

  private credentials(req: IncomingMessage): { kind: 'basic' | 'bearer' | 'none'; value: string } {
    const header = req.headers.authorization ?? '';
    const m = /^(Basic|Bearer) (.+)$/.exec(header);
    if (!m) return { kind: 'none', value: '' };
    return { kind: m[1] === 'Basic' ? 'basic' : 'bearer', value: m[2]! };
  }

  private validBearer(req: IncomingMessage): boolean {
    const c = this.credentials(req);
    const token = c.kind === 'bearer' ? this.tokens.get(c.value) : undefined;
    return token !== undefined && !token.revoked && Date.now() < token.expiresAt;
  }

  private json(res: ServerResponse, status: number, body: unknown): number {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    return status;
  }

  private route(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const url = new URL(req.url ?? '/', this.url);
    const record: WorkspaceRequest = {
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      credentials: 'none',
      status: 0,
    };
    const c = this.credentials(req);
    record.credentials = c.kind === 'basic' ? `basic:${Buffer.from(c.value, 'base64').toString('utf8').split(':')[0]}` : c.kind === 'bearer' ? `bearer:${c.value}` : 'none';
    this.requests.push(record);
    const fail = (status: number, what: string) => {
      this.unexpected.push(`${req.method} ${url.pathname}${url.search}: ${what}`);
      record.status = this.json(res, status, { error_code: 'BAD_REQUEST', message: `The Databricks double does not understand this request: ${what}` });
    };

    if (url.pathname === '/oidc/v1/token') {
      if (req.method !== 'POST') return fail(405, 'the token endpoint takes POST');
      record.status = this.token(req, res, body);
      return;
    }
    if (url.pathname === this.warehousePath) {
      if (req.method !== 'POST' || req.headers['content-type'] !== 'application/x-thrift') return fail(400, 'warehouse calls are Thrift POSTs');
      this.thrift(req, res, body, record);
      return;
    }
    if (url.pathname.startsWith(`${UC}/`)) {
      if (req.method !== 'GET') return fail(405, 'only GET is served');
      if (!this.validBearer(req)) {
        record.status = this.json(res, 401, { error_code: 'UNAUTHENTICATED', message: 'Invalid access token.' });
        return;
      }
      record.status = this.unityCatalog(url, res, fail);
      return;
    }
    fail(404, 'no such endpoint');
  }

  private token(req: IncomingMessage, res: ServerResponse, body: Buffer): number {
    const form = Object.fromEntries(new URLSearchParams(body.toString('utf8')));
    const c = this.credentials(req);
    const [clientId, ...rest] = c.kind === 'basic' ? Buffer.from(c.value, 'base64').toString('utf8').split(':') : [];
    const secret = rest.join(':');
    const entry: TokenRequest = { clientId, body: form, status: 0 };
    this.tokenRequests.push(entry);
    if (req.headers['content-type'] !== 'application/x-www-form-urlencoded' || form.grant_type !== 'client_credentials' || form.scope !== 'all-apis') {
      this.unexpected.push(`token request ${JSON.stringify(form)}`);
      return (entry.status = this.json(res, 400, { error: 'invalid_request', error_description: 'grant_type=client_credentials and scope=all-apis are required' }));
    }
    if (clientId === undefined || this.options.clients[clientId] === undefined || this.options.clients[clientId] !== secret) {
      return (entry.status = this.json(res, 401, { error: 'invalid_client', error_description: 'Client authentication failed' }));
    }
    const token = `dapi-double-${randomBytes(12).toString('hex')}`;
    const lifetime = this.options.tokenLifetimeS ?? 3600;
    this.tokens.set(token, { expiresAt: Date.now() + lifetime * 1000, revoked: false });
    return (entry.status = this.json(res, 200, { access_token: token, token_type: 'Bearer', expires_in: lifetime, scope: 'all-apis' }));
  }

  private unityCatalog(url: URL, res: ServerResponse, fail: (status: number, what: string) => void): number {
    const rest = decodeURIComponent(url.pathname.slice(UC.length + 1));
    const q = url.searchParams;
    const notFound = (code: string, message: string) => this.json(res, 404, { error_code: code, message });
    let m: RegExpExecArray | null;
    if ((m = /^schemas\/([^/.]+)\.([^/.]+)$/.exec(rest))) {
      if ([...q.keys()].some((k) => k !== 'include_browse')) return (fail(400, 'unknown query parameter'), 400);
      const [, catalog = '', schema = ''] = m;
      if (!this.model.catalog(catalog)) return notFound('CATALOG_DOES_NOT_EXIST', `Catalog '${catalog}' does not exist.`);
      const info = this.model.schema(catalog, schema);
      if (!info) return notFound('SCHEMA_DOES_NOT_EXIST', `Schema '${catalog}.${schema}' does not exist.`);
      return this.json(res, 200, { name: schema, catalog_name: catalog, full_name: `${catalog}.${schema}`, owner: 'double', ...(info.comment ? { comment: info.comment } : {}) });
    }
    if (rest === 'tables') {
      const unknown = [...q.keys()].filter((k) => !LIST_PARAMS.has(k));
      if (unknown.length > 0 || !q.get('catalog_name') || !q.get('schema_name')) return (fail(400, `list parameters ${[...q.keys()].join(',')}`), 400);
      const catalog = q.get('catalog_name')!;
      const schema = q.get('schema_name')!;
      if (!this.model.catalog(catalog)) return notFound('CATALOG_DOES_NOT_EXIST', `Catalog '${catalog}' does not exist.`);
      const info = this.model.schema(catalog, schema);
      if (!info) return notFound('SCHEMA_DOES_NOT_EXIST', `Schema '${catalog}.${schema}' does not exist.`);
      // Pages of ucPageSize; the page after the first is empty but still points on, as the API allows.
      const size = this.options.ucPageSize ?? 2;
      const token = q.get('page_token');
      const pageIndex = token ? Number(/^p(\d+)$/.exec(token)?.[1] ?? NaN) : 0;
      if (!Number.isInteger(pageIndex)) return (fail(400, `page_token ${token}`), 400);
      const omitColumns = q.get('omit_columns') === 'true';
      const browse = q.get('include_browse') === 'true';
      const tables = info.tables.filter((t) => browse || !t.browseOnly);
      const slices = [tables.slice(0, size), [], ...chunk(tables.slice(size), size)];
      const page = slices[pageIndex] ?? [];
      const next = pageIndex + 1 < slices.length ? `p${pageIndex + 1}` : undefined;
      return this.json(res, 200, {
        tables: page.map((t) => tableInfo(catalog, schema, t, { columns: !omitColumns, constraints: false })),
        ...(next ? { next_page_token: next } : {}),
      });
    }
    if ((m = /^tables\/([^/.]+)\.([^/.]+)\.([^/]+)$/.exec(rest))) {
      if ([...q.keys()].some((k) => !['include_browse', 'include_delta_metadata', 'include_manifest_capabilities'].includes(k))) return (fail(400, 'unknown query parameter'), 400);
      const [, catalog = '', schema = '', name = ''] = m;
      const table = this.model.table(catalog, schema, name);
      if (!table) return notFound('TABLE_DOES_NOT_EXIST', `Table '${catalog}.${schema}.${name}' does not exist.`);
      // Without include_browse a table the principal may only browse is refused (the exact answer is not documented).
      if (table.browseOnly && q.get('include_browse') !== 'true') return this.json(res, 403, { error_code: 'PERMISSION_DENIED', message: `User does not have SELECT on Table '${catalog}.${schema}.${name}'.` });
      return this.json(res, 200, tableInfo(catalog, schema, table, { columns: true, constraints: true }));
    }
    fail(404, 'no such Unity Catalog endpoint');
    return 404;
  }

  private thrift(req: IncomingMessage, res: ServerResponse, body: Buffer, record: WorkspaceRequest): void {
    record.thrift = thriftMethod(body);
    if (this.warehouseState.state === 'STOPPED') {
      if (this.warehouseState.startAfter !== undefined && this.warehouseState.startAfter-- <= 0) this.warehouseState = { state: 'RUNNING' };
      else {
        record.status = 503;
        res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error_code: 'TEMPORARILY_UNAVAILABLE', message: 'The SQL warehouse is not running; it is starting.' }));
        return;
      }
    }
    if (!this.validBearer(req)) {
      record.status = 401;
      res.writeHead(401).end();
      return;
    }
    const processor = new TCLIService.Processor(this.warehouse.handler());
    thrift.TBufferedTransport.receiver((transport: any) => {
      const input = new thrift.TBinaryProtocol(transport);
      const output = new thrift.TBinaryProtocol(
        new thrift.TBufferedTransport(undefined, (reply: Buffer) => {
          record.status = 200;
          res.writeHead(200, { 'content-type': 'application/x-thrift' }).end(reply);
        }),
      );
      processor.process(input, output);
    })(body);
  }
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A TableInfo as Unity Catalog spells it (absent fields omitted). */
function tableInfo(catalog: string, schema: string, t: DbxTable, include: { columns: boolean; constraints: boolean }): object {
  const view = (t.tableType ?? 'MANAGED') === 'VIEW';
  return {
    name: t.name,
    catalog_name: catalog,
    schema_name: schema,
    full_name: `${catalog}.${schema}.${t.name}`,
    table_type: t.tableType ?? 'MANAGED',
    ...(view ? {} : { data_source_format: t.dataSourceFormat ?? 'DELTA' }),
    ...(t.comment ? { comment: t.comment } : {}),
    ...(t.browseOnly ? { browse_only: true } : {}),
    ...(include.columns
      ? {
          columns: t.columns.map((c, i) => ({
            name: c.name,
            type_name: c.typeName,
            type_text: c.typeText,
            type_json: JSON.stringify({ name: c.name, type: c.typeText, nullable: c.nullable !== false, metadata: {} }),
            position: i,
            ...(c.nullable === false ? { nullable: false } : { nullable: true }),
            ...(c.comment ? { comment: c.comment } : {}),
            ...(/^decimal\((\d+),(\d+)\)$/.test(c.typeText) ? { type_precision: Number(/\((\d+)/.exec(c.typeText)![1]), type_scale: Number(/,(\d+)\)/.exec(c.typeText)![1]) } : {}),
          })),
        }
      : {}),
    ...(include.constraints && t.primaryKey ? { table_constraints: [{ primary_key_constraint: { name: `${t.name}_pk`, child_columns: t.primaryKey } }] } : {}),
  };
}

/** The Thrift method name at the head of a TBinaryProtocol message. */
function thriftMethod(body: Buffer): string | undefined {
  let name: string | undefined;
  try {
    thrift.TBufferedTransport.receiver((transport: any) => {
      name = new thrift.TBinaryProtocol(transport).readMessageBegin().fname;
    })(body);
  } catch {
    return undefined;
  }
  return name;
}
