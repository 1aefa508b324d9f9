/**
 * Every phase of a connection has a deadline, and their number a cap (issue
 * #12.2), through the real services on raw sockets, with the deadlines set
 * short: headers trickled forever (slowloris) or never sent, a body trickled
 * or chunked forever, an idle keep-alive connection, more connections than
 * the cap. Each is cut in time with a 408 envelope where an answer is still
 * possible, and audited. Only the request side is bounded: an answer may take
 * longer than all the deadlines together. 300 stalled connections do not slow
 * /healthz or keep a new slow connection from being cut, and the gateway's
 * idle connections to a subgraph close before the subgraph would close them.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { ConnectionLimits } from '../../lib/http/plugins/timeouts.js';
import { createPgDatabase, type TestPgDatabase } from '../support/databases.js';
import { keyFor, keys, startPlatform, type Platform } from '../support/platform.js';
import { exchange, healthzMs, postHead, stall, type RawAnswer } from '../support/raw-http.js';
import { dataset, sqlSource, transferRequest, writeSourceSecrets } from '../support/requests.js';

const TIGHT: ConnectionLimits = { headersTimeoutMs: 500, bodyTimeoutMs: 700, keepAliveTimeoutMs: 800, maxConnections: 1000 };
const CROWD: ConnectionLimits = { headersTimeoutMs: 1500, bodyTimeoutMs: 6000, keepAliveTimeoutMs: 5000, maxConnections: 1000 };
/** How late a deadline may be met: Node checks them every tenth of the shorter one, and this machine is shared. */
const SLACK_MS = 700;
/**
 * The same with 300 connections arriving at once: Node counts a request's
 * deadlines from when it reads its first byte, and here (the services and
 * the 300 clients in one process, on two shared cores) reading them all takes
 * up to 2 s; a connection arriving behind them waits as long to be read.
 */
const CROWD_SLACK_MS = 3000;

let tight: Platform;
let crowd: Platform;
let pgDb: TestPgDatabase;

before(async () => {
  pgDb = await createPgDatabase('httptimeouts');
  await pgDb.client.query('CREATE VIEW sleepy AS SELECT pg_sleep(2)::text AS s, 1 AS x');
  tight = await startPlatform({ limits: TIGHT });
  crowd = await startPlatform({ limits: CROWD });
  await writeSourceSecrets(tight, 'postgresql');
});

after(async () => {
  await tight?.close();
  await crowd?.close();
  await pgDb?.drop();
});

const bases = (p: Platform) => [
  { name: 'gateway', base: p.gateway, route: '/project/validate' },
  { name: 'metadata', base: p.metadata, route: '/metadata/project' },
  { name: 'publish', base: p.publish, route: '/data-publish/validate' },
];

/** Asserts a 408 envelope whose detail names the phase, on a connection closed between `from` and `from + slack` ms. */
function cutInTime(answer: RawAnswer, from: number, phase: 'headers' | 'body', where: string, slack = SLACK_MS): void {
  assert.equal(answer.status, 408, `${where}: ${answer.raw.slice(0, 300)}`);
  const body = JSON.parse(answer.body);
  assert.equal(body.status, 'error', where);
  assert.match(body.payload.detail, new RegExp(`its ${phase} did not arrive`), where);
  assert.ok(answer.closedAfterMs !== null && answer.closedAfterMs >= from - 50 && answer.closedAfterMs < from + slack, `${where}: closed after ${answer.closedAfterMs?.toFixed(0)} ms, deadline ${from} ms`);
}

describe('deadlines for every phase of a connection (headers 500 ms, body 700 ms more, keep-alive 800 ms)', () => {
  test('headers trickled forever, or never sent: 408 at the headers deadline', async () => {
    for (const { name, base } of bases(tight)) {
      const [slowloris, silent] = await Promise.all([stall(base, 'POST /project/validate HTTP/1.1\r\nHost: x\r\n', 'X-Pad: y\r\n', 100).closed, stall(base, '').closed]);
      cutInTime(slowloris, TIGHT.headersTimeoutMs, 'headers', `${name} slowloris`);
      cutInTime(silent, TIGHT.headersTimeoutMs, 'headers', `${name} silent`);
    }
  });

  test('a body trickled a byte at a time, or chunked without end: 408 once the whole request is late', async () => {
    const whole = TIGHT.headersTimeoutMs + TIGHT.bodyTimeoutMs;
    for (const { name, base, route } of bases(tight)) {
      const key = keyFor(base, tight);
      const [trickled, endless] = await Promise.all([
        stall(base, postHead(route, { 'content-type': 'application/json', 'content-length': '100000', 'x-api-key': key }), ' ', 50).closed,
        stall(base, postHead(route, { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'x-api-key': key }), '1\r\n[\r\n', 20).closed,
      ]);
      cutInTime(trickled, whole, 'body', `${name} trickled body`);
      cutInTime(endless, whole, 'body', `${name} endless chunked body`);
    }
  });

  test('an idle keep-alive connection is closed after its timeout (Node keeps it up to 1 s longer than it announces)', async () => {
    for (const { name, base } of bases(tight)) {
      const answer = await exchange(base, ['GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'], 5000);
      assert.equal(answer.status, 200, name);
      assert.equal(answer.headers['keep-alive'], 'timeout=0', `${name}: the timeout is announced (in whole seconds)`);
      assert.ok(answer.closedAfterMs !== null && answer.closedAfterMs >= TIGHT.keepAliveTimeoutMs - 50 && answer.closedAfterMs < TIGHT.keepAliveTimeoutMs + 1000 + SLACK_MS, `${name}: closed after ${answer.closedAfterMs?.toFixed(0)} ms`);
    }
  });

  test('timeouts are audited as refusals', async () => {
    const events = (await tight.auditEvents()).filter((e) => e.action === 'refused' && e.status === 408);
    for (const service of ['approval', 'metadata', 'publish']) {
      assert.ok(events.some((e) => e.service === service && /headers did not arrive/.test(e.reason) && e.client === '127.0.0.1'), `${service}: headers timeout audited`);
      assert.ok(events.some((e) => e.service === service && /body did not arrive/.test(e.reason) && e.method === 'POST' && typeof e.path === 'string'), `${service}: body timeout audited`);
    }
  });

  test('only the request side is bounded: an answer may take longer than every deadline together', async () => {
    const body = { ...transferRequest(sqlSource('postgresql', pgDb.database), dataset('public', ['sleepy']), { project_start_time: '20250601_000001' }), destination: { name: 'LSC', type: 'filestore', format: 'csv' } };
    const started = performance.now();
    const answer = await tight.post(tight.gateway, '/project/package', body);
    const ms = performance.now() - started;
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.ok(ms > 2000 && ms > TIGHT.headersTimeoutMs + TIGHT.bodyTimeoutMs + TIGHT.keepAliveTimeoutMs, `answered after ${ms.toFixed(0)} ms`);
  });
});

describe('300 stalled connections (headers 1.5 s, body 6 s more)', () => {
  test('/healthz stays fast, a new slow connection is still cut at its headers deadline, and the stalled ones are cut at theirs', async () => {
    const base = crowd.gateway;
    await healthzMs(base); // the probe's own connection is open before the crowd arrives
    const slowHeaders = Array.from({ length: 150 }, () => stall(base, 'POST /project/validate HTTP/1.1\r\nHost: x\r\n', 'X-Pad: y\r\n', 500));
    const endless = Array.from({ length: 150 }, () => stall(base, postHead('/project/validate', { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'x-api-key': keys.approval }), '1\r\n[\r\n', 500));
    try {
      await new Promise((r) => setTimeout(r, 300));
      const late = stall(base, 'GET /healthz HTTP/1.1\r\n', 'X-Pad: y\r\n', 100);
      const probes: number[] = [];
      const until = performance.now() + 1200;
      while (performance.now() < until) {
        probes.push(await healthzMs(base));
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(endless.every((s) => !s.isClosed()), 'the endless bodies were all open while /healthz was probed');
      // Judged by the median and a generous maximum: the services share this process and the machine with the test.
      const sorted = [...probes].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)]!;
      assert.ok(median < 100 && sorted.at(-1)! < 1000, `/healthz took ${median.toFixed(0)} ms (median), up to ${sorted.at(-1)!.toFixed(0)} ms, with 300 stalled connections open`);
      const lateAnswer = await late.closed;
      cutInTime(lateAnswer, CROWD.headersTimeoutMs, 'headers', 'a slow connection opened among 300 stalled ones', CROWD_SLACK_MS);
      const headersAnswers = await Promise.all(slowHeaders.map((s) => s.closed));
      for (const answer of headersAnswers) cutInTime(answer, CROWD.headersTimeoutMs, 'headers', 'stalled headers', CROWD_SLACK_MS);
      const bodyAnswers = await Promise.all(endless.map((s) => s.closed));
      for (const answer of bodyAnswers) cutInTime(answer, CROWD.headersTimeoutMs + CROWD.bodyTimeoutMs, 'body', 'endless body', CROWD_SLACK_MS);
      assert.ok(lateAnswer.closedAfterMs! + 300 < Math.min(...bodyAnswers.map((a) => a.closedAfterMs!)), 'the slow connection did not wait for the endless bodies to be cut');
    } finally {
      for (const s of [...slowHeaders, ...endless]) s.stop();
    }
  });

  test('the gateway closes its idle connections to a subgraph before the subgraph would', async () => {
    const closes: Array<{ byClient: boolean; idleMs: number }> = [];
    const watch = (socket: Socket) => {
      let lastAnswer = performance.now();
      let ended = false;
      socket.on('data', () => (lastAnswer = performance.now()));
      socket.on('end', () => (ended = true));
      socket.on('close', () => closes.push({ byClient: ended, idleMs: performance.now() - lastAnswer }));
    };
    crowd.apps.metadata.server.on('connection', watch);
    try {
      const res = await crowd.graphql(crowd.gateway, '{ project(projectName: "Idle", projectStartTime: "20250101_000000") { projectName } }');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      for (let i = 0; i < 100 && closes.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(closes.length > 0, 'the idle connection was closed');
      for (const c of closes) {
        assert.ok(c.byClient, 'the gateway closed it, not the subgraph');
        assert.ok(c.idleMs < CROWD.keepAliveTimeoutMs - 1000, `after ${c.idleMs.toFixed(0)} ms idle, well before the subgraph's ${CROWD.keepAliveTimeoutMs} ms`);
      }
    } finally {
      crowd.apps.metadata.server.off('connection', watch);
    }
  });
});

describe('the connection cap (HTTP_MAX_CONNECTIONS)', () => {
  test('connections over the cap are closed on arrival, counted, and the service serves again once under it', async () => {
    const capped = await startPlatform({ limits: { ...CROWD, headersTimeoutMs: 10_000, maxConnections: 20 } });
    const open = Array.from({ length: 20 }, () => stall(capped.metadata, 'GET /healthz HTTP/1.1\r\n', 'X-Pad: y\r\n', 200));
    try {
      await new Promise((r) => setTimeout(r, 300));
      const over = await exchange(capped.metadata, ['GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'], 2000);
      assert.equal(over.status, 0, 'no answer over the cap');
      assert.ok(over.closedAfterMs !== null && over.closedAfterMs < 500, `closed after ${over.closedAfterMs?.toFixed(0)} ms`);
      for (const s of open) s.stop();
      await new Promise((r) => setTimeout(r, 200));
      assert.ok((await healthzMs(capped.metadata)) < 1000);
      const metrics = await (await fetch(`${capped.metadata}/metrics`)).text();
      assert.ok(Number(/^cr8tor_http_connections_dropped_total\{[^}]*\} (\d+)/m.exec(metrics)?.[1]) >= 1, 'the dropped connection is counted');
    } finally {
      for (const s of open) s.stop();
      await capped.close();
    }
  });
});
