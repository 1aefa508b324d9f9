/**
 * Sources a caller may name (issue #11, item 2), through the real services.
 * SOURCE_ALLOWED_HOSTS restricts the hosts and ports metadata and publish
 * connect to, for all four source types (the Databricks workspace's token,
 * Unity Catalog and warehouse requests included, and the CloudFetch result
 * links the warehouse hands out); a refused source answers a 403 naming the
 * setting and is never connected to. Unset, every host but the
 * link-local ranges (cloud instance metadata) is allowed. And a caller cannot
 * map ports: a closed port, a silent server, an HTTP server, random bytes, a
 * hang-up or a message cut short all answer the same words, within the
 * connect timeout; the reason is in the log, by request id.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import https from 'node:https';
import tls from 'node:tls';
import { AppError } from '../../../lib/errors.js';
import { agentFor } from '../../../lib/connectors/databricks/cloud-fetch.js';
import { databricksSettings } from '../../../lib/connectors/databricks/settings.js';
import { TokenSource } from '../../../lib/connectors/databricks/token.js';
import { Warehouse } from '../../../lib/connectors/databricks/warehouse.js';
import { CheckedHttpsAgent } from '../../../lib/connectors/egress/dial.js';
import { serviceConnectorOptions } from '../../../lib/config/connector-settings.js';
import { ConfigError } from '../../../lib/config/env.js';
import { createLogger } from '../../../lib/logging/logger.js';
import { SourceHosts } from '../../../lib/connectors/index.js';
import { clearTokenCache } from '../../../lib/connectors/databricks/token.js';
import { createMysqlDatabase, createPgDatabase, mysqlSettings, pgSettings, type TestMysqlDatabase, type TestPgDatabase } from '../../support/databases.js';
import { DatabricksDouble, SERVICE_PRINCIPAL, databricksSource } from '../../support/databricks/index.js';
import { startListener, type Listener, type ListenerKind } from '../../support/listeners.js';
import { LogLines } from '../../support/log-lines.js';
import { startPlatform, type Answer, type Platform } from '../../support/platform.js';
import { freePort } from '../../support/processes.js';
import { accessRequest, dataset, sqlSource, transferRequest, type SqlSourceBody } from '../../support/requests.js';
import { writeFourSourceSecrets } from '../../support/source-secrets.js';
import { mssqlSource, startTdsDouble, type StartedTds } from '../../support/tds/index.js';

type SourceType = 'postgresql' | 'mysql' | 'mssql' | 'databrickssql';
const TYPES: SourceType[] = ['postgresql', 'mysql', 'mssql', 'databrickssql'];

let pgDb: TestPgDatabase;
let myDb: TestMysqlDatabase;
let tds: StartedTds;
let dbx: DatabricksDouble;

/** A source of the type on host:port (the Databricks workspace as https://host with that port). */
function sourceAt(type: SourceType, host: string, port: number): SqlSourceBody {
  if (type === 'databrickssql') return { ...databricksSource(dbx, 'research'), host_url: `https://${host}`, port } as unknown as SqlSourceBody;
  if (type === 'mssql') return { ...mssqlSource(tds.double, 'research'), host_url: host, port };
  return sqlSource(type, type === 'postgresql' ? pgDb.database : myDb.database, { host, port });
}

/** The port of the Databricks double's cloud storage (on 127.0.0.1 beside the workspace), where CloudFetch links point. */
function storagePort(): number {
  return Number(new URL(dbx.storage.origin).port);
}

/** The real server (or double) of each type: host and port. */
function realPort(type: SourceType): number {
  return { postgresql: pgSettings.port, mysql: mysqlSettings.port, mssql: tds.double.port, databrickssql: dbx.port }[type];
}

function dataFor(type: SourceType) {
  return dataset(type === 'postgresql' ? 'public' : type === 'mssql' ? 'dbo' : type === 'databrickssql' ? 'cohort' : null, ['person']);
}

before(async () => {
  clearTokenCache();
  pgDb = await createPgDatabase('hosts');
  await pgDb.client.query('CREATE TABLE person (person_id integer)');
  myDb = await createMysqlDatabase('hosts');
  await myDb.conn.query('CREATE TABLE person (person_id INT)');
  tds = await startTdsDouble([{ name: 'research', snapshotIsolation: true, schemas: { dbo: [{ name: 'person', columns: [{ name: 'person_id', type: 'int' }], rows: [[1]] }] } }]);
  dbx = await new DatabricksDouble({
    clients: { [SERVICE_PRINCIPAL.clientId]: SERVICE_PRINCIPAL.clientSecret },
    catalogs: [{ name: 'research', schemas: { cohort: { tables: [{ name: 'person', columns: [{ name: 'person_id', typeName: 'INT', typeText: 'int' }], rows: [[1]] }] } } }],
  }).start();
});

after(async () => {
  await tds?.double.close();
  await dbx?.close();
  await pgDb?.drop();
  await myDb?.drop();
});

const NOT_ALLOWED = /^Connections to the .* are not allowed: SOURCE_ALLOWED_HOSTS does not allow that host and port\.$/;

describe('SOURCE_ALLOWED_HOSTS set to this site\'s sources', () => {
  let platform: Platform;
  let stranger: Listener;
  const logs = new LogLines();

  before(async () => {
    stranger = await startListener('silent');
    const allowed = [`127.0.0.1:${pgSettings.port}`, `localhost:${mysqlSettings.port}`, `127.0.0.0/31:${tds.double.port}`, `[::1]:${dbx.port}`, `127.0.0.1:${dbx.port}-${dbx.port}`, `127.0.0.1:${storagePort()}`].join(', ');
    platform = await startPlatform({ env: { SOURCE_ALLOWED_HOSTS: allowed }, connectorOptions: { tlsCa: `${tds.ca}\n${dbx.ca}`, connectTimeoutMs: 3000 }, logStream: logs.stream });
    await writeFourSourceSecrets(platform);
  });

  after(async () => {
    await platform?.close();
    await stranger?.stop();
  });

  test('each type reaches its allowed source (by address, by name, by range)', async () => {
    for (const type of TYPES) {
      const host = type === 'mysql' ? 'localhost' : '127.0.0.1';
      const answer = await platform.post(platform.metadata, '/metadata/project', transferRequest(sourceAt(type, host, realPort(type)), dataFor(type)));
      assert.equal(answer.status, 200, `${type}: ${JSON.stringify(answer.body)}`);
    }
  });

  test('a host or port it does not list: 403 naming the setting, for every type and service; never a connection', async () => {
    const tokens = dbx.tokenRequests.length;
    for (const type of TYPES) {
      // MySQL is allowed by name only: its own server by address is refused.
      const targets: Array<[string, number]> = [['127.0.0.1', stranger.port], ['localhost', stranger.port], ['127.0.0.2', realPort(type)], ...(type === 'mysql' ? [['127.0.0.1', realPort(type)] as [string, number]] : [])];
      for (const [host, port] of targets) {
        const source = sourceAt(type, host, port);
        for (const [what, answer] of [
          ['gateway /project/validate', await platform.post(platform.gateway, '/project/validate', transferRequest(source, dataFor(type)))],
          ['metadata', await platform.post(platform.metadata, '/metadata/project', transferRequest(source, dataFor(type)))],
          ['publish validate', await platform.post(platform.publish, '/data-publish/validate', accessRequest(source))],
        ] as const) {
          assert.equal(answer.status, 403, `${type} ${host}:${port} ${what}: ${JSON.stringify(answer.body)}`);
          assert.match(answer.body.payload.detail, NOT_ALLOWED, `${type} ${what}`);
          logs.assertReason(answer.requestId, /SOURCE_ALLOWED_HOSTS does not allow/, `${type} ${what}`);
        }
      }
    }
    assert.equal(stranger.connections, 0, 'the listener saw no connection');
    assert.equal(dbx.tokenRequests.length, tokens, 'no token was asked for: the client secret went nowhere');
  });
});

describe('SOURCE_ALLOWED_HOSTS unset', () => {
  test('the link-local ranges (cloud instance metadata) are refused before any connection; a name entry never opens them', async () => {
    const open = await startPlatform({});
    const byName = await startPlatform({ env: { SOURCE_ALLOWED_HOSTS: 'metadata.example.org, *.example.org' } });
    try {
      for (const p of [open, byName]) {
        await writeFourSourceSecrets(p);
        for (const type of TYPES) {
          for (const host of ['169.254.169.254', '[fe80::1]']) {
            if (host.startsWith('[') && type === 'databrickssql') continue;
            const answer = await p.post(p.publish, '/data-publish/validate', accessRequest(sourceAt(type, host, 80)));
            assert.equal(answer.status, 403, `${type} ${host}: ${JSON.stringify(answer.body)}`);
            assert.match(answer.body.payload.detail, NOT_ALLOWED);
          }
        }
      }
    } finally {
      await open.close();
      await byName.close();
    }
  });
});

describe('no port mapping: what is on a port reads the same to the caller', () => {
  const KINDS: ListenerKind[] = ['silent', 'http', 'random-bytes', 'hang-up', 'unfinished'];
  let platform: Platform;
  const logs = new LogLines();
  const listeners: Listener[] = [];

  before(async () => {
    for (const kind of KINDS) listeners.push(await startListener(kind));
    platform = await startPlatform({ env: { SOURCE_ALLOWED_HOSTS: '127.0.0.0/8' }, connectorOptions: { tlsCa: `${tds.ca}\n${dbx.ca}`, connectTimeoutMs: 1000 }, logStream: logs.stream });
    await writeFourSourceSecrets(platform);
  });

  after(async () => {
    await platform?.close();
    for (const l of listeners) await l.stop();
  });

  for (const type of TYPES) {
    test(`${type}: closed, silent, HTTP, random bytes, hang-up, a message cut short: one 502 detail naming only the source; the log has each reason`, { timeout: 60_000 }, async () => {
      const targets: Array<[string, number]> = [['closed', await freePort()], ...listeners.map((l) => [l.kind, l.port] as [string, number])];
      const details = new Set<string>();
      const reasons: string[] = [];
      for (const [kind, port] of targets) {
        const answer: Answer = await platform.post(platform.publish, '/data-publish/validate', accessRequest(sourceAt(type, '127.0.0.1', port)));
        assert.equal(answer.status, 502, `${type} ${kind}: ${JSON.stringify(answer.body)}`);
        const detail = answer.body.payload.detail as string;
        assert.match(detail, /^Cannot connect to .*; the reason is in the service log\.$/, `${type} ${kind}`);
        details.add(detail.replace(`:${port}/`, ':<port>/'));
        const logged = logs.forRequest(answer.requestId).map((l) => String(l.err?.message ?? '')).filter((m) => m.includes('Cannot connect'));
        assert.ok(logged.length > 0, `${type} ${kind}: the reason was logged`);
        reasons.push(logged[0]!);
      }
      assert.equal(details.size, 1, `${type}: one message for every kind of port: ${[...details].join(' | ')}`);
      // The log does tell them apart (at least refused from the rest).
      assert.ok(new Set(reasons.map((r) => r.replace(/\d+/g, '#'))).size > 1, `${type}: the log says why: ${reasons.join(' | ')}`);
    });
  }
});

describe('Databricks: the driver\'s own HTTPS requests go through the checked agent', () => {
  test('a warehouse on a host the agent refuses: SOURCE_NOT_ALLOWED, and the double sees no Thrift call', async () => {
    const where = 'databrickssql source https://127.0.0.1 (catalog research)';
    const ca = [...tls.rootCertificates, dbx.ca];
    const tokenAgent = new CheckedHttpsAgent(SourceHosts.unrestricted(), where, { ca });
    const tokens = new TokenSource({ origin: `https://127.0.0.1:${dbx.port}`, where, clientIdSecret: 'dbx-client-id', agent: tokenAgent, timeoutMs: 3000 }, SERVICE_PRINCIPAL);
    await tokens.get();
    const target = { host: '127.0.0.1', port: dbx.port, path: dbx.warehousePath, catalog: 'research', where, tokens, startTimeoutMs: 500, socketTimeoutMs: 5000, settings: databricksSettings({}) };
    const thriftCalls = () => dbx.requests.filter((r) => r.thrift !== undefined).length;
    const before = thriftCalls();
    const refusingAgent = new CheckedHttpsAgent(SourceHosts.parse('10.0.0.0/8'), where, { ca });
    const refusing = new Warehouse({ ...target, agent: refusingAgent, storageAgent: refusingAgent });
    await assert.rejects(refusing.open(), (e: unknown) => e instanceof AppError && e.code === 'SOURCE_NOT_ALLOWED');
    await refusing.close();
    assert.equal(thriftCalls(), before, 'no Thrift call reached the warehouse');
    // Control: the same warehouse through an agent that allows it.
    const agent = new CheckedHttpsAgent(SourceHosts.parse(`127.0.0.1:${dbx.port}`), where, { ca });
    const allowed = new Warehouse({ ...target, agent, storageAgent: agent });
    assert.deepEqual(await allowed.query('SELECT 1 AS one'), [{ one: 1 }]);
    await allowed.close();
    assert.ok(thriftCalls() > before);
    for (const a of [tokenAgent, refusingAgent, agent]) a.destroy();
  });

  test('a CloudFetch link to a host or port the agent refuses: SOURCE_NOT_ALLOWED, no retry, and storage sees no connection', async () => {
    const where = 'databrickssql source https://127.0.0.1 (catalog research)';
    const tlsCa = dbx.ca;
    const connections = dbx.storage.connections;
    for (const hosts of [SourceHosts.parse(`127.0.0.1:${dbx.port}`), SourceHosts.parse(`127.0.0.2:${storagePort()}, localhost:${storagePort()}`)]) {
      const storageAgent = agentFor({ where }, { hosts, tlsCa, maxSockets: 2 });
      const refused = await new Promise<unknown>((resolve) => {
        https.get(dbx.storage.link('any-file', Date.now() + 60_000), { agent: storageAgent }, () => resolve(undefined)).on('error', resolve);
      });
      storageAgent.destroy();
      assert.ok(refused instanceof AppError && refused.code === 'SOURCE_NOT_ALLOWED', String(refused));
      assert.match(refused.message, /^Connections to the cloud storage of the databrickssql source .* are not allowed: SOURCE_ALLOWED_HOSTS does not allow that host and port\.$/);
    }
    assert.equal(dbx.storage.connections, connections, 'storage saw no connection');
  });
});

describe('Databricks CloudFetch through the services: result links are dialled only where SOURCE_ALLOWED_HOSTS allows', () => {
  /** A package of cohort.person from the workspace double, its rows as CloudFetch files (one row each) from the storage double. */
  async function packageThrough(allowed: string, logs: LogLines): Promise<{ answer: Answer; links: number; connections: number; downloads: number }> {
    const platform = await startPlatform({ env: { SOURCE_ALLOWED_HOSTS: allowed }, connectorOptions: { tlsCa: dbx.ca, connectTimeoutMs: 3000 }, logStream: logs.stream });
    const before = { connections: dbx.storage.connections, downloads: dbx.storage.requests.length, calls: dbx.warehouse.calls.length };
    try {
      await writeFourSourceSecrets(platform);
      const answer = await platform.post(platform.gateway, '/project/package', { ...transferRequest(sourceAt('databrickssql', '127.0.0.1', dbx.port), dataFor('databrickssql')), destination: { name: 'LSC', type: 'filestore', format: 'csv' } });
      const links = dbx.warehouse.calls.slice(before.calls).filter((c) => c.format === 'url').length;
      return { answer, links, connections: dbx.storage.connections - before.connections, downloads: dbx.storage.requests.length - before.downloads };
    } finally {
      await platform.close();
    }
  }

  before(() => {
    dbx.warehouse.options.cloudFetch = { minRows: 0, fileRows: 1 };
  });

  after(() => {
    delete dbx.warehouse.options.cloudFetch;
  });

  test('the workspace allowed but not its storage\'s port: 403 naming the setting, the reason logged, and storage sees no connection', async () => {
    const logs = new LogLines();
    const { answer, links, connections, downloads } = await packageThrough(`127.0.0.1:${dbx.port}`, logs);
    assert.equal(answer.status, 403, JSON.stringify(answer.body));
    assert.match(answer.body.payload.detail, NOT_ALLOWED);
    assert.match(answer.body.payload.detail, /cloud storage of the databrickssql source/);
    assert.doesNotMatch(JSON.stringify(answer.body), /sig=|\/results\//, 'never the signed link');
    logs.assertReason(answer.requestId, new RegExp(`127\\.0\\.0\\.1 resolves to 127\\.0\\.0\\.1, which SOURCE_ALLOWED_HOSTS does not allow on port ${storagePort()}`), 'package');
    assert.ok(links > 0, 'the warehouse answered with CloudFetch links');
    assert.equal(connections, 0, 'no connection to storage');
    assert.equal(downloads, 0);
  });

  test('workspace and storage both allowed: the package downloads its files and succeeds', async () => {
    const { answer, links, connections, downloads } = await packageThrough(`127.0.0.1:${dbx.port}, 127.0.0.1:${storagePort()}`, new LogLines());
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.ok(links > 0, 'the warehouse answered with CloudFetch links');
    assert.ok(connections > 0 && downloads > 0, 'the files came from storage');
  });
});

describe('the setting itself', () => {
  test('entries: names, wildcards of one or more labels, addresses, CIDR ranges (IPv4 and IPv6), ports and port ranges', () => {
    const hosts = SourceHosts.parse('db.example.org, *.lake.example.org:443, 10.20.0.0/16:5432, [fd00::/8]:1433-1434, 192.0.2.7, 2001:db8::/32, Other.Example.ORG.:3306');
    assert.equal(hosts.restricted, true);
    assert.deepEqual(hosts.ranges, [
      { cidr: '10.20.0.0/16', from: 5432, to: 5432 },
      { cidr: 'fd00::/8', from: 1433, to: 1434 },
      { cidr: '192.0.2.7/32', from: 1, to: 65535 },
      { cidr: '2001:db8::/32', from: 1, to: 65535 },
    ]);
    const cases: Array<[string | undefined, string, number, boolean]> = [
      ['db.example.org', '203.0.113.5', 5432, true],
      ['DB.Example.Org.', '203.0.113.5', 1, true],
      ['x.db.example.org', '203.0.113.5', 5432, false],
      ['ws.lake.example.org', '203.0.113.5', 443, true],
      ['a.b.lake.example.org', '203.0.113.5', 443, true],
      ['lake.example.org', '203.0.113.5', 443, false],
      ['ws.lake.example.org', '203.0.113.5', 444, false],
      ['evil-lake.example.org', '203.0.113.5', 443, false],
      ['anything.internal', '10.20.3.4', 5432, true],
      ['anything.internal', '10.20.3.4', 5433, false],
      [undefined, '10.21.0.1', 5432, false],
      [undefined, 'fd00::5', 1434, true],
      [undefined, 'fd00::5', 1435, false],
      [undefined, '192.0.2.7', 9, true],
      [undefined, '192.0.2.8', 9, false],
      [undefined, '2001:db8:1::1', 80, true],
      ['other.example.org', '198.51.100.1', 3306, true],
      ['other.example.org', '198.51.100.1', 3307, false],
      // A name entry never opens the link-local ranges; only an address or range entry covering them does.
      ['db.example.org', '169.254.169.254', 5432, false],
      ['db.example.org', 'fe80::1', 5432, false],
    ];
    for (const [name, address, port, expected] of cases) assert.equal(hosts.allows(name, address, port), expected, `${name ?? '(address)'} ${address}:${port}`);
    assert.equal(SourceHosts.parse('169.254.169.254:80').allows(undefined, '169.254.169.254', 80), true);
    const open = SourceHosts.unrestricted();
    assert.equal(open.restricted, false);
    assert.equal(open.allows('db', '10.1.1.1', 1), true);
    assert.equal(open.allows(undefined, '169.254.169.254', 80), false);
    assert.equal(open.allows(undefined, '::ffff:169.254.169.254', 80), false);
    assert.equal(open.allows(undefined, 'fe80::abcd', 80), false);
  });

  test('unset, a service says so once at start-up, naming the setting; set, it says nothing', () => {
    const warnings = (env: NodeJS.ProcessEnv) => {
      const lines = new LogLines();
      serviceConnectorOptions(createLogger('metadata', 'info', lines.stream), env);
      return lines.lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40).map((l) => l.msg);
    };
    const unset = warnings({});
    assert.equal(unset.length, 1, unset.join(' | '));
    assert.match(unset[0]!, /sources are unrestricted.*SOURCE_ALLOWED_HOSTS/);
    assert.deepEqual(warnings({ SOURCE_ALLOWED_HOSTS: '10.0.0.0/8:5432' }), []);
  });

  test('a malformed entry stops start-up with one line naming the setting and the entry', () => {
    for (const bad of ['db..example.org', '*.org', 'db.example.org:0', 'db.example.org:70000', 'db:10-5', '10.0.0.0/33', '10.0.0.0/x', '[fd00::1', 'a b', '-db.example.org', ', ,']) {
      assert.throws(() => SourceHosts.parse(bad), (e: unknown) => e instanceof ConfigError && e.message.startsWith('Invalid setting SOURCE_ALLOWED_HOSTS'), bad);
    }
  });
});
