/**
 * Where validations' approvals are kept (subgraphs/publish/src/approvals/store.ts):
 * in the platform database (migration 004) and in memory, the same behaviour
 * through the same interface: the newest approval of each table per source and
 * schema, whether anything was approved for the project, the newest 20
 * approvals per project and start time. And a validation record kept before
 * approvals existed reads back with none.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { validationRecordSchema } from '../../../lib/contract/index.js';
import { createLogger } from '../../../lib/logging/logger.js';
import { RECORDS_PER_PROJECT } from '../../../lib/project-log.js';
import { FileSecretProvider } from '../../../lib/secrets/index.js';
import { openPlatformStore, readPlatformStoreSettings, StoredProjectRecords, type PlatformStore } from '../../../lib/store/index.js';
import { approvalFingerprint, type Approval, type ApprovedTable } from '../../../subgraphs/publish/src/approvals/approval.js';
import { MemoryApprovals, StoredApprovals, type ApprovalStore } from '../../../subgraphs/publish/src/approvals/store.js';
import { createPgDatabase, pgSettings, type TestPgDatabase } from '../../support/databases.js';

const SRC = 'postgresql source 127.0.0.1:5432/src';

function approval(tables: Record<string, Array<[string, string]>>, options: { source?: string; schema?: string; at?: string } = {}): Approval {
  const list: ApprovedTable[] = Object.entries(tables).map(([name, cols]) => ({ name, columns: cols.map(([c, type]) => ({ name: c, type })) }));
  const schema = options.schema ?? 'public';
  return { validatedAt: options.at ?? '2025-01-01T00:00:00.000Z', source: options.source ?? SRC, catalog: 'src', schema, tables: list, fingerprint: approvalFingerprint('src', schema, list) };
}

const columns = (cols: Array<[string, string]>) => cols.map(([name, type]) => ({ name, type }));

/** The behaviour both stores share. */
function behaves(name: string, make: () => ApprovalStore) {
  describe(`${name}: the approvals of a project`, () => {
    test('nothing approved: none, for any project', async () => {
      const store = make();
      assert.deepEqual(await store.approved('Nobody', 'T', SRC, 'public', null), { any: false, tables: new Map() });
    });

    test('the newest approval of each table, from the same source and schema, only the tables asked for', async () => {
      const store = make();
      assert.equal(await store.record('P', 'T', approval({ person: [['id', 'int32']], visit: [['id', 'int32']] })), true);
      // A later validation of another dataset (another table) leaves the first one's tables approved.
      await store.record('P', 'T', approval({ site: [['code', 'text']] }));
      // A later one of the same table supersedes it.
      await store.record('P', 'T', approval({ person: [['id', 'int64'], ['name', 'text']] }));
      // Another schema, another source, another project or start time: apart.
      await store.record('P', 'T', approval({ person: [['other', 'date']] }, { schema: 'other' }));
      await store.record('P', 'T', approval({ person: [['elsewhere', 'date']] }, { source: 'mysql source h:3306/src' }));
      await store.record('P', 'T2', approval({ person: [['later', 'date']] }));
      await store.record('Q', 'T', approval({ person: [['q', 'date']] }));

      const some = await store.approved('P', 'T', SRC, 'public', ['person', 'nope']);
      assert.equal(some.any, true);
      assert.deepEqual(some.tables, new Map([['person', columns([['id', 'int64'], ['name', 'text']])]]));
      const all = await store.approved('P', 'T', SRC, 'public', null);
      assert.deepEqual([...all.tables.keys()].sort(), ['person', 'site', 'visit']);
      assert.deepEqual(all.tables.get('visit'), columns([['id', 'int32']]));
      // Approved for the project, just not in this schema: `any` still says the project was validated.
      assert.deepEqual(await store.approved('P', 'T', SRC, 'nowhere', null), { any: true, tables: new Map() });
      assert.deepEqual((await store.approved('P', 'T', 'mysql source h:3306/src', 'public', ['person'])).tables.get('person'), columns([['elsewhere', 'date']]));
    });

    test(`the newest ${RECORDS_PER_PROJECT} approvals of a project and start time are kept`, async () => {
      const store = make();
      await store.record('Many', 'T', approval({ first: [['a', 'int32']] }));
      for (let i = 0; i < RECORDS_PER_PROJECT; i++) await store.record('Many', 'T', approval({ [`t${i}`]: [['a', 'int32']] }));
      const all = await store.approved('Many', 'T', SRC, 'public', null);
      assert.equal(all.tables.size, RECORDS_PER_PROJECT);
      assert.equal(all.tables.has('first'), false);
      assert.equal(all.tables.has(`t${RECORDS_PER_PROJECT - 1}`), true);
    });

    test('thousands of columns, and names any text', async () => {
      const store = make();
      const wide = Array.from({ length: 3000 }, (_, i): [string, string] => [`col ${i} "ü𝄞'`, i % 2 ? 'int32' : 'decimal(12,2)']);
      await store.record('Wide', 'T', approval({ 'Wide Table "x"': wide, 'table.with.dots': [['a', 'text']] }));
      const found = await store.approved('Wide', 'T', SRC, 'public', ['Wide Table "x"']);
      assert.deepEqual(found.tables.get('Wide Table "x"'), columns(wide));
      assert.deepEqual(await store.approved('Wide\u0000', 'T', SRC, 'public', null), { any: false, tables: new Map() });
    });
  });
}

behaves('in memory', () => new MemoryApprovals(16 * 1024 * 1024));

describe('in memory: bounded', () => {
  test('an approval larger than the whole budget is not kept, and record says so; the least recently validated project goes first', async () => {
    const store = new MemoryApprovals(20_000);
    const big = approval({ t: Array.from({ length: 2000 }, (_, i): [string, string] => [`c${i}`, 'int32']) });
    assert.equal(await store.record('Big', 'T', big), false);
    assert.equal((await store.approved('Big', 'T', SRC, 'public', null)).any, false);
    const small = (i: number) => approval({ t: Array.from({ length: 100 }, (_, c): [string, string] => [`c${c}`, 'int32']) }, { at: String(i) });
    for (let i = 0; i < 30; i++) assert.equal(await store.record(`P${i}`, 'T', small(i)), true);
    assert.equal((await store.approved('P0', 'T', SRC, 'public', null)).any, false, 'the oldest project was dropped');
    assert.equal((await store.approved('P29', 'T', SRC, 'public', null)).any, true);
  });
});

describe('in the platform database', () => {
  let db: TestPgDatabase;
  let platform: PlatformStore;
  before(async () => {
    db = await createPgDatabase('store_approvals');
    const settings = readPlatformStoreSettings({ PLATFORM_DATABASE_URL: `postgresql://${pgSettings.user}@${pgSettings.host}:${pgSettings.port}/${db.database}` });
    platform = (await openPlatformStore({ secrets: new FileSecretProvider('/nonexistent'), log: createLogger('publish', 'silent'), settings }))!;
  });
  after(async () => {
    await platform?.close();
    await db?.drop();
  });

  behaves('stored', () => new StoredApprovals(platform));

  test('rows: one per approval and one per table, the older approvals deleted with their tables', async () => {
    const { rows } = await db.client.query(
      `SELECT (SELECT count(*)::int FROM cr8tor_platform.approvals WHERE project_name = 'Many') AS approvals,
              (SELECT count(*)::int FROM cr8tor_platform.approved_tables t JOIN cr8tor_platform.approvals a ON a.id = t.approval_id WHERE a.project_name = 'Many') AS tables,
              (SELECT count(*)::int FROM cr8tor_platform.approved_tables WHERE approval_id NOT IN (SELECT id FROM cr8tor_platform.approvals)) AS orphans`,
    );
    assert.deepEqual(rows[0], { approvals: RECORDS_PER_PROJECT, tables: RECORDS_PER_PROJECT, orphans: 0 });
  });

  test('writers on two connections at once keep the bound', async () => {
    const [a, b] = [new StoredApprovals(platform), new StoredApprovals(platform)];
    await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).record('Busy', 'T', approval({ [`t${i}`]: [['a', 'int32']] }))));
    const { rows } = await db.client.query("SELECT count(*)::int AS n FROM cr8tor_platform.approvals WHERE project_name = 'Busy'");
    assert.equal(rows[0].n, RECORDS_PER_PROJECT);
  });

  test('a validation record kept before approvals existed reads back with none', async () => {
    await db.client.query(
      `INSERT INTO cr8tor_platform.project_records (kind, project_name, project_start_time, record) VALUES ('validation', 'Old', 'T', $1)`,
      [JSON.stringify({ validated_at: '2025-01-01T00:00:00Z', source: 's', destination: 'd', outcome: 'success' })],
    );
    const [record] = await new StoredProjectRecords(platform, 'validation', validationRecordSchema).list('Old', 'T');
    assert.deepEqual(record, { validated_at: '2025-01-01T00:00:00Z', source: 's', destination: 'd', outcome: 'success', approval: null });
  });
});
