/**
 * A protocol-level Obiba OPAL double: an in-process HTTP(S) server on a free
 * loopback port speaking the part of OPAL's REST API the publisher uses
 * (as read in the obiba/opal server's sources), over in-memory state, so tests drive the
 * real client and assert the resulting OPAL state rather than a call sequence.
 *
 * What it speaks, under `{base}/ws` (the server's behaviour as read in obiba/opal):
 * - authentication on every call: `Authorization: Basic base64(user:password)` or
 *   `X-Opal-Auth: <token>`; anything else gets 401 with an empty body;
 * - `GET /system/subject-profile/_current` → the caller's profile;
 * - `GET /project/{p}` → ProjectDto or 404 `NoSuchProject`; `GET /projects`;
 *   `POST /projects` (ProjectFactoryDto) → 201 + Location, 400 when it exists or
 *   the name is not `^[\w _-]+$`;
 * - `GET /system/subject-credentials`, `GET /system/subject-credential/{n}` (404 when
 *   missing, no password in the answer), `POST /system/subject-credentials` (400 for
 *   an empty/`*` name, a `*` group or a password outside OPAL's rule; 409 duplicate),
 *   `PUT /system/subject-credential/{n}` (400 name mismatch, 404 missing; the
 *   password is kept when none is sent; the authentication type cannot change);
 *   groups exist through their members (`GET /system/groups`, `GET /system/group/{g}`);
 * - `GET|POST /system/permissions/datashield`, `GET|POST /project/{p}/permissions/resources`
 *   with `type` (USER|GROUP), `permission`, `principal` query parameters; a POST
 *   replaces the subject's permission on the node, as OPAL does; an unknown enum
 *   value is 404 (JAX-RS), no principal is 400;
 * - `GET /project/{p}/resources[?safe=]` sorted by name, credentials only with
 *   `safe=false`; `POST` → 201 (400 when the body's project differs, 409 duplicate);
 *   `GET|PUT /project/{p}/resource/{name}`; 404 for an unknown project.
 * JSON is rendered as OPAL's protobuf JsonFormat does (camelCase, enums as names,
 * `parameters`/`credentials` as strings holding JSON). Anything else — another
 * path, method, query key, body field or content type — is answered with the
 * status OPAL would give (404, 405, 400, 415) and recorded in
 * {@link OpalDouble.unexpected}, so a test can assert nothing else was called.
 */
import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { stopHttpServer } from './http-server.js';
import type { AddressInfo } from 'node:net';
import { testTls } from './keyvault-double.js';

/** OPAL's password rule (SubjectCredentialsServiceImpl.PWD_PATTERN). */
export const OPAL_PASSWORD_RULE = /^(?=.*[0-9])(?=.*[a-z])(?=.*[A-Z])(?=.*[@#$%^&+=!])(?=\S+$).{8,64}$/;
const PROJECT_NAME = /^[\w _-]+$/;
const SUBJECT_TYPES = ['USER', 'GROUP'] as const;
const DATASHIELD_PERMISSIONS = ['DATASHIELD_USE', 'DATASHIELD_ALL'];
const RESOURCES_PERMISSIONS = ['RESOURCES_VIEW', 'RESOURCES_ALL'];

/** One request as the double received it. */
export interface OpalRequest {
  method: string;
  /** The path after `/ws`, segments decoded, e.g. `/project/Pr004/resources`. */
  path: string;
  /** The query as sent, decoded, in order. */
  query: Array<[string, string]>;
  /** How the caller authenticated: the double's user, its token, something wrong, or nothing. */
  auth: 'basic' | 'token' | 'invalid' | 'none';
  /** The raw Authorization header, to assert its form. */
  authorization: string | undefined;
  /** The parsed JSON body, if any. */
  body: unknown;
  /** The status the double answered. */
  status: number;
}

export interface OpalProject {
  name: string;
  title: string;
  description?: string;
}

export interface OpalUser {
  name: string;
  authenticationType: 'PASSWORD' | 'CERTIFICATE';
  groups: string[];
  enabled: boolean;
}

export interface OpalPermission {
  /** `/datashield` or `/project/{p}/resources`. */
  node: string;
  principal: string;
  type: 'USER' | 'GROUP';
  permission: string;
}

export interface OpalResource {
  project: string;
  name: string;
  description?: string;
  provider: string;
  factory: string;
  /** The JSON string OPAL stores. */
  parameters: string;
  credentials?: string;
  created: string;
  updated: string;
}

/** The double's whole state, plain and sorted, for deepEqual. */
export interface OpalStateView {
  projects: OpalProject[];
  users: OpalUser[];
  groups: Array<{ name: string; members: string[] }>;
  permissions: OpalPermission[];
  resources: Array<Omit<OpalResource, 'parameters' | 'credentials' | 'created' | 'updated'> & { parameters: unknown; credentials: unknown }>;
}

export interface OpalDoubleOptions {
  username?: string;
  password?: string;
  /** A personal access token accepted in `X-Opal-Auth`. */
  token?: string;
  /** Serve HTTPS with the throwaway test certificate (127.0.0.1/localhost). */
  tls?: boolean;
  /** A path the server is mounted under (`https://host/opal` → `/opal/ws/…`). */
  basePath?: string;
}

export interface OpalDouble {
  /** The base URL to configure (DESTINATION_OPAL_HOST), without `/ws`. */
  readonly url: string;
  readonly username: string;
  readonly password: string;
  /** PEM of the CA that signed the TLS certificate (with `tls`). */
  readonly ca: string | undefined;
  /** Every request received, in order. */
  readonly requests: OpalRequest[];
  /** A line per request the double did not understand; a test should expect it empty. */
  readonly unexpected: string[];
  /** The state, plain and sorted. */
  state(): OpalStateView;
  /** The password a user was created with (the double keeps it to check it never leaks). */
  passwordOf(user: string): string | undefined;
  /** Every password held, with the double's own: for asserting none leaks. */
  secrets(): string[];
  /** The next `times` authenticated requests matching are answered with `status`. */
  failNext(match: { method?: string; path?: RegExp }, status: number, times?: number): void;
  /** State set-up: a project, a user, a permission, a resource as if made earlier. */
  seed: {
    project(p: OpalProject): void;
    user(u: OpalUser, password?: string): void;
    permission(p: OpalPermission): void;
    resource(r: Omit<OpalResource, 'created' | 'updated'>): void;
  };
  /** Requests that changed state (POST, PUT, DELETE answered 2xx). */
  writes(): OpalRequest[];
  clearLog(): void;
  stop(): Promise<void>;
}

interface ClientError {
  code: number;
  status: string;
  arguments?: string[];
}

class Answer {
  constructor(
    readonly status: number,
    readonly body?: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

const clientError = (code: number, status: string, ...args: string[]): Answer =>
  new Answer(code, { code, status, ...(args.length > 0 ? { arguments: args } : {}) } satisfies ClientError);

/** A request the double does not serve: recorded, answered as OPAL would. */
class NotUnderstood extends Error {
  constructor(
    readonly status: number,
    why: string,
  ) {
    super(why);
  }
}

function sortBy<T>(list: T[], key: (t: T) => string): T[] {
  return list.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function parseJsonString(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Starts an OPAL double on 127.0.0.1, port 0. */
export async function startOpalDouble(options: OpalDoubleOptions = {}): Promise<OpalDouble> {
  const username = options.username ?? 'administrator';
  const password = options.password ?? `Opal-admin-${randomBytes(6).toString('hex')}!`;
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  const tls = options.tls ? await testTls() : undefined;

  const projects = new Map<string, OpalProject>();
  const users = new Map<string, OpalUser & { password?: string }>();
  const permissions: OpalPermission[] = [];
  const resources = new Map<string, Map<string, OpalResource>>();
  const requests: OpalRequest[] = [];
  const unexpected: string[] = [];
  const failures: Array<{ method?: string; path?: RegExp; status: number; left: number }> = [];

  const groupsOf = () => {
    const groups = new Map<string, string[]>();
    for (const u of users.values()) for (const g of u.groups) groups.set(g, [...(groups.get(g) ?? []), u.name]);
    return groups;
  };

  const aclDto = (p: OpalPermission) => ({ subject: { principal: p.principal, type: p.type }, resource: p.node, actions: [p.permission], domain: 'opal' });
  const userDto = (u: OpalUser) => ({ name: u.name, authenticationType: u.authenticationType, groups: [...u.groups], enabled: u.enabled });
  const projectDto = (p: OpalProject) => ({
    name: p.name,
    title: p.title,
    ...(p.description ? { description: p.description } : {}),
    directory: `/srv/projects/${p.name}`,
    link: `/project/${p.name}`,
    archived: false,
    datasourceStatus: 'NONE',
  });
  const resourceDto = (r: OpalResource, withCredentials: boolean) => ({
    name: r.name,
    project: r.project,
    provider: r.provider,
    factory: r.factory,
    parameters: r.parameters,
    created: r.created,
    updated: r.updated,
    editable: withCredentials,
    ...(r.description ? { description: r.description } : {}),
    ...(withCredentials && r.credentials !== undefined ? { credentials: r.credentials } : {}),
    resource: { name: r.name, url: `${r.factory}://${r.name}` },
  });

  /** Checks the query keys a route takes; answers the subject type and permission it names. */
  function permissionQuery(query: Array<[string, string]>, keys: readonly string[], allowed: string[]) {
    for (const [k] of query) if (!keys.includes(k)) throw new NotUnderstood(400, `query key '${k}' is not understood`);
    const typeText = query.find(([k]) => k === 'type')?.[1];
    const permission = query.find(([k]) => k === 'permission')?.[1];
    const principals = query.filter(([k]) => k === 'principal').map(([, v]) => v);
    // JAX-RS answers 404 when a query parameter cannot be converted to its enum.
    if (typeText !== undefined && !(SUBJECT_TYPES as readonly string[]).includes(typeText)) return { error: new Answer(404) };
    if (permission !== undefined && !allowed.includes(permission)) return { error: new Answer(404) };
    return { type: typeText as OpalPermission['type'] | undefined, permission, principals };
  }

  /** The query keys each permissions route takes (DataShield's GET takes only `type`). */
  function permissionKeys(node: string, method: string): string[] {
    return node === '/datashield' && method === 'GET' ? ['type'] : ['type', 'principal', 'permission'];
  }

  function permissionsRoute(method: string, node: string, query: Array<[string, string]>, allowed: string[]): Answer {
    if (method !== 'GET' && method !== 'POST') throw new NotUnderstood(405, `method ${method} is not served on ${node} permissions`);
    const q = permissionQuery(query, permissionKeys(node, method), allowed);
    if (q.error) return q.error;
    if (method === 'GET') {
      return new Answer(200, permissions.filter((p) => p.node === node && (q.type === undefined || p.type === q.type)).map(aclDto));
    }
    if (method === 'POST') {
      if (q.principals.length === 0) return clientError(400, 'InvalidRequest', 'A principal is required.');
      if (q.permission === undefined) return clientError(400, 'InvalidRequest', 'A permission is required.');
      const type = q.type ?? 'USER';
      for (const principal of q.principals) {
        // OPAL replaces the subject's permission on the node.
        for (let i = permissions.length - 1; i >= 0; i--) {
          const p = permissions[i]!;
          if (p.node === node && p.principal === principal && p.type === type) permissions.splice(i, 1);
        }
        permissions.push({ node, principal, type, permission: q.permission });
      }
      return new Answer(200);
    }
    throw new NotUnderstood(405, `method ${method} is not served on ${node} permissions`);
  }


  function requireJson(req: IncomingMessage, body: unknown): Record<string, unknown> {
    if (!/^application\/json/i.test(req.headers['content-type'] ?? '')) throw new NotUnderstood(415, 'a body that is not application/json');
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new NotUnderstood(400, 'a body that is not a JSON object');
    return body as Record<string, unknown>;
  }

  function onlyFields(body: Record<string, unknown>, fields: string[], what: string): void {
    const extra = Object.keys(body).filter((k) => !fields.includes(k));
    if (extra.length > 0) throw new NotUnderstood(400, `${what} fields not understood: ${extra.join(', ')}`);
  }

  function noQuery(query: Array<[string, string]>): void {
    if (query.length > 0) throw new NotUnderstood(400, `query keys not understood: ${query.map(([k]) => k).join(', ')}`);
  }

  function route(req: IncomingMessage, method: string, s: string[], query: Array<[string, string]>, body: unknown): Answer {
    const path = s.join('/');
    if (path === 'system/subject-profile/_current') {
      if (method !== 'GET') throw new NotUnderstood(405, 'only GET');
      noQuery(query);
      return new Answer(200, { principal: username, realm: 'opal-ini-realm', groups: [], created: '2025-01-01T00:00:00Z', lastUpdate: '2025-01-01T00:00:00Z', otpRequired: false });
    }
    if (path === 'projects') {
      noQuery(query);
      if (method === 'GET') return new Answer(200, sortBy([...projects.values()], (p) => p.name).map(projectDto));
      if (method !== 'POST') throw new NotUnderstood(405, 'only GET and POST');
      const dto = requireJson(req, body);
      onlyFields(dto, ['name', 'title', 'description', 'database', 'tags', 'exportFolder', 'vcfStoreService'], 'ProjectFactoryDto');
      const name = dto.name;
      if (typeof name !== 'string') throw new NotUnderstood(400, 'ProjectFactoryDto without a name');
      if (projects.has(name)) return clientError(400, 'IllegalArgument', 'Project already exists');
      if (!PROJECT_NAME.test(name)) return clientError(400, 'IllegalArgument', 'Project nome invalid: only words, blank space, underscore and hyphen characters are valid');
      projects.set(name, { name, title: typeof dto.title === 'string' ? dto.title : name, ...(typeof dto.description === 'string' ? { description: dto.description } : {}) });
      resources.set(name, new Map());
      return new Answer(201, undefined, { location: `${url}/ws/project/${encodeURIComponent(name)}` });
    }
    if (s[0] === 'project' && s.length >= 2) {
      const project = s[1]!;
      const known = projects.has(project);
      const noSuchProject = clientError(404, 'NoSuchProject', project);
      if (s.length === 2) {
        if (method !== 'GET') throw new NotUnderstood(405, 'only GET on a project');
        noQuery(query);
        return known ? new Answer(200, projectDto(projects.get(project)!)) : noSuchProject;
      }
      if (s.length === 3 && s[2] === 'resources') {
        if (method === 'GET') {
          for (const [k, v] of query) {
            if (k !== 'safe') throw new NotUnderstood(400, `query key '${k}' is not understood`);
            if (v !== 'true' && v !== 'false') throw new NotUnderstood(400, `safe='${v}' is not a boolean`);
          }
          if (!known) return noSuchProject;
          const safe = query.find(([k]) => k === 'safe')?.[1] !== 'false';
          return new Answer(200, sortBy([...resources.get(project)!.values()], (r) => r.name).map((r) => resourceDto(r, !safe)));
        }
        if (method !== 'POST') throw new NotUnderstood(405, 'only GET and POST on resources');
        noQuery(query);
        const dto = requireJson(req, body);
        onlyFields(dto, ['name', 'description', 'project', 'provider', 'factory', 'parameters', 'credentials'], 'ResourceReferenceDto');
        if (dto.project !== project) return clientError(400, 'IllegalArgument', `Expected project name: ${project}`);
        if (!known) return noSuchProject;
        return saveResource(project, dto, 'create');
      }
      if (s.length === 4 && s[2] === 'resource') {
        noQuery(query);
        if (!known) return noSuchProject;
        const name = s[3]!;
        const found = resources.get(project)!.get(name);
        if (method === 'GET') return found ? new Answer(200, resourceDto(found, true)) : clientError(404, 'NoSuchResourceReference', name);
        if (method !== 'PUT') throw new NotUnderstood(405, 'only GET and PUT on a resource');
        const dto = requireJson(req, body);
        onlyFields(dto, ['name', 'description', 'project', 'provider', 'factory', 'parameters', 'credentials'], 'ResourceReferenceDto');
        if (dto.project !== project) return clientError(400, 'IllegalArgument', `Expecting a resource of project: ${project}`);
        if (!found) return clientError(404, 'NoSuchResourceReference', name);
        resources.get(project)!.delete(name);
        return saveResource(project, dto, 'update', found.created);
      }
      if (s.length === 4 && s[2] === 'permissions' && s[3] === 'resources') {
        if (!known) {
          permissionQuery(query, permissionKeys('', method), RESOURCES_PERMISSIONS);
          return noSuchProject;
        }
        return permissionsRoute(method, `/project/${project}/resources`, query, RESOURCES_PERMISSIONS);
      }
      throw new NotUnderstood(404, 'no such project path');
    }
    if (path === 'system/permissions/datashield') return permissionsRoute(method, '/datashield', query, DATASHIELD_PERMISSIONS);
    if (path === 'system/groups') {
      if (method !== 'GET') throw new NotUnderstood(405, 'only GET on groups (groups are made through members)');
      noQuery(query);
      return new Answer(200, sortBy([...groupsOf()], ([g]) => g).map(([name, members]) => ({ name, subjectCredentials: members })));
    }
    if (s[0] === 'system' && s[1] === 'group' && s.length === 3) {
      if (method !== 'GET') throw new NotUnderstood(405, 'only GET on a group');
      noQuery(query);
      const members = groupsOf().get(s[2]!);
      return members ? new Answer(200, { name: s[2], subjectCredentials: members }) : new Answer(404);
    }
    if (path === 'system/subject-credentials') {
      noQuery(query);
      if (method === 'GET') return new Answer(200, sortBy([...users.values()], (u) => u.name).map(userDto));
      if (method !== 'POST') throw new NotUnderstood(405, 'only GET and POST on subject credentials');
      const dto = requireJson(req, body);
      onlyFields(dto, ['name', 'authenticationType', 'password', 'certificate', 'groups', 'enabled'], 'SubjectCredentialsDto');
      const user = subjectFrom(dto);
      if (user instanceof Answer) return user;
      if (user.name.trim() === '') return clientError(400, 'BadRequest', 'Subject name cannot be empty');
      if (user.name.trim() === '*') return clientError(400, 'BadRequest', 'Subject name not allowed');
      if (users.has(user.name)) return clientError(409, 'Conflict', 'Subject name must be unique');
      if (user.authenticationType === 'PASSWORD' && typeof dto.password === 'string' && !OPAL_PASSWORD_RULE.test(dto.password)) {
        return clientError(400, 'PasswordTooWeak');
      }
      users.set(user.name, { ...user, ...(typeof dto.password === 'string' ? { password: dto.password } : {}) });
      return new Answer(200);
    }
    if (s[0] === 'system' && s[1] === 'subject-credential' && s.length === 3) {
      noQuery(query);
      const name = s[2]!;
      const found = users.get(name);
      if (method === 'GET') return found ? new Answer(200, userDto(found)) : new Answer(404);
      if (method !== 'PUT') throw new NotUnderstood(405, 'only GET and PUT on a subject credential');
      const dto = requireJson(req, body);
      onlyFields(dto, ['name', 'authenticationType', 'password', 'certificate', 'groups', 'enabled'], 'SubjectCredentialsDto');
      if (dto.name !== name) return new Answer(400);
      if (!found) return new Answer(404);
      const user = subjectFrom(dto);
      if (user instanceof Answer) return user;
      if (user.authenticationType !== found.authenticationType) return clientError(400, 'BadRequest', 'Authentication type cannot be changed');
      let stored = found.password;
      if (typeof dto.password === 'string' && dto.password !== '') {
        if (!OPAL_PASSWORD_RULE.test(dto.password)) return clientError(400, 'PasswordTooWeak');
        stored = dto.password;
      }
      users.set(name, { ...user, ...(stored !== undefined ? { password: stored } : {}) });
      return new Answer(200);
    }
    throw new NotUnderstood(404, 'no such path');
  }

  function subjectFrom(dto: Record<string, unknown>): OpalUser | Answer {
    if (typeof dto.name !== 'string') throw new NotUnderstood(400, 'SubjectCredentialsDto without a name');
    const type = dto.authenticationType;
    if (type !== 'PASSWORD' && type !== 'CERTIFICATE') throw new NotUnderstood(400, `authenticationType ${String(type)} is not PASSWORD or CERTIFICATE`);
    const groups = dto.groups ?? [];
    if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string')) throw new NotUnderstood(400, 'groups is not a list of names');
    if ((groups as string[]).some((g) => g.trim() === '*')) return clientError(400, 'BadRequest', 'Group name not allowed');
    if (dto.enabled !== undefined && typeof dto.enabled !== 'boolean') throw new NotUnderstood(400, 'enabled is not a boolean');
    return { name: dto.name, authenticationType: type, groups: [...new Set(groups as string[])], enabled: (dto.enabled as boolean | undefined) ?? true };
  }

  function saveResource(project: string, dto: Record<string, unknown>, mode: 'create' | 'update', created?: string): Answer {
    for (const field of ['name', 'provider', 'factory', 'parameters'] as const) {
      if (typeof dto[field] !== 'string') throw new NotUnderstood(400, `ResourceReferenceDto without the required string field '${field}'`);
    }
    if (dto.credentials !== undefined && typeof dto.credentials !== 'string') throw new NotUnderstood(400, 'credentials is not a string');
    const name = dto.name as string;
    if (name === '*') return clientError(400, 'ReservedResourceName');
    const list = resources.get(project)!;
    if (mode === 'create' && list.has(name)) return clientError(409, 'Conflict', name);
    const now = new Date().toISOString();
    list.set(name, {
      project,
      name,
      ...(typeof dto.description === 'string' && dto.description !== '' ? { description: dto.description } : {}),
      provider: dto.provider as string,
      factory: dto.factory as string,
      parameters: dto.parameters as string,
      ...(typeof dto.credentials === 'string' ? { credentials: dto.credentials } : {}),
      created: created ?? now,
      updated: now,
    });
    return mode === 'create' ? new Answer(201, undefined, { location: `${url}/ws/project/${encodeURIComponent(project)}/resource/${encodeURIComponent(name)}` }) : new Answer(200);
  }

  function authOf(req: IncomingMessage): OpalRequest['auth'] {
    const token = req.headers['x-opal-auth'];
    if (typeof token === 'string') return options.token && token === options.token ? 'token' : 'invalid';
    const header = req.headers.authorization;
    if (header === undefined) return 'none';
    const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header);
    if (!match) return 'invalid';
    return Buffer.from(match[1]!, 'base64').toString('utf8') === `${username}:${password}` ? 'basic' : 'invalid';
  }

  function send(res: ServerResponse, answer: Answer): void {
    const headers: Record<string, string> = { 'x-opal-version': '5.1.0', ...answer.headers };
    if (answer.body === undefined) {
      res.writeHead(answer.status, headers);
      res.end();
      return;
    }
    const text = JSON.stringify(answer.body);
    res.writeHead(answer.status, { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
    res.end(text);
  }

  function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): void {
    const method = req.method ?? '?';
    const target = new URL(req.url ?? '/', 'http://double.invalid');
    const query = [...target.searchParams.entries()];
    let body: unknown;
    const text = raw.toString('utf8');
    const entry: OpalRequest = { method, path: '', query, auth: authOf(req), authorization: req.headers.authorization, body: undefined, status: 0 };
    requests.push(entry);
    const finish = (answer: Answer) => {
      entry.status = answer.status;
      send(res, answer);
    };
    const prefix = `${basePath}/ws/`;
    if (!target.pathname.startsWith(prefix)) {
      unexpected.push(`${method} ${req.url}: not under ${prefix}`);
      return finish(new Answer(404));
    }
    let segments: string[];
    try {
      segments = target.pathname.slice(prefix.length).replace(/\/$/, '').split('/').map((p) => decodeURIComponent(p));
    } catch {
      unexpected.push(`${method} ${req.url}: a path that is not percent-encoded UTF-8`);
      return finish(new Answer(400));
    }
    entry.path = `/${segments.join('/')}`;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      entry.body = body;
    }
    if (entry.auth !== 'basic' && entry.auth !== 'token') return finish(new Answer(401, undefined, { 'www-authenticate': 'Basic realm="opal"' }));
    if (method === 'GET' && text.length > 0) {
      unexpected.push(`${method} ${entry.path}: a GET with a body`);
      return finish(new Answer(400));
    }
    const failure = failures.find((f) => f.left > 0 && (!f.method || f.method === method) && (!f.path || f.path.test(entry.path)));
    if (failure) {
      failure.left -= 1;
      return finish(clientError(failure.status, 'InternalServerError', 'injected failure'));
    }
    try {
      finish(route(req, method, segments, query, body));
    } catch (error) {
      if (!(error instanceof NotUnderstood)) throw error;
      unexpected.push(`${method} ${entry.path}${target.search}: ${error.message}`);
      finish(new Answer(error.status));
    }
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(chunks));
      } catch (error) {
        unexpected.push(`${req.method} ${req.url}: the double failed: ${(error as Error).message}`);
        if (!res.headersSent) send(res, clientError(500, 'OpalDoubleFailed'));
      }
    });
  };
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, listener) : http.createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}${basePath}`;

  let stopped = false;
  return {
    url,
    username,
    password,
    ca: tls?.ca,
    requests,
    unexpected,
    state() {
      return {
        projects: sortBy([...projects.values()].map((p) => ({ ...p })), (p) => p.name),
        users: sortBy([...users.values()].map((u) => ({ ...userDto(u), groups: [...u.groups].sort() })), (u) => u.name),
        groups: sortBy([...groupsOf()].map(([name, members]) => ({ name, members: [...members].sort() })), (g) => g.name),
        permissions: sortBy(permissions.map((p) => ({ ...p })), (p) => `${p.node}\u0000${p.type}\u0000${p.principal}`),
        resources: sortBy(
          [...resources.values()].flatMap((m) => [...m.values()]).map(({ created: _c, updated: _u, parameters, credentials, ...r }) => ({
            ...r,
            parameters: parseJsonString(parameters),
            credentials: parseJsonString(credentials),
          })),
          (r) => `${r.project}\u0000${r.name}`,
        ),
      };
    },
    passwordOf: (user) => users.get(user)?.password,
    secrets: () => [password, ...[...users.values()].flatMap((u) => (u.password ? [u.password] : []))],
    failNext(match, status, times = 1) {
      failures.push({ ...match, status, left: times });
    },
    seed: {
      project(p) {
        projects.set(p.name, { ...p });
        if (!resources.has(p.name)) resources.set(p.name, new Map());
      },
      user(u, pw) {
        users.set(u.name, { ...u, groups: [...u.groups], ...(pw !== undefined ? { password: pw } : {}) });
      },
      permission(p) {
        permissions.push({ ...p });
      },
      resource(r) {
        const now = new Date().toISOString();
        if (!resources.has(r.project)) throw new Error(`seed the project '${r.project}' first`);
        resources.get(r.project)!.set(r.name, { ...r, created: now, updated: now });
      },
    },
    writes: () => requests.filter((r) => r.method !== 'GET' && r.status >= 200 && r.status < 300),
    clearLog() {
      requests.length = 0;
      unexpected.length = 0;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopHttpServer(server);
    },
  };
}
