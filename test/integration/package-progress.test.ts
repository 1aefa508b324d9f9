/**
 * Progress of a package (issue #17), through the real pipeline: packageProject
 * with a ProgressTracker, from each source (PostgreSQL and MariaDB on the
 * machine, the SQL Server and Databricks doubles) into the filestore as CSV
 * and DuckDB and into the PostgreSQL destination.
 *
 * What must hold: plan() comes first, listing the tables in the dataset's
 * order with the source's estimates (its catalog statistics; null where there
 * are none: a view, a table never analysed, any Databricks table); each
 * table's updates are running totals that never go back and come before its
 * done(), tables one after another; every table ends done with the rows
 * written and its canonical CSV bytes, which are the CSV file's size, and the
 * same bytes whatever the destination.
 */
import { Settlements } from '../../subgraphs/publish/src/jobs/settlements.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { AuditLog } from '../../lib/audit/audit-log.js';
import { transferRequestSchema } from '../../lib/contract/index.js';
import type { SourceConnectorOptions } from '../../lib/connectors/index.js';
import { MemoryJobEngine } from '../../lib/jobs/memory.js';
import { ProgressTracker } from '../../lib/jobs/progress.js';
import { ServiceMetrics } from '../../lib/metrics/metrics.js';
import { ProjectLog } from '../../lib/project-log.js';
import type { CallContext } from '../../lib/http/service.js';
import { filestoreDestination } from '../../subgraphs/publish/src/destinations/filestore/destination.js';
import { StorageMounts } from '../../subgraphs/publish/src/destinations/filestore/mount/mounts.js';
import { readFilestoreSettings } from '../../subgraphs/publish/src/destinations/filestore/settings.js';
import type { PublishDeps } from '../../subgraphs/publish/src/deps.js';
import { publishJobHandler } from '../../subgraphs/publish/src/jobs/handler.js';
import { packageProject } from '../../subgraphs/publish/src/package-project.js';
import { createMysqlDatabase, mysqlSettings, pgSettings, type TestMysqlDatabase } from '../support/databases.js';
import { DatabricksDouble, SERVICE_PRINCIPAL, databricksSource } from '../support/databricks/index.js';
import { tempMount } from '../support/filestore-fs.js';
import * as harness from '../support/pg-destination-harness.js';
import { dataset, sqlSource, transferRequest, type SqlSourceBody } from '../support/requests.js';
import { MSSQL_LOGIN, mssqlSource, startTdsDouble, type StartedTds } from '../support/tds/index.js';
import { researchDatabase } from '../support/tds/research-db.js';
import { MemoryApprovals } from '../../subgraphs/publish/src/approvals/store.js';

type Event = { kind: 'plan'; tables: Array<{ table: string; estimatedRows: number | null }> } | { kind: 'update' | 'done'; table: string; rows: number; bytes: number };

/** The real tracker, with the calls it was given kept in order. */
class RecordingTracker extends ProgressTracker {
  readonly events: Event[] = [];
  override plan(tables: ReadonlyArray<{ table: string; estimatedRows: number | null }>): void {
    this.events.push({ kind: 'plan', tables: tables.map((t) => ({ ...t })) });
    super.plan(tables);
  }
  override update(table: string, rows: number, bytes: number): void {
    this.events.push({ kind: 'update', table, rows, bytes });
    super.update(table, rows, bytes);
  }
  override done(table: string, rows: number, bytes: number): void {
    this.events.push({ kind: 'done', table, rows, bytes });
    super.done(table, rows, bytes);
  }
}

const DESTINATIONS = {
  csv: { name: 'LSC', type: 'filestore', format: 'csv' },
  duckdb: { name: 'LSC', type: 'filestore', format: 'duckdb' },
  postgresql: harness.DESTINATION,
} as const;

let mount: { root: string; cleanup: () => Promise<void> };
let my: TestMysqlDatabase;
let tds: StartedTds;
let dbx: DatabricksDouble;
let deps: PublishDeps;
const secrets = new harness.MemorySecrets();
const call: CallContext = { requestId: 'req-progress', keyId: 'test-key', log: pino({ level: 'silent' }) };
let starts = 0;

/** Rows of the tables big enough to stream in several chunks. */
const MANY = 20_000;

before(async () => {
  await harness.setUpPgDestination();
  mount = await tempMount();
  await harness.source.client.query(`
    CREATE TABLE many AS SELECT g AS id, 'row ' || g || ', with "quotes"' AS label FROM generate_series(1, ${MANY}) AS g;
    CREATE TABLE fresh (id int); INSERT INTO fresh VALUES (1), (2);
    CREATE TABLE nothing (id int);
    CREATE VIEW adults AS SELECT id, name FROM person;
    CREATE TABLE parted (id int) PARTITION BY RANGE (id);
    CREATE TABLE parted_low PARTITION OF parted FOR VALUES FROM (0) TO (100);
    CREATE TABLE parted_high PARTITION OF parted FOR VALUES FROM (100) TO (1000);
    INSERT INTO parted SELECT g FROM generate_series(1, 500) AS g;
    ANALYZE person; ANALYZE visit; ANALYZE many; ANALYZE parted;
  `);
  my = await createMysqlDatabase('progress');
  await my.conn.query(`
    CREATE TABLE person (id bigint PRIMARY KEY, name varchar(40)) ENGINE=InnoDB;
    INSERT INTO person VALUES (1, 'Ann'), (2, 'Bob, "B"'), (3, NULL);
    CREATE TABLE many (id int PRIMARY KEY, label varchar(60)) ENGINE=InnoDB;
    INSERT INTO many SELECT seq, concat('row ', seq) FROM seq_1_to_${MANY};
    CREATE VIEW adults AS SELECT id, name FROM person;
    ANALYZE TABLE person, many;
  `);
  const research = researchDatabase('research', true);
  research.schemas.dbo!.push({ name: 'adults', view: true, columns: [{ name: 'id', type: 'bigint', nullable: false }], rows: [[1n]] });
  tds = await startTdsDouble([research]);
  dbx = await new DatabricksDouble({
    clients: { [SERVICE_PRINCIPAL.clientId]: SERVICE_PRINCIPAL.clientSecret },
    catalogs: [{
      name: 'research',
      schemas: {
        cohort: {
          tables: [
            { name: 'person', version: 4, columns: [{ name: 'id', typeName: 'LONG', typeText: 'bigint', nullable: false }, { name: 'note', typeName: 'STRING', typeText: 'string' }], rows: [[1n, 'a,b'], [2n, null]] },
            { name: 'numbers', columns: [{ name: 'n', typeName: 'INT', typeText: 'int' }], rows: () => Array.from({ length: 3000 }, (_, i) => [i + 1]) },
          ],
        },
      },
    }],
    pageRows: 500,
  }).start();

  for (const [name, value] of Object.entries({
    'postgresql-user': pgSettings.user, 'postgresql-password': pgSettings.password, 'mysql-user': mysqlSettings.user, 'mysql-password': mysqlSettings.password,
    'mssql-user': MSSQL_LOGIN.user, 'mssql-password': MSSQL_LOGIN.password,
    'dbx-client-id': SERVICE_PRINCIPAL.clientId, 'dbx-client-secret': SERVICE_PRINCIPAL.clientSecret,
  })) secrets.values.set(name, value);

  deps = {
    secrets,
    // The doubles' certificates are signed by their own test CAs: both are trusted.
    connectorOptions: { tlsCa: `${tds.ca.trim()}\n${dbx.ca.trim()}\n` },
    destinations: {
      filestore: filestoreDestination(new StorageMounts({ TARGET_STORAGE_ACCOUNT_LSC_SDE_MNT_PATH: mount.root }), readFilestoreSettings({})),
      postgresql: harness.destination,
    },
    validations: new ProjectLog(),
    // Nothing validated here: packages run unchecked, as by default.
    approvals: { store: new MemoryApprovals(16 * 1024 * 1024), allowDrift: false, requireValidation: false },
    obs: { service: 'publish', audit: new AuditLog(undefined, () => undefined), metrics: new ServiceMetrics('publish') },
    packageDeadlineMs: 120_000,
    jobs: new MemoryJobEngine({ log: pino({ level: 'silent' }), replica: 'test-replica' }),
    settlements: new Settlements(pino({ level: 'silent' })),
  };
  await deps.jobs.start(publishJobHandler(deps));
});

after(async () => {
  await deps?.jobs.close();
  assert.deepEqual(tds?.double.unexpected ?? [], [], 'the SQL Server double understood every statement');
  assert.deepEqual(dbx?.unexpected ?? [], []);
  assert.deepEqual(dbx?.warehouse.unexpected ?? [], []);
  await tds?.double.close();
  await dbx?.close();
  await my?.drop();
  await mount?.cleanup();
  await harness.tearDownPgDestination();
});

type Source = SqlSourceBody | ReturnType<typeof databricksSource>;

/** Packages `tables` of `schema` into `destination` with a recording tracker; answers the tracker and the payload. */
async function packageWithProgress(source: Source, schema: string, tables: string[], destination: keyof typeof DESTINATIONS) {
  const start = `20250301_0000${String(starts++).padStart(2, '0')}`;
  const body = { ...transferRequest(source as SqlSourceBody, dataset(schema, tables), { project_start_time: start }), destination: DESTINATIONS[destination] };
  const request = transferRequestSchema.parse(body);
  const tracker = new RecordingTracker();
  const payload = await packageProject(request, deps, call, { progress: tracker });
  return { tracker, payload, start };
}

/** Asserts the order and shape of the calls, and answers each table's final figures. */
function checkEvents(tracker: RecordingTracker, tables: string[], estimates: Record<string, number | 'some' | null>): Map<string, { rows: number; bytes: number }> {
  const [plan, ...rest] = tracker.events;
  assert.equal(plan?.kind, 'plan', 'plan() comes first');
  assert.deepEqual(plan.tables.map((t) => t.table), tables, 'the plan lists the tables in order');
  for (const t of plan.tables) {
    const want = estimates[t.table];
    if (want === 'some') assert.ok(t.estimatedRows !== null && t.estimatedRows >= 0, `${t.table}: an estimate (${t.estimatedRows})`);
    else assert.equal(t.estimatedRows, want, `${t.table}: estimate`);
  }
  const finals = new Map<string, { rows: number; bytes: number }>();
  let index = 0;
  let last = { rows: 0, bytes: 0 };
  let updates = 0;
  for (const e of rest) {
    assert.ok(e.kind !== 'plan', 'one plan');
    assert.equal(e.table, tables[index], 'tables report one after another, in order');
    assert.ok(e.rows >= last.rows && e.bytes >= last.bytes, `${e.table}: running totals never go back (${JSON.stringify(last)} → ${e.rows}/${e.bytes})`);
    last = { rows: e.rows, bytes: e.bytes };
    if (e.kind === 'update') {
      updates++;
      continue;
    }
    assert.ok(updates > 0, `${e.table}: updated before done`);
    finals.set(e.table, last);
    index++;
    last = { rows: 0, bytes: 0 };
    updates = 0;
  }
  assert.equal(index, tables.length, 'every table ends done');
  const snapshot = tracker.snapshot();
  assert.deepEqual(snapshot.map((t) => [t.table, t.state, t.rows, t.bytes]), tables.map((t) => [t, 'done', finals.get(t)!.rows, finals.get(t)!.bytes]));
  return finals;
}

/** Each table's CSV file size in the package's staging folder. */
async function csvSizes(payload: Awaited<ReturnType<typeof packageProject>>, start: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const entry of payload.data_retrieved as Array<{ file_path: string }>) {
    const file = path.join(mount.root, 'staging', 'Pr004', start, entry.file_path);
    sizes.set(path.basename(file, '.csv'), (await stat(file)).size);
  }
  return sizes;
}

/** Packages to CSV and checks the figures against the files; answers them for the other destinations to match. */
async function checkCsv(source: Source, schema: string, tables: string[], rows: Record<string, number>, estimates: Record<string, number | 'some' | null>) {
  const { tracker, payload, start } = await packageWithProgress(source, schema, tables, 'csv');
  const finals = checkEvents(tracker, tables, estimates);
  const sizes = await csvSizes(payload, start);
  for (const t of tables) {
    assert.equal(finals.get(t)!.rows, rows[t], `${t}: rows`);
    assert.equal(finals.get(t)!.bytes, sizes.get(t), `${t}: bytes are the CSV file's size`);
  }
  return { finals, tracker };
}

/** Packages into another destination: the same rows and bytes as the CSV package. */
async function checkSame(source: Source, schema: string, tables: string[], destination: 'duckdb' | 'postgresql', csv: Map<string, { rows: number; bytes: number }>, estimates: Record<string, number | 'some' | null>) {
  const { tracker } = await packageWithProgress(source, schema, tables, destination);
  const finals = checkEvents(tracker, tables, estimates);
  assert.deepEqual(Object.fromEntries(finals), Object.fromEntries(csv), `${destination}: the same rows and canonical bytes as CSV`);
}

describe('package progress', () => {
  test('PostgreSQL: estimates from pg_class after ANALYZE (a partitioned table too), none for a table never analysed or a view, 0 for an empty one; into CSV, DuckDB and PostgreSQL', async () => {
    const source = sqlSource('postgresql', harness.source.database);
    const tables = ['person', 'many', 'fresh', 'visit', 'adults', 'parted', 'nothing'];
    const estimates = { person: 3, many: MANY, fresh: null, visit: 3, adults: null, parted: 500, nothing: 0 };
    const { finals, tracker } = await checkCsv(source, 'public', tables, { person: 3, many: MANY, fresh: 2, visit: 3, adults: 3, parted: 500, nothing: 0 }, estimates);
    assert.ok(tracker.events.filter((e) => e.kind === 'update' && e.table === 'many').length > 1, 'a table of several chunks reports as it goes');
    await checkSame(source, 'public', tables, 'duckdb', finals, estimates);
    await checkSame(source, 'public', tables, 'postgresql', finals, estimates);
  });

  test('PostgreSQL read over parallel connections: the same figures as over one, still in order', async () => {
    const source = sqlSource('postgresql', harness.source.database);
    await harness.source.client.query('CREATE TABLE wide AS SELECT g AS id, repeat(md5(g::text), 8) AS payload FROM generate_series(1, 40000) AS g; ANALYZE wide');
    const one = await checkCsv(source, 'public', ['wide'], { wide: 40_000 }, { wide: 40_000 });
    const before = deps.connectorOptions;
    const parallel: SourceConnectorOptions = { ...before, postgresqlParallelConnections: 3 };
    deps.connectorOptions = parallel;
    try {
      const { finals, tracker } = await checkCsv(source, 'public', ['wide'], { wide: 40_000 }, { wide: 40_000 });
      assert.deepEqual(Object.fromEntries(finals), Object.fromEntries(one.finals));
      assert.ok(tracker.events.filter((e) => e.kind === 'update').length > 1);
    } finally {
      deps.connectorOptions = before;
    }
  });

  test('MariaDB: InnoDB estimates from information_schema.TABLES, none for a view; into CSV and PostgreSQL', async () => {
    const source = sqlSource('mysql', my.database);
    const tables = ['person', 'many', 'adults'];
    const estimates = { person: 'some', many: 'some', adults: null } as const;
    const { finals } = await checkCsv(source, my.database, tables, { person: 3, many: MANY, adults: 3 }, estimates);
    await checkSame(source, my.database, tables, 'postgresql', finals, estimates);
  });

  test('SQL Server: estimates from sys.partitions, none for a view; into CSV and DuckDB', async () => {
    const source = mssqlSource(tds.double, 'research');
    const tables = ['person', 'big', 'visit', 'adults'];
    const estimates = { person: 2, big: 20_000, visit: 1, adults: null };
    const { finals } = await checkCsv(source, 'dbo', tables, { person: 2, big: 20_000, visit: 1, adults: 1 }, estimates);
    await checkSame(source, 'dbo', tables, 'duckdb', finals, estimates);
  });

  test('Databricks: no estimates; into CSV and DuckDB', async () => {
    const source = databricksSource(dbx, 'research');
    const tables = ['person', 'numbers'];
    const estimates = { person: null, numbers: null };
    const { finals } = await checkCsv(source, 'cohort', tables, { person: 2, numbers: 3000 }, estimates);
    await checkSame(source, 'cohort', tables, 'duckdb', finals, estimates);
  });

  test("a package run as a job: the job's progress ends with every table done, as a direct package reports it", async () => {
    const source = sqlSource('postgresql', harness.source.database);
    const tables = ['person', 'many', 'fresh'];
    const { finals } = await checkCsv(source, 'public', tables, { person: 3, many: MANY, fresh: 2 }, { person: 3, many: MANY, fresh: null });
    const request = transferRequestSchema.parse({ ...transferRequest(source, dataset('public', tables), { project_start_time: '20250302_000000' }), destination: DESTINATIONS.duckdb });
    const { job } = await deps.jobs.submit({ job: { kind: 'package', request }, startedBy: 'test-key', requestId: 'req-job-progress' });
    const ended = await deps.jobs.wait(job.id);
    assert.equal(ended.state, 'succeeded', JSON.stringify(ended.error));
    assert.deepEqual(
      ended.progress,
      tables.map((t) => ({ table: t, state: 'done', rows: finals.get(t)!.rows, bytes: finals.get(t)!.bytes, estimated_rows: t === 'fresh' ? null : t === 'many' ? MANY : 3 })),
    );
  });

  test('without a tracker nothing is asked of the source beyond the package', async () => {
    const seen: string[] = [];
    const before = deps.connectorOptions;
    deps.connectorOptions = { ...before, onQuery: (sql) => void seen.push(sql) };
    try {
      const request = transferRequestSchema.parse({ ...transferRequest(sqlSource('postgresql', harness.source.database), dataset('public', ['person'])), destination: DESTINATIONS.csv });
      await packageProject(request, deps, call);
    } finally {
      deps.connectorOptions = before;
    }
    assert.ok(seen.some((sql) => sql.startsWith('COPY')), 'the table was read');
    assert.ok(!seen.some((sql) => sql.includes('reltuples')), 'no estimate was asked for');
  });
});
