/**
 * What a SQL warehouse sends, read by the Databricks connector through the
 * real @databricks/sql transport against the workspace double: the result
 * formats the connector asks for (each explicitly, within the protocol the
 * server announces), inline Arrow with LZ4 frames, CloudFetch files from the
 * storage double (several per result, links that expire mid-read and are
 * replaced, downloads that fail), operations that stay PENDING/RUNNING,
 * statements Spark's grammar refuses, DESCRIBE HISTORY's real columns, and
 * the session settings the output depends on (the double answers otherwise
 * when they are not set as the connector sets them).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import tls from 'node:tls';
import { failure } from '../../../support/app-error.js';
import { sourceSchema, type DatabricksSourceConfig } from '../../../../lib/contract/index.js';
import { DatabricksConnector } from '../../../../lib/connectors/databricks/connector.js';
import { agentFor } from '../../../../lib/connectors/databricks/cloud-fetch.js';
import { CheckedHttpsAgent } from '../../../../lib/connectors/egress/dial.js';
import { SourceHosts } from '../../../../lib/connectors/egress/source-hosts.js';
import { databricksSettings, type DatabricksSettings } from '../../../../lib/connectors/databricks/settings.js';
import { TokenSource } from '../../../../lib/connectors/databricks/token.js';
import { SESSION_CONFIGURATION, Warehouse } from '../../../../lib/connectors/databricks/warehouse.js';
import { DBX_ALL_TYPES_CSV, DatabricksDouble, PROTOCOL, SERVICE_PRINCIPAL, databricksSource, dbxAllTypesTable, type DbxTable } from '../../../support/databricks/index.js';
import type { WarehouseOptions } from '../../../support/databricks/thrift-service.js';

const ROWS = 25;
/** `n` 1…25 and a text column, as a generator (a table the double evaluates row by row). */
function numbers(): DbxTable {
  return {
    name: 'numbers',
    version: 2,
    columns: [{ name: 'n', typeName: 'INT', typeText: 'int' }, { name: 's', typeName: 'STRING', typeText: 'string' }],
    rows: function* () {
      for (let i = 1; i <= ROWS; i++) yield [i, `row ${i}, "quoted"`];
    },
  };
}
const NUMBERS_CSV = `n,s\n${Array.from({ length: ROWS }, (_, i) => `${i + 1},"row ${i + 1}, ""quoted"""`).join('\n')}\n`;
const SELECT_NUMBERS = 'SELECT `n` AS c0, `s` AS c1 FROM `research`.`cohort`.`numbers`';

const doubles: DatabricksDouble[] = [];
after(async () => {
  for (const d of doubles) {
    assert.deepEqual(d.unexpected, []);
    assert.deepEqual(d.warehouse.unexpected, []);
    assert.deepEqual(d.warehouse.open, { sessions: 0, operations: 0 }, 'every operation and session was closed');
    await d.close();
  }
});

async function start(options: WarehouseOptions = {}): Promise<DatabricksDouble> {
  const d = await new DatabricksDouble({
    clients: { [SERVICE_PRINCIPAL.clientId]: SERVICE_PRINCIPAL.clientSecret },
    catalogs: [{ name: 'research', schemas: { cohort: { tables: [dbxAllTypesTable(), numbers()] } } }],
    ...options,
  }).start();
  doubles.push(d);
  return d;
}

function source(d: DatabricksDouble): DatabricksSourceConfig {
  return sourceSchema.parse(databricksSource(d, 'research')) as DatabricksSourceConfig;
}

async function readAll(stream: Readable, pause = 0): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(Buffer.from(chunk as Buffer));
    if (pause) await new Promise((resolve) => setTimeout(resolve, pause));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A table extracted as CSV through the connector, as a package reads it. */
async function extract(d: DatabricksDouble, table: string, settings: DatabricksSettings = {}, pause = 0): Promise<string> {
  const c = new DatabricksConnector(source(d), SERVICE_PRINCIPAL, {}, settings, d.ca);
  try {
    await c.schemaTables('cohort');
    const columns = (await c.getColumns('cohort', [table])).get(table)!;
    const snapshot = await c.snapshot();
    try {
      return await readAll(snapshot.csv('cohort', table, columns), pause);
    } finally {
      await snapshot.close();
    }
  } finally {
    await c.close();
  }
}

/** The connector's warehouse session alone, for statements a test writes. */
async function withWarehouse<T>(d: DatabricksDouble, settings: DatabricksSettings, run: (w: Warehouse) => Promise<T>): Promise<T> {
  const s = databricksSettings(settings);
  const where = 'databrickssql source under test';
  const hosts = SourceHosts.unrestricted();
  const agent = new CheckedHttpsAgent(hosts, where, { ca: [...tls.rootCertificates, d.ca] });
  const storageAgent = agentFor({ where }, { hosts, tlsCa: d.ca, maxSockets: s.cloudFetchConcurrency });
  const tokens = new TokenSource({ origin: d.url, where, clientIdSecret: 'dbx-client-id', agent, timeoutMs: 5000 }, SERVICE_PRINCIPAL);
  const w = new Warehouse({ host: '127.0.0.1', port: d.port, path: d.warehousePath, catalog: 'research', where, agent, tokens, startTimeoutMs: 1000, socketTimeoutMs: 10_000, settings: s, storageAgent });
  try {
    return await run(w);
  } finally {
    await w.close();
    agent.destroy();
    storageAgent.destroy();
  }
}

describe('result formats are asked for explicitly', () => {
  test('by default: Arrow with LZ4, CloudFetch for table reads only, no native Arrow types; the session sets ANSI_MODE and nothing else', async () => {
    const d = await start();
    await extract(d, 'numbers');
    const open = d.warehouse.calls.find((c) => c.method === 'OpenSession')!;
    assert.deepEqual(open.configuration, { ANSI_MODE: 'true' });
    const [history, select] = d.warehouse.calls.filter((c) => c.method === 'ExecuteStatement');
    const noNative = { timestampAsArrow: false, decimalAsArrow: false, complexTypesAsArrow: false, intervalTypesAsArrow: false };
    assert.deepEqual([history!.canReadArrow, history!.canLz4, history!.canDownload, history!.nativeTypes], [true, true, false, noNative]);
    assert.deepEqual([select!.canReadArrow, select!.canLz4, select!.canDownload, select!.nativeTypes], [true, true, true, noNative]);
    assert.deepEqual([select!.format, select!.lz4], ['arrow', true], 'a small result comes inline, LZ4 compressed');
  });

  test('settings turn each format off, and the same bytes come back', async () => {
    for (const [settings, expected] of [
      [{ arrow: false }, { canReadArrow: false, canLz4: false, canDownload: false, format: 'column' }],
      [{ lz4: false, cloudFetch: false }, { canReadArrow: true, canLz4: false, canDownload: false, format: 'arrow' }],
    ] as const) {
      const d = await start({ cloudFetch: { minRows: 0 } });
      assert.equal(await extract(d, 'numbers', settings), NUMBERS_CSV);
      const select = d.warehouse.calls.find((c) => c.statement?.startsWith(SELECT_NUMBERS))!;
      assert.deepEqual({ canReadArrow: select.canReadArrow, canLz4: select.canLz4, canDownload: select.canDownload, format: select.format }, expected, JSON.stringify(settings));
    }
  });

  test('a server of protocol V5 is not asked for LZ4 (V6) and sends plain Arrow', async () => {
    const d = await start({ protocolVersion: PROTOCOL.V5 });
    assert.equal(await extract(d, 'numbers'), NUMBERS_CSV);
    const select = d.warehouse.calls.find((c) => c.statement?.startsWith(SELECT_NUMBERS))!;
    assert.deepEqual([select.canLz4, select.format, select.lz4], [false, 'arrow', false]);
  });
});

describe('Spark semantics the output depends on', () => {
  test('the all-types table reads right from a workspace whose defaults are ANSI_MODE false and a non-UTC TIMEZONE', async () => {
    const d = await start({ workspaceDefaults: { ANSI_MODE: 'false', TIMEZONE: 'Asia/Kolkata' } });
    assert.equal(await extract(d, 'all_types'), DBX_ALL_TYPES_CSV);
  });

  test('without the session settings the connector makes, the double answers as Spark would: decimals in E-notation, NULL struct fields gone, local wall clocks', async () => {
    const d = await start({ workspaceDefaults: { ANSI_MODE: 'false', TIMEZONE: 'America/Los_Angeles' } });
    const rows = await withWarehouse(d, {}, async (w) => {
      const saved = { ...SESSION_CONFIGURATION };
      const conf = SESSION_CONFIGURATION as Record<string, string>;
      delete conf.ANSI_MODE;
      try {
        return await w.query('SELECT CAST(`c_decimal_wide` AS STRING) AS c0, to_json(`c_struct`) AS c1, CAST(`c_timestamp` AS STRING) AS c2 FROM `research`.`cohort`.`all_types`');
      } finally {
        Object.assign(conf, saved);
      }
    });
    assert.deepEqual(rows.map((r) => [r.c0, r.c1, r.c2]), [
      ['1234567890123456789012345678.0123456789', '{"a":1,"b":"x"}', '2024-02-29 20:45:30.123456'],
      ['-1E-10', '{"b":"Zoë 🚀"}', '1999-12-31 23:59:59.999999'],
      [null, null, null],
      ['0E-10', '{"a":0,"b":""}', '1969-12-31 15:59:59.5'],
    ]);
  });

  test('a Spark configuration a SQL warehouse session cannot set is refused, as Databricks SQL refuses it', async () => {
    const d = await start();
    const conf = SESSION_CONFIGURATION as Record<string, string>;
    conf['spark.sql.jsonGenerator.ignoreNullFields'] = 'false';
    try {
      const error = await failure(withWarehouse(d, {}, (w) => w.query('SELECT 1 AS one')));
      assert.match(error.message, /failed: \[CONFIG_NOT_AVAILABLE\] Configuration spark\.sql\.jsonGenerator\.ignoreNullFields is not available\. SQLSTATE: 42K0I\.$/);
    } finally {
      delete conf['spark.sql.jsonGenerator.ignoreNullFields'];
    }
  });
});

describe('CloudFetch', () => {
  test('several LZ4-compressed files per result, a few links per page, read in row order, each slice at most fetchRows rows', async () => {
    const d = await start({ cloudFetch: { minRows: 0, fileRows: 4, linksPerPage: 2 } });
    assert.equal(await extract(d, 'numbers', { fetchRows: 3 }), NUMBERS_CSV);
    const select = d.warehouse.calls.find((c) => c.statement?.startsWith(SELECT_NUMBERS))!;
    assert.deepEqual([select.format, select.lz4], ['url', true]);
    const files = d.storage.requests.filter((r) => r.status === 200);
    assert.equal(files.length, 7, 'files of 4 rows for 25 rows');
    const fetches = d.warehouse.calls.slice(d.warehouse.calls.indexOf(select) + 1).filter((c) => c.method === 'FetchResults');
    assert.deepEqual(fetches.map((f) => [f.orientation, f.startRowOffset, f.links]), [[0, 8, 2], [0, 16, 2], [0, 24, 1]]);
    const sizes = await withWarehouse(d, { fetchRows: 3 }, async (w) => {
      const seen: number[] = [];
      for await (const batch of w.batches(SELECT_NUMBERS, 3)) seen.push(batch.length);
      return seen;
    });
    assert.deepEqual(sizes, [3, 1, 3, 1, 3, 1, 3, 1, 3, 1, 3, 1, 1]);
  });

  test('a link that expires mid-read, or that storage already refuses, is replaced by a fresh one for the same rows', async () => {
    const d = await start({ cloudFetch: { minRows: 0, fileRows: 4, linksPerPage: 8, linkFaults: { 2: 'expires-soon', 4: 'refused' } } });
    assert.equal(await extract(d, 'numbers', { fetchRows: 2, cloudFetchConcurrency: 1 }, 30), NUMBERS_CSV);
    const fresh = d.warehouse.calls.filter((c) => c.method === 'FetchResults' && c.orientation === 3);
    assert.deepEqual(fresh.map((c) => [c.startRowOffset, c.links]), [[8, 7 - 2], [16, 7 - 4]].map(([o, l]) => [o, Math.min(8, l!)]));
    const refused = d.storage.requests.filter((r) => r.status === 403);
    assert.equal(refused.length, 1, 'storage refused the bad link once; the expired one was replaced before use');
  });

  for (const [fault, code, pattern] of [
    ['server-error', 'SOURCE_UNREACHABLE', /cloud storage answered HTTP 500 \(3 attempts\)\.$/],
    ['truncated', 'SOURCE_QUERY_FAILED', /the file was cut short \(\d+ of \d+ bytes\)\.$/],
    ['garbage', 'SOURCE_QUERY_FAILED', /sent a result that cannot be read: the CloudFetch file of rows 4–7 \(from 127\.0\.0\.1:\d+\) is not a valid LZ4 frame/],
  ] as const) {
    test(`a file download that fails (${fault}) is a clear error naming the source and the rows, never the signed link`, async () => {
      const d = await start({ cloudFetch: { minRows: 0, fileRows: 4, fileFaults: { 1: fault } } });
      const error = await failure(extract(d, 'numbers'));
      assert.equal(error.code, code);
      assert.match(error.message, /databrickssql source https:\/\/127\.0\.0\.1 \(catalog research\)/);
      assert.match(error.message, pattern);
      assert.doesNotMatch(error.message, /sig=|se=|\/results\//);
    });
  }

  test('a link storage keeps refusing after a fresh one was fetched: a clear error', async () => {
    const d = await start({ cloudFetch: { minRows: 0, fileRows: 4, linkFaults: { 0: 'always-refused' } } });
    const error = await failure(extract(d, 'numbers'));
    assert.equal(error.code, 'SOURCE_QUERY_FAILED');
    assert.match(error.message, /^Downloading the CloudFetch file of rows 0–3 \(from 127\.0\.0\.1:\d+\) for the databrickssql source .* failed: cloud storage refused its link \(HTTP 403: expired or not signed for this file\), again with a fresh link\. Retry; if it keeps failing, set SOURCE_DATABRICKS_CLOUD_FETCH=false\.$/);
  });
});

describe('what else a warehouse sends', () => {
  test('inline Arrow pages and batches larger than fetchRows are cut: never more than fetchRows rows at a time', async () => {
    const d = await start({ inlinePageRows: 10, inlineBatchRows: 10 });
    const sizes = await withWarehouse(d, { cloudFetch: false }, async (w) => {
      const seen: number[] = [];
      for await (const batch of w.batches(SELECT_NUMBERS, 3)) seen.push(batch.length);
      return seen;
    });
    assert.deepEqual(sizes, [3, 3, 3, 1, 3, 3, 3, 1, 3, 2]);
    assert.deepEqual(d.warehouse.calls.filter((c) => c.batchRows).map((c) => c.batchRows), [[10], [10], [5]]);
  });

  test('an operation that stays PENDING, then RUNNING, is polled until it has finished', async () => {
    const d = await start({ runningPolls: 4 });
    assert.equal(await extract(d, 'numbers'), NUMBERS_CSV);
    const select = d.warehouse.calls.findIndex((c) => c.statement?.startsWith(SELECT_NUMBERS));
    const polls = d.warehouse.calls.slice(select + 1).filter((c) => c.method === 'GetOperationStatus').slice(0, 5);
    assert.equal(d.warehouse.calls[select]!.state, 7, 'direct results said PENDING');
    assert.deepEqual(polls.map((c) => c.state), [7, 7, 1, 1, 2]);
  });

  test('a statement Spark’s grammar refuses is answered as Spark answers it', async () => {
    const d = await start();
    const error = await failure(withWarehouse(d, {}, (w) => w.query('SELECT `n` AS c0, FROM `research`.`cohort`.`numbers`')));
    assert.equal(error.code, 'SOURCE_QUERY_FAILED');
    assert.match(error.message, /failed: \[PARSE_SYNTAX_ERROR\] Syntax error at or near 'FROM'\. SQLSTATE: 42601 \(line 1, pos 18\)\.$/);
  });

  test('DESCRIBE HISTORY answers Delta’s history columns, latest version first', async () => {
    const d = await start();
    const rows = await withWarehouse(d, {}, (w) => w.query('DESCRIBE HISTORY `research`.`cohort`.`numbers`'));
    assert.deepEqual(Object.keys(rows[0]!), ['version', 'timestamp', 'userId', 'userName', 'operation', 'operationParameters', 'job', 'notebook', 'clusterId', 'readVersion', 'isolationLevel', 'isBlindAppend', 'operationMetrics', 'userMetadata', 'engineInfo']);
    assert.deepEqual(rows.map((r) => [r.version, r.operation]), [[2n, 'WRITE'], [1n, 'WRITE'], [0n, 'CREATE TABLE']]);
  });
});
