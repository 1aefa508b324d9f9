/**
 * Everything that can hang has a limit, and each limit answers a clear envelope
 * naming what timed out, leaves nothing half-written, and releases its
 * connections: the source's connect timeout (a server that accepts and never
 * answers), its statement timeout (a view that sleeps), the package deadline
 * (PACKAGE_DEADLINE_MS), and a caller that disconnects mid-package (the
 * package goes on to the end; see docs/behaviour.md, "Timeouts").
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createMysqlDatabase, createPgDatabase, type TestMysqlDatabase, type TestPgDatabase } from '../support/databases.js';
import { listTree } from '../support/filestore-fs.js';
import { LogLines } from '../support/log-lines.js';
import { keys, startPlatform, type Platform } from '../support/platform.js';
import { dataset, sqlSource, transferRequest, writeSourceSecrets } from '../support/requests.js';

const CONNECT_TIMEOUT_MS = 1000;
const STATEMENT_TIMEOUT_MS = 1500;
// One trickle view takes about 2 s, two about 4 s (their sleeps alone): a deadline between them, with
// room for a busy machine on the side that can only get slower (one view within the deadline).
const DEADLINE_MS = 3500;

let pgDb: TestPgDatabase;
let myDb: TestMysqlDatabase;
/** Source timeouts set short; package deadline as configured by default. */
let timing: Platform;
/** No statement timeout; PACKAGE_DEADLINE_MS short. */
let deadline: Platform;
const timingLogs = new LogLines();

/** A TCP server that accepts connections and never says a word; remembers which sockets are still open. */
const open = new Set<net.Socket>();
const silent = net.createServer((socket) => {
  open.add(socket);
  socket.resume(); // read and drop what the client sends, so its closing is seen
  socket.on('error', () => undefined);
  socket.on('close', () => open.delete(socket));
});

before(async () => {
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  pgDb = await createPgDatabase('timeout');
  myDb = await createMysqlDatabase('timeout');
  // Sleeps 5 s before its one row (pg_sleep is void: cast to show it).
  await pgDb.client.query('CREATE VIEW sleepy AS SELECT pg_sleep(5)::text AS s, 1 AS x');
  await myDb.conn.query('CREATE VIEW sleepy AS SELECT SLEEP(5) AS s, 1 AS x');
  // Rows trickle out for about 2 s (5 ms each), so the server notices a closed connection at once.
  for (const name of ['trickle1', 'trickle2']) {
    await pgDb.client.query(`CREATE VIEW ${name} AS SELECT g AS id, repeat('x', 200) || pg_sleep(0.005)::text AS pad FROM generate_series(1, 400) AS g`);
    await myDb.conn.query(`CREATE VIEW ${name} AS SELECT seq AS id, CONCAT(REPEAT('x', 200), SLEEP(0.005)) AS pad FROM seq_1_to_400`);
  }
  await pgDb.client.query('CREATE VIEW hold AS SELECT g AS id FROM pg_sleep(30) AS s, generate_series(1, 3) AS g');
  await pgDb.client.query(`CREATE VIEW slow AS SELECT g AS id FROM pg_sleep(1.5) AS s, generate_series(1, 500) AS g`);
  await pgDb.client.query('CREATE TABLE fast AS SELECT g AS id FROM generate_series(1, 10) AS g');
  await myDb.conn.query('CREATE TABLE fast AS SELECT seq AS id FROM seq_1_to_10');

  timing = await startPlatform({ connectorOptions: { connectTimeoutMs: CONNECT_TIMEOUT_MS, statementTimeoutMs: STATEMENT_TIMEOUT_MS }, logStream: timingLogs.stream });
  // The publish service reads PACKAGE_DEADLINE_MS when it is built.
  process.env.PACKAGE_DEADLINE_MS = String(DEADLINE_MS);
  try {
    deadline = await startPlatform();
  } finally {
    delete process.env.PACKAGE_DEADLINE_MS;
  }
  for (const p of [timing, deadline]) {
    await writeSourceSecrets(p, 'postgresql');
    await writeSourceSecrets(p, 'mysql');
  }
});

after(async () => {
  await timing?.close();
  await deadline?.close();
  for (const socket of open) socket.destroy();
  silent.close();
  await pgDb?.drop();
  await myDb?.drop();
});

type SourceType = 'postgresql' | 'mysql';
const TYPES: SourceType[] = ['postgresql', 'mysql'];

function databaseOf(type: SourceType): string {
  return type === 'postgresql' ? pgDb.database : myDb.database;
}

/** A CSV package request of `tables` from the test database of `type`. */
function packageBody(type: SourceType, tables: string[], startTime: string, port?: number) {
  const source = sqlSource(type, port ? 'nowhere' : databaseOf(type), port ? { port } : {});
  return { ...transferRequest(source, dataset(type === 'postgresql' ? 'public' : null, tables), { project_start_time: startTime }), destination: { name: 'LSC', type: 'filestore', format: 'csv' } };
}

/** Connections the publisher holds on the test database of `type`. */
async function ourConnections(type: SourceType): Promise<number> {
  if (type === 'postgresql') {
    const { rows } = await pgDb.client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'cr8tor-publisher'`, [pgDb.database]);
    return rows[0].n as number;
  }
  const [rows] = await myDb.conn.query('SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()', [myDb.database]);
  return Number((rows as Array<{ n: number | string }>)[0]!.n);
}

/** Waits (up to `ms`) until the publisher holds no connection on the source; fails naming what is left. */
async function noConnectionsLeft(type: SourceType, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const n = await ourConnections(type);
    if (n === 0) return;
    if (Date.now() > end) assert.fail(`${n} connection(s) of the publisher left on the ${type} source`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function activeStatements(type: SourceType): Promise<number> {
  if (type === 'postgresql') {
    const { rows } = await pgDb.client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'cr8tor-publisher' AND state = 'active' AND query ILIKE 'COPY%'`, [pgDb.database]);
    return rows[0].n as number;
  }
  const [rows] = await myDb.conn.query(`SELECT count(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID() AND INFO LIKE 'SELECT%'`, [myDb.database]);
  return Number((rows as Array<{ n: number | string }>)[0]!.n);
}

async function extractionRunning(type: SourceType): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if ((await activeStatements(type)) > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail('the extraction never started');
}

/** Asserts the error envelope with `status` and gives its detail. */
function envelope(answer: { status: number; body: any }, status: number): string {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.deepEqual(Object.keys(answer.body).sort(), ['payload', 'status']);
  assert.equal(answer.body.status, 'error');
  return answer.body.payload.detail as string;
}

/** What staging holds for the project and start time, hidden work folders included. */
async function staged(p: Platform, startTime: string): Promise<string[]> {
  return (await listTree(path.join(p.mountDir, 'staging', 'Pr004'))).filter((e) => e.startsWith(startTime) || e.startsWith(`.${startTime}`));
}

async function timed<T>(work: () => Promise<T>): Promise<T & { ms: number }> {
  const started = Date.now();
  const result = await work();
  return { ...result, ms: Date.now() - started };
}

describe('source connect timeout (SOURCE_CONNECT_TIMEOUT_MS): a server that accepts and never answers', () => {
  for (const type of TYPES) {
    test(`${type}: 502 naming the source, after the timeout, on every service; the log names the setting; the socket is closed`, async () => {
      const port = (silent.address() as net.AddressInfo).port;
      const body = packageBody(type, ['fast'], '20250401_000001', port);
      const calls = [
        () => timing.post(timing.gateway, '/project/package', body),
        () => timing.post(timing.gateway, '/project/validate', body),
        () => timing.post(timing.metadata, '/metadata/project', body),
        () => timing.post(timing.publish, '/data-publish/validate', body),
      ];
      const answers = await Promise.all(calls.map((c) => timed(c)));
      for (const answer of answers) {
        const detail = envelope(answer, 502);
        // The same words as for a refused or closed port (a caller cannot tell them apart); the reason is in the log.
        assert.equal(detail, `Cannot connect to ${type} source 127.0.0.1:${port}/nowhere; the reason is in the service log.`);
        timingLogs.assertReason(answer.requestId, new RegExp(`no answer within ${CONNECT_TIMEOUT_MS} ms \\(SOURCE_CONNECT_TIMEOUT_MS\\)`), type);
        assert.ok(answer.ms >= CONNECT_TIMEOUT_MS - 50 && answer.ms < CONNECT_TIMEOUT_MS + 3000, `answered after ${answer.ms} ms`);
      }
      for (let i = 0; open.size > 0 && i < 100; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(open.size, 0, 'every connection to the silent server was closed');
    });
  }
});

describe('source statement timeout (SOURCE_STATEMENT_TIMEOUT_MS): a view that sleeps 5 s', () => {
  for (const type of TYPES) {
    test(`${type}: 502 naming the source and the setting; the server stopped the statement; nothing staged, no connection left`, async () => {
      const startTime = '20250401_000002';
      const answer = await timed(() => timing.post(timing.gateway, '/project/package', packageBody(type, ['sleepy'], startTime)));
      const detail = envelope(answer, 502);
      assert.match(detail, new RegExp(`^A statement on the ${type} source 127\\.0\\.0\\.1:\\d+/${databaseOf(type)} ran past its timeout of ${STATEMENT_TIMEOUT_MS} ms \\(SOURCE_STATEMENT_TIMEOUT_MS\\)\\.$`));
      assert.ok(answer.ms >= STATEMENT_TIMEOUT_MS - 50 && answer.ms < 4500, `answered after ${answer.ms} ms, before the 5 s sleep ended`);
      assert.deepEqual(await staged(timing, startTime), []);
      await noConnectionsLeft(type, 1000);
    });
  }
});

describe('package deadline (PACKAGE_DEADLINE_MS)', () => {
  for (const type of TYPES) {
    test(`${type}: past the deadline the extraction is stopped: 504 naming the project and the setting, nothing staged, connections closed, the project free again`, async () => {
      const startTime = '20250401_000003';
      const answer = await timed(() => deadline.post(deadline.gateway, '/project/package', packageBody(type, ['trickle1', 'trickle2'], startTime)));
      const detail = envelope(answer, 504);
      assert.equal(detail, `The package of project 'Pr004' (start time ${startTime}) did not finish within ${DEADLINE_MS} ms (PACKAGE_DEADLINE_MS); it was stopped and nothing of it was kept.`);
      assert.ok(answer.ms >= DEADLINE_MS && answer.ms < DEADLINE_MS + 3000, `answered after ${answer.ms} ms`);
      assert.deepEqual(await staged(deadline, startTime), [], 'no package, no hidden work folder');
      await noConnectionsLeft(type);
      const event = (await deadline.auditEvents()).filter((e) => e.action === 'package' && e.project?.start_time === startTime).at(-1);
      assert.equal(event.outcome, 'error');
      assert.equal(event.detail, detail);
      const again = await deadline.post(deadline.gateway, '/project/package', packageBody(type, ['fast'], startTime));
      assert.equal(again.status, 200, JSON.stringify(again.body));
    });
  }

  test('postgresql: a statement still computing at the deadline is cancelled on the server, not left running', async () => {
    const startTime = '20250401_000007';
    const answer = await deadline.post(deadline.publish, '/data-publish/package', packageBody('postgresql', ['hold'], startTime));
    assert.match(envelope(answer, 504), /PACKAGE_DEADLINE_MS/);
    // Without the cancel request the server would sleep on for 30 s.
    await noConnectionsLeft('postgresql', 1500);
    assert.deepEqual(await staged(deadline, startTime), []);
  });

  test('a package within the deadline is unaffected', async () => {
    const answer = await deadline.post(deadline.publish, '/data-publish/package', packageBody('postgresql', ['trickle1'], '20250401_000004'));
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  });
});

describe('a caller that disconnects mid-package', () => {
  for (const [name, base, route] of [
    ['gateway REST', () => deadline.gateway, '/project/package'],
    ['publish REST', () => deadline.publish, '/data-publish/package'],
  ] as const) {
    test(`${name}: the package goes on to the end and stages everything; then its connections are released`, async () => {
      const startTime = name === 'gateway REST' ? '20250401_000005' : '20250401_000006';
      const key = base() === deadline.gateway ? keys.approval : keys.publish;
      // A client that sends its call, then closes its connection without waiting for the answer.
      const body = JSON.stringify(packageBody('postgresql', ['slow'], startTime));
      const socket = net.connect(Number(new URL(base()).port), '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write(`POST ${route} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nx-api-key: ${key}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      await extractionRunning('postgresql');
      socket.destroy();
      let event;
      for (let i = 0; i < 300 && !event; i++) {
        event = (await deadline.auditEvents()).find((e) => e.action === 'package' && e.project?.start_time === startTime);
        if (!event) await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(event?.outcome, 'success', JSON.stringify(event));
      assert.deepEqual(await staged(deadline, startTime), [`${startTime}/`, `${startTime}/data/`, `${startTime}/data/outputs/`, `${startTime}/data/outputs/slow.csv`]);
      assert.equal(event.tables[0].rows, 500);
      await noConnectionsLeft('postgresql');
    });
  }
});
