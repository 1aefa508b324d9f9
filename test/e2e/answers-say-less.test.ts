/**
 * Say less to callers (issue #11.8): one sweep that provokes every class of
 * error the services answer, through all three, and checks each whole answer
 * (status line, headers, body) for what belongs in the log only: file-system
 * paths of this machine, process ids, its host name, and the addresses of the
 * services themselves. `/readyz` says ready or not to anyone, and why only to
 * a caller with the key.
 *
 * The sweep is a table (CASES): a new error class is one more row. A row whose
 * leak is another change's to fix carries `todo` naming it; node:test reports
 * it without failing the run until that change lands (then the row passes and
 * its `todo` goes).
 */
import assert from 'node:assert/strict';
import { rename } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildGatewayApp } from '../../gateway/src/app.js';
import { AuditLog } from '../../lib/audit/audit-log.js';
import { ApiKeyVerifier } from '../../lib/auth/api-key.js';
import { createLogger } from '../../lib/logging/logger.js';
import { fromRoot } from '../../lib/paths.js';
import type { FastifyInstance } from 'fastify';
import { createPgDatabase, type TestPgDatabase } from '../support/databases.js';
import { keyFor, keys, startPlatform, type Platform } from '../support/platform.js';
import { freePort } from '../support/processes.js';
import { exchange, stall } from '../support/raw-http.js';
import { accessRequest, dataset, publishRequest, sqlSource, transferRequest, writeSourceSecrets } from '../support/requests.js';

const DEADLINE_MS = 1500;

let platform: Platform;
let pgDb: TestPgDatabase;
/** A gateway whose metadata subgraph is at an address where nothing listens. */
let orphan: FastifyInstance;
let orphanUrl: string;
/** Nothing listens here: the orphan gateway's metadata subgraph. */
let deadPort: number;
/** Nor here: a source the caller names. */
let deadSourcePort: number;
/** The services' log lines. */
const lines: string[] = [];

before(async () => {
  pgDb = await createPgDatabase('sayless');
  await pgDb.client.query('CREATE TABLE person (id integer); CREATE VIEW sleepy AS SELECT pg_sleep(3)::text AS s');
  process.env.PACKAGE_DEADLINE_MS = String(DEADLINE_MS);
  try {
    platform = await startPlatform({ limits: { headersTimeoutMs: 500, bodyTimeoutMs: 10_000, keepAliveTimeoutMs: 5000, maxConnections: 1000 }, logStream: { write: (line) => void lines.push(line) } });
  } finally {
    delete process.env.PACKAGE_DEADLINE_MS;
  }
  await writeSourceSecrets(platform, 'postgresql');
  await writeSourceSecrets(platform, 'mysql');
  await platform.writeSecret('wrong-password', 'not-the-password');
  deadPort = await freePort();
  deadSourcePort = await freePort();
  orphan = await buildGatewayApp({
    log: createLogger('approval', 'silent'),
    audit: new AuditLog(undefined, () => undefined),
    apiKey: new ApiKeyVerifier(keys.approval),
    subgraphs: { metadata: { url: `http://127.0.0.1:${deadPort}/graphql`, apiKey: keys.metadata }, publish: { url: `${platform.publish}/graphql`, apiKey: keys.publish } },
  });
  await orphan.listen({ port: 0, host: '127.0.0.1' });
  orphanUrl = `http://127.0.0.1:${(orphan.server.address() as { port: number }).port}`;
});

after(async () => {
  await orphan?.close();
  await platform?.close();
  await pgDb?.drop();
});

/** A whole answer as a caller sees it. */
interface Seen {
  status: number;
  text: string;
}

async function seen(res: Response): Promise<Seen> {
  const head = [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
  return { status: res.status, text: `HTTP ${res.status}\n${head}\n\n${await res.text()}` };
}

function post(base: string, route: string, body: unknown, headers: Record<string, string> = {}): Promise<Seen> {
  return fetch(`${base}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': keyFor(base, platform), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  }).then(seen);
}

function get(url: string, headers: Record<string, string> = {}): Promise<Seen> {
  return fetch(url, { headers }).then(seen);
}

async function raw(base: string, text: string): Promise<Seen> {
  const answer = await exchange(base, [text], 3000);
  return { status: answer.status, text: answer.raw };
}

const csv = { name: 'LSC', type: 'filestore', format: 'csv' };
const pg = () => sqlSource('postgresql', pgDb.database);
const transfer = (data = dataset('public', ['person']), start = '20250701_000001', source = pg()) => ({ ...transferRequest(source, data, { project_start_time: start }), destination: csv });

interface Case {
  name: string;
  /** The status (or statuses) the case provokes, so that it is known to provoke its class. */
  status: number | number[];
  send: () => Promise<Seen | Seen[]>;
  /** Set when the leak is another change's to fix: what it is and who fixes it. */
  todo?: string;
}

/** Every class of error, on each service where it can happen. */
function cases(): Case[] {
  const each = (fn: (base: string, route: string) => Promise<Seen>) => () =>
    Promise.all([
      fn(platform.gateway, '/project/validate'),
      fn(platform.metadata, '/metadata/project'),
      fn(platform.publish, '/data-publish/validate'),
    ]);
  /** The same, one service after the other (where calls at once would meet each other). */
  const sequentially = (fn: (base: string, route: string) => Promise<Seen>, only?: Array<'gateway' | 'metadata' | 'publish'>) => async () => {
    const out: Seen[] = [];
    for (const [name, route] of [['gateway', '/project/validate'], ['metadata', '/metadata/project'], ['publish', '/data-publish/validate']] as const) {
      if (!only || only.includes(name)) out.push(await fn(platform[name], route));
    }
    return out;
  };
  return [
    { name: 'malformed HTTP', status: 400, send: each((base) => raw(base, 'GARBAGE\r\n\r\n')) },
    { name: 'bad Content-Length', status: 400, send: each((base, route) => raw(base, `POST ${route} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}`)) },
    { name: 'no key', status: 403, send: each((base, route) => post(base, route, {}, { 'x-api-key': '' })) },
    { name: 'wrong key on /graphql', status: 403, send: each((base) => post(base, '/graphql', { query: '{ __typename }' }, { 'x-api-key': 'wrong' })) },
    { name: 'unknown route', status: 404, send: each((base) => post(base, '/no/such/route', {})) },
    { name: 'headers too slow', status: 408, send: each((base) => stall(base, 'POST /x HTTP/1.1\r\n', 'X-Pad: y\r\n', 100).closed.then((a) => ({ status: a.status, text: a.raw }))) },
    { name: 'headers too large', status: 431, send: each((base, route) => raw(base, `POST ${route} HTTP/1.1\r\nHost: x\r\nx-pad: ${'p'.repeat(20_000)}\r\n\r\n`)) },
    { name: 'body too large', status: 413, send: sequentially((base, route) => post(base, route, `"${'x'.repeat(5 * 1024 * 1024)}"`)) },
    { name: 'wrong content type', status: 415, send: each((base, route) => fetch(`${base}${route}`, { method: 'POST', headers: { 'content-type': 'text/xml', 'x-api-key': keyFor(base, platform) }, body: '<a/>' }).then(seen)) },
    { name: 'not JSON', status: 422, send: each((base, route) => post(base, route, '{"a":')) },
    { name: 'not the contract', status: 422, send: each((base, route) => post(base, route, { project_name: '../x' })) },
    { name: 'unsupported source type', status: 422, send: each((base, route) => post(base, route, transfer(undefined, undefined, { ...pg(), type: 'oracle' }))) },
    { name: 'destination type not configured', status: 422, send: () => post(platform.gateway, '/project/package', { ...transfer(), destination: { name: 'TRE', type: 'postgresql', format: 'csv' } }) },
    {
      name: 'secret not found',
      status: 404,
      send: each((base, route) => post(base, route, transfer(undefined, undefined, sqlSource('postgresql', pgDb.database, { passwordKey: 'no-such-secret' })))),
    },
    // The machine's PostgreSQL trusts loopback connections; its MariaDB checks root's (empty) password.
    { name: 'source refuses the credentials', status: 502, send: each((base, route) => post(base, route, transfer(dataset(null, ['person']), undefined, sqlSource('mysql', 'cr8tor_no_such_db', { passwordKey: 'wrong-password' })))) },
    { name: 'source unreachable', status: 502, send: each((base, route) => post(base, route, transfer(undefined, undefined, sqlSource('postgresql', 'nowhere', { port: deadSourcePort })))) },
    { name: 'schema not found', status: 404, send: () => Promise.all([post(platform.gateway, '/project/validate', transfer(dataset('nope', ['person']))), post(platform.metadata, '/metadata/project', transfer(dataset('nope', ['person'])))]) },
    { name: 'table not found', status: 404, send: () => Promise.all([post(platform.gateway, '/project/validate', transfer(dataset('public', ['nope']))), post(platform.metadata, '/metadata/project', transfer(dataset('public', ['nope'])))]) },
    { name: 'nothing to publish', status: 409, send: sequentially((base) => post(base, base === platform.gateway ? '/project/publish' : '/data-publish/publish', { ...publishRequest({ project_start_time: '20250701_000009' }), destination: csv }), ['gateway', 'publish']) },
    {
      name: 'package past its deadline, and a second one of the same project meanwhile',
      status: [504, 409],
      send: async () => {
        const first = post(platform.gateway, '/project/package', transfer(dataset('public', ['sleepy']), '20250701_000002'));
        await new Promise((r) => setTimeout(r, 300));
        const second = await post(platform.publish, '/data-publish/package', transfer(dataset('public', ['sleepy']), '20250701_000002'));
        return [await first, second];
      },
    },
    { name: 'a subgraph unreachable (REST and GraphQL)', status: [502, 200], send: () => Promise.all([post(orphanUrl, '/project/validate', transfer(), { 'x-api-key': keys.approval }), post(orphanUrl, '/graphql', { query: '{ project(projectName: "P", projectStartTime: "20250101_000000") { projectName metadataReports { __typename } } }' }, { 'x-api-key': keys.approval })]) },
    { name: 'GraphQL parse and validation errors', status: 400, send: () => Promise.all([post(platform.gateway, '/graphql', { query: '{ nope' }), post(platform.metadata, '/graphql', { query: '{ nope }' })]) },
    { name: 'open routes', status: 200, send: () => Promise.all([platform.gateway, platform.metadata, platform.publish].flatMap((b) => ['/healthz', '/readyz', '/openapi.json', '/docs', '/metrics'].map((r) => get(`${b}${r}`)))) },
    { name: 'a validate that passes', status: 200, send: () => post(platform.publish, '/data-publish/validate', accessRequest(pg())) },
  ];
}

/** What must never reach a caller: paths of this machine, process ids, its host name, the services' own addresses. */
function leaks(text: string): string[] {
  const found: string[] = [];
  const places = new Set([path.dirname(platform.mountDir), os.tmpdir(), fromRoot(), process.cwd(), os.homedir()].filter((p) => p.length > 1));
  for (const place of places) if (text.includes(place)) found.push(`the path ${place}`);
  const absolute = /(?:^|[\s"'(=:,])(\/(?:tmp|mnt|var|home|work|root|etc|usr|proc|srv|opt|run|dev|sys)\/[^\s"')]*)/.exec(text);
  if (absolute) found.push(`the absolute path ${absolute[1]}`);
  if (new RegExp(`\\b${process.pid}\\b`).test(text)) found.push(`this process id ${process.pid}`);
  if (/\bprocess \d+|\bpid\b/i.test(text)) found.push('a process id');
  if (new RegExp(`\\b${os.hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`, 'i').test(text)) found.push(`the host name ${os.hostname()}`);
  for (const base of [platform.gateway, platform.metadata, platform.publish, orphanUrl, `http://127.0.0.1:${deadPort}`]) {
    if (text.includes(new URL(base).host)) found.push(`the service address ${new URL(base).host}`);
  }
  return found;
}

describe('no answer says where it runs', () => {
  for (const c of cases()) {
    test(c.name, { todo: c.todo }, async () => {
      const answers = [await c.send()].flat();
      const statuses = [c.status].flat();
      for (const answer of answers) {
        assert.ok(statuses.includes(answer.status), `${c.name}: HTTP ${answer.status}, expected ${statuses.join(' or ')}: ${answer.text.slice(0, 300)}`);
        assert.deepEqual(leaks(answer.text), [], `${c.name}: ${answer.text.slice(0, 600)}`);
      }
    });
  }
});

describe('/readyz says ready or not; why, only with the key', () => {
  test('not ready: status only without a key, the reasons with it (and in the log)', async () => {
    const staging = path.join(platform.mountDir, 'staging');
    await rename(staging, `${staging}.away`);
    try {
      for (const base of [platform.publish, platform.gateway]) {
        const anonymous = await fetch(`${base}/readyz`);
        assert.equal(anonymous.status, 503);
        const body = (await anonymous.json()) as Record<string, unknown>;
        assert.deepEqual(Object.keys(body).sort(), ['service', 'status']);
        assert.equal(body.status, 'not ready');
        const keyed = await fetch(`${base}/readyz`, { headers: { 'x-api-key': keyFor(base, platform) } });
        assert.equal(keyed.status, 503);
        const reasons = (await keyed.json()) as { problems: string[] };
        assert.ok(reasons.problems.some((p) => /staging/.test(p)), JSON.stringify(reasons));
      }
      const wrongKey = await fetch(`${platform.publish}/readyz`, { headers: { 'x-api-key': keys.approval } });
      assert.deepEqual(Object.keys((await wrongKey.json()) as object).sort(), ['service', 'status'], 'another service’s key gets no reasons');
      const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'not ready');
      for (const service of ['publish', 'approval']) {
        assert.ok(logged.some((l) => l.service === service && l.problems.some((p: string) => /staging/.test(p))), `${service} logs why it is not ready`);
      }
    } finally {
      await rename(`${staging}.away`, staging);
    }
    assert.equal((await fetch(`${platform.publish}/readyz`)).status, 200);
  });
});
