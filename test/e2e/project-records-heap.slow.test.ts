/**
 * The records of project-records.test.ts under load (slow by nature, so in
 * `npm run test:all` only): a caller describing a 60,000-column schema 30
 * times through the metadata service (real PostgreSQL tables) adds a few MiB
 * to the heap, not hundreds; the `Project` entity still answers what was
 * reported, summarised.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { columnsDigest, SUMMARY_MAX_COLUMNS } from '../../subgraphs/metadata/src/report-summary.js';
import { createPgDatabase, type TestPgDatabase } from '../support/databases.js';
import { startPlatformProcess, type PlatformProcess } from '../support/platform-process.js';
import { dataset, sqlSource, transferRequest, writeSourceSecrets } from '../support/requests.js';

const MiB = 1024 * 1024;

describe('a 60,000-column schema described 30 times through the metadata service', () => {
  const TABLES = 40;
  const COLUMNS = 1500;
  const CALLS = 30;
  let db: TestPgDatabase;
  let platform: PlatformProcess;
  const columnName = (t: number, c: number) => `column_${t}_${c}_${'x'.repeat(40)}`;

  before(async () => {
    db = await createPgDatabase('records');
    for (let t = 0; t < TABLES; t++) {
      const columns = Array.from({ length: COLUMNS }, (_, c) => `"${columnName(t, c)}" integer`).join(', ');
      await db.client.query(`CREATE TABLE "wide_${String(t).padStart(2, '0')}" (${columns})`);
    }
    platform = await startPlatformProcess();
    await writeSourceSecrets(platform, 'postgresql');
  });

  after(async () => {
    await platform?.close();
    await db?.drop();
  });

  test('the heap grows by a few MiB, not hundreds; the Project entity answers the summary', async () => {
    const source = sqlSource('postgresql', db.database);
    const describeWide = async (project: { project_name: string; project_start_time: string }) => {
      const res = await platform.post(platform.metadata, '/metadata/project', transferRequest(source, dataset('public'), project));
      assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
      assert.equal(res.body.payload.tables.length, TABLES);
      assert.equal(res.body.payload.tables[0].columns.length, COLUMNS);
      return res.body.payload;
    };
    const first = await describeWide({ project_name: 'Warmup', project_start_time: '20250101_000000' });
    const heapBefore = await platform.heapUsed();
    // Three at a time: PostgreSQL takes seconds to list 60,000 columns, and has two cores here.
    for (let i = 0; i < CALLS; i += 3) {
      await Promise.all([i, i + 1, i + 2].map((n) => describeWide({ project_name: 'Wide', project_start_time: `20250101_0000${String(n).padStart(2, '0')}` })));
    }
    const grown = (await platform.heapUsed()) - heapBefore;
    assert.ok(grown < 16 * MiB, `the heap grew by ${(grown / MiB).toFixed(1)} MiB`);

    const query = `query ($t: String!) { project(projectName: "Wide", projectStartTime: $t) {
      metadataReports { source metadata { catalog schemaName tableCount tablesOmitted tables { name columnCount columnsDigest columnsOmitted columns { name datatype nullable } } } }
    } }`;
    const res = await platform.graphql(platform.gateway, query, { t: '20250101_000029' });
    assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
    const [report] = res.body.data.project.metadataReports;
    const summary = report.metadata;
    assert.equal(summary.catalog, db.database);
    assert.equal(summary.tableCount, TABLES);
    assert.equal(summary.tablesOmitted, 0);
    assert.equal(summary.tables.reduce((n: number, t: { columns: unknown[] }) => n + t.columns.length, 0), SUMMARY_MAX_COLUMNS);
    for (const [i, table] of summary.tables.entries()) {
      const reported = first.tables[i];
      assert.equal(table.name, reported.name);
      assert.equal(table.columnCount, COLUMNS);
      assert.equal(table.columnsOmitted, COLUMNS - table.columns.length);
      assert.equal(table.columnsDigest, columnsDigest(reported.columns.map((c: { name: string; datatype: string }) => ({ ...c, description: null, nullable: true }))));
    }
    assert.deepEqual(summary.tables[0].columns[0], { name: columnName(0, 0), datatype: 'integer', nullable: true });
  });
});
