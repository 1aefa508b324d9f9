/**
 * What a caller without the right key can make the services do: nothing that
 * costs them, and nothing that speaks for someone else (issues #12.1, #11.7).
 *
 * - A body sent to a path no route takes, to a path that takes no body, or
 *   without the key is never read or parsed: 404 or 403 at once, with
 *   `Connection: close`, and the connection is closed, so what follows on it
 *   is never taken for a request. 4 MiB of nested brackets cost next to no
 *   CPU (process.cpuUsage: the services run in this process), and /healthz
 *   stays fast while they arrive.
 * - Who called is the gateway's own check: a caller key id header sent to the
 *   gateway is dropped; a subgraph believes it only on a call carrying the
 *   subgraph's own key.
 * - Every refused call is audited once (time, service, `refused`, client
 *   address, method, path, status, reason), never with its body or key; more
 *   than 10 a second from one address are counted in a summary instead.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { ApiKeyVerifier } from '../../lib/auth/api-key.js';
import { keys, keyFor, startPlatform, type Platform } from '../support/platform.js';
import { freePort } from '../support/processes.js';
import { exchange, healthzMs, postHead, type RawAnswer } from '../support/raw-http.js';
import { dataset, sqlSource, transferRequest, writeSourceSecrets } from '../support/requests.js';

let platform: Platform;
/** A port nothing listens on: a source there fails at once (and is audited as a data access). */
let closedPort: number;

before(async () => {
  platform = await startPlatform();
  await writeSourceSecrets(platform, 'postgresql');
  closedPort = await freePort();
});

after(async () => {
  await platform?.close();
});

const services = () => [
  { name: 'gateway', base: platform.gateway, route: '/project/validate' },
  { name: 'metadata', base: platform.metadata, route: '/metadata/project' },
  { name: 'publish', base: platform.publish, route: '/data-publish/validate' },
];

/** Asserts the contract's error envelope with `status`, answered with `Connection: close` on a connection the server closed. */
function refusedUnread(answer: RawAnswer, status: number, where: string): void {
  assert.equal(answer.status, status, `${where}: ${answer.raw.slice(0, 300)}`);
  assert.equal(JSON.parse(answer.body).status, 'error', where);
  assert.equal(answer.headers.connection, 'close', `${where}: Connection: close`);
  assert.notEqual(answer.closedAfterMs, null, `${where}: the server closed the connection`);
}

/** Waits for the start of the next wall-clock second (the audit's rate is counted per second). */
async function nextSecond(): Promise<void> {
  await new Promise((r) => setTimeout(r, 1010 - (Date.now() % 1000)));
}

/** The audit events written since `from` (an index), once `ready` holds for them or 3 s have passed. */
async function eventsSince(from: number, ready: (events: any[]) => boolean = () => true): Promise<any[]> {
  for (let i = 0; ; i++) {
    const events = (await platform.auditEvents()).slice(from);
    if (ready(events) || i > 150) return events;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('nothing is read before it is allowed', () => {
  const brackets = Buffer.from(`${'['.repeat(2 * 1024 * 1024)}${']'.repeat(2 * 1024 * 1024)}`);

  test('4 MiB of nested brackets to an unknown path, a path without a body, or without the key: refused unread, in no CPU time; /healthz stays fast', async () => {
    const sends = services().flatMap((s) => [
      { where: `${s.name} unknown path`, base: s.base, path: '/no-such-route', key: keyFor(s.base, platform), status: 404 },
      { where: `${s.name} POST /healthz`, base: s.base, path: '/healthz', key: keyFor(s.base, platform), status: 404 },
      { where: `${s.name} ${s.route} without a key`, base: s.base, path: s.route, key: undefined, status: 403 },
      { where: `${s.name} /graphql with a wrong key`, base: s.base, path: '/graphql', key: 'not-the-key', status: 403 },
    ]);
    const cpu = process.cpuUsage();
    let slowest = 0;
    let probing = true;
    const probes = (async () => {
      while (probing) {
        for (const s of services()) slowest = Math.max(slowest, await healthzMs(s.base));
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const answers = await Promise.all(
      sends.map((s) =>
        exchange(s.base, [postHead(s.path, { 'content-type': 'application/json', 'content-length': String(brackets.length), ...(s.key ? { 'x-api-key': s.key } : {}) }), brackets], 5000),
      ),
    );
    probing = false;
    await probes;
    const used = process.cpuUsage(cpu);
    const ms = (used.user + used.system) / 1000;
    answers.forEach((answer, i) => refusedUnread(answer, sends[i]!.status, sends[i]!.where));
    // Parsing one such body costs about 1.2 s of CPU; twelve were sent (48 MiB written by this process).
    assert.ok(ms < 1500, `the refusals cost ${ms.toFixed(0)} ms of CPU`);
    assert.ok(slowest < 500, `/healthz took up to ${slowest.toFixed(0)} ms meanwhile`);
  });

  test('after a refusal, nothing more is read on the connection: a request hidden in the unread body or sent behind it is never answered', async () => {
    const hidden = 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    for (const s of services()) {
      for (const [where, head, status] of [
        ['unknown path', postHead('/no-such-route', { 'content-type': 'application/json', 'content-length': String(hidden.length), 'x-api-key': keyFor(s.base, platform) }), 404],
        ['without a key', postHead(s.route, { 'content-type': 'application/json', 'content-length': String(hidden.length) }), 403],
      ] as const) {
        const answer = await exchange(s.base, [head, 50, hidden, 50, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'], 2000);
        refusedUnread(answer, status, `${s.name} ${where}`);
        assert.equal(answer.raw.match(/HTTP\/1\.1 \d{3}/g)?.length, 1, `${s.name} ${where}: one answer only: ${answer.raw.slice(0, 400)}`);
      }
    }
  });
});

describe('who called is not the caller’s to say', () => {
  const approvalKeyId = new ApiKeyVerifier(keys.approval).keyId;
  const metadataKeyId = new ApiKeyVerifier(keys.metadata).keyId;
  const forged = 'key-0123456789ab';

  async function call(base: string, route: string, key: string, requestId: string, callerHeader: string): Promise<number> {
    const body = transferRequest(sqlSource('postgresql', 'nowhere', { port: closedPort }), dataset('public', ['person']));
    const res = await fetch(`${base}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': key, 'x-request-id': requestId, 'x-cr8tor-caller-key-id': callerHeader, 'x-cr8tor-other': 'anything' },
      body: JSON.stringify(body),
    });
    await res.text();
    return res.status;
  }

  async function keyIdsAudited(requestId: string): Promise<string[]> {
    const events = await eventsSince(0, (all) => all.some((e) => e.request_id === requestId));
    return events.filter((e) => e.request_id === requestId).map((e) => e.key_id);
  }

  test('the gateway drops a caller key id sent from outside: the data access is audited with the key the caller presented', async () => {
    const requestId = `forged-${randomBytes(4).toString('hex')}`;
    assert.equal(await call(platform.gateway, '/project/validate', keys.approval, requestId, forged), 502);
    const ids = await keyIdsAudited(requestId);
    assert.ok(ids.length > 0, 'the access was audited');
    assert.deepEqual([...new Set(ids)], [approvalKeyId]);
  });

  test('a subgraph believes the header only on a call with its own key (the gateway’s), and only in the form of a key id', async () => {
    const withKey = `sub-${randomBytes(4).toString('hex')}`;
    assert.equal(await call(platform.metadata, '/metadata/project', keys.metadata, withKey, forged), 502);
    assert.deepEqual([...new Set(await keyIdsAudited(withKey))], [forged]);

    const malformed = `sub-${randomBytes(4).toString('hex')}`;
    assert.equal(await call(platform.metadata, '/metadata/project', keys.metadata, malformed, `${forged}, key-ffffffffffff`), 502);
    assert.deepEqual([...new Set(await keyIdsAudited(malformed))], [metadataKeyId]);

    const withoutKey = `sub-${randomBytes(4).toString('hex')}`;
    assert.equal(await call(platform.metadata, '/metadata/project', keys.approval, withoutKey, forged), 403);
    const events = (await eventsSince(0, (all) => all.some((e) => e.request_id === withoutKey))).filter((e) => e.request_id === withoutKey);
    assert.deepEqual(events.map((e) => e.action), ['refused'], 'only the refusal is audited');
  });
});

describe('refused calls are audited', () => {
  test('one event per refusal with time, service, client, method, path, status and reason; never the body or the key', async () => {
    const marker = `BODY${randomBytes(6).toString('hex')}`;
    const wrongKey = `WRONGKEY${randomBytes(6).toString('hex')}`;
    const id = randomBytes(4).toString('hex');
    const json = (extra: Record<string, string> = {}) => ({ 'content-type': 'application/json', ...extra });
    const refusals: Array<{ service: string; status: number; path?: string; send: () => Promise<unknown> }> = [
      { service: 'approval', status: 403, path: '/project/validate', send: () => exchange(platform.gateway, [postHead('/project/validate', json({ 'x-api-key': wrongKey, 'content-length': '30' })), `{"secret":"${marker}"}`.padEnd(30)], 2000) },
      { service: 'approval', status: 415, path: '/project/validate', send: () => fetch(`${platform.gateway}/project/validate`, { method: 'POST', headers: { 'content-type': 'text/xml', 'x-api-key': keys.approval }, body: `<a>${marker}</a>` }).then((r) => r.text()) },
      { service: 'approval', status: 400, send: () => exchange(platform.gateway, [`GARBAGE /x\r\n\r\n${marker}`], 2000) },
      { service: 'metadata', status: 404, path: `/no-route-${id}`, send: () => fetch(`${platform.metadata}/no-route-${id}?q=${marker}`, { method: 'POST', headers: json({ 'x-api-key': keys.metadata }), body: marker }).then((r) => r.text()) },
      { service: 'metadata', status: 422, path: '/metadata/project', send: () => fetch(`${platform.metadata}/metadata/project`, { method: 'POST', headers: json({ 'x-api-key': keys.metadata }), body: `{"x": "${marker}"` }).then((r) => r.text()) },
      { service: 'metadata', status: 431, path: '/metadata/project', send: () => exchange(platform.metadata, [`POST /metadata/project HTTP/1.1\r\nHost: x\r\nx-api-key: ${wrongKey}\r\nx-pad: ${'p'.repeat(20_000)}\r\n\r\n`], 2000) },
      { service: 'publish', status: 413, path: '/data-publish/validate', send: () => fetch(`${platform.publish}/data-publish/validate`, { method: 'POST', headers: json({ 'x-api-key': keys.publish }), body: `"${marker}${'x'.repeat(5 * 1024 * 1024)}"` }).then((r) => r.text(), () => '') },
      { service: 'publish', status: 422, path: '/data-publish/validate', send: () => fetch(`${platform.publish}/data-publish/validate`, { method: 'POST', headers: json({ 'x-api-key': keys.publish }), body: JSON.stringify({ project_name: marker }) }).then((r) => r.text()) },
    ];
    await nextSecond();
    const from = (await platform.auditEvents()).length;
    for (const r of refusals) await r.send();
    const events = (await eventsSince(from, (all) => all.filter((e) => e.action === 'refused').length >= refusals.length)).filter((e) => e.action === 'refused');
    assert.equal(events.length, refusals.length, JSON.stringify(events, null, 1));
    for (const r of refusals) {
      const event = events.find((e) => e.service === r.service && e.status === r.status);
      assert.ok(event, `a ${r.status} of the ${r.service} service is audited`);
      assert.equal(event.client, '127.0.0.1');
      assert.ok(!Number.isNaN(Date.parse(event.time)));
      assert.equal(typeof event.reason, 'string');
      assert.ok(event.reason.length > 0);
      if (r.path) {
        assert.equal(event.path, r.path);
        assert.equal(event.method, 'POST');
      }
      assert.equal(event.key_id, undefined);
    }
    const text = await readFile(platform.auditPath, 'utf8');
    for (const secret of [marker, wrongKey, ...Object.values(keys)]) assert.ok(!text.includes(secret), `the audit trail holds no ${secret === marker ? 'body' : 'key'}`);
  });

  test('more than 10 refusals a second from one address: the rest are counted, and summed up once their second is over', async () => {
    const id = randomBytes(4).toString('hex');
    const sent = 40;
    await nextSecond();
    const from = (await platform.auditEvents()).length;
    const started = Date.now();
    await Promise.all(Array.from({ length: sent }, () => fetch(`${platform.metadata}/rate-${id}`).then((r) => r.text())));
    const seconds = Math.floor(Date.now() / 1000) - Math.floor(started / 1000) + 1;
    const events = await eventsSince(from, (all) => all.some((e) => e.action === 'refused_suppressed' && e.service === 'metadata'));
    const written = events.filter((e) => e.action === 'refused' && e.path === `/rate-${id}`).length;
    const summaries = events.filter((e) => e.action === 'refused_suppressed' && e.service === 'metadata');
    const suppressed = summaries.reduce((n, e) => n + e.suppressed, 0);
    assert.ok(written <= 10 * seconds, `${written} events written in ${seconds} s`);
    assert.equal(written + suppressed, sent, 'every refusal is written or counted');
    assert.ok(summaries.every((e) => e.clients === 1 && typeof e.since === 'string'));
    const metrics = await (await fetch(`${platform.metadata}/metrics`)).text();
    assert.ok(Number(/^cr8tor_audit_refusals_suppressed_total\{[^}]*\} (\d+)/m.exec(metrics)?.[1]) >= suppressed, 'the suppressed refusals are counted');
  });
});
