/**
 * Packaging into staging: files land in `{mount}/staging/{project}/{start_time}/data/outputs/`
 * only when every table is complete; a failure leaves nothing publish could take
 * for a package; every path stays inside the mount.
 */
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { packageToStaging, type PackageOptions } from '../../../../subgraphs/publish/src/destinations/filestore/staging.js';
import { insideMount } from '../../../../subgraphs/publish/src/destinations/filestore/mount/safe-paths.js';
import { AppError } from '../../../../lib/errors.js';
import { failingStream } from '../../../support/csv-text.js';
import { columns, listTree, sha512Of, tableOf, tempFolder, tempMount, treeState } from '../../../support/filestore-fs.js';

let mount: string;
let cleanupMount: () => Promise<void>;
let work: string;
let cleanupWork: () => Promise<void>;

before(async () => {
  ({ root: mount, cleanup: cleanupMount } = await tempMount());
  ({ dir: work, cleanup: cleanupWork } = await tempFolder('cr8tor-work-'));
});
after(async () => {
  await cleanupMount();
  await cleanupWork();
});
beforeEach(async () => {
  await rm(path.join(mount, 'staging'), { recursive: true, force: true });
  await mkdir(path.join(mount, 'staging'));
});

const person = columns({ person_id: { kind: 'int64' }, name: { kind: 'text' } }, ['person_id']);
const visit = columns({ visit_id: { kind: 'int64' }, at: { kind: 'timestamptz' } }, ['visit_id']);
const personRows = [['1', 'Ada'], ['2', ''], ['3', null]];
const visitRows = [['10', '2024-01-01T00:00:00.5+00:00']];

function options(format: 'csv' | 'duckdb', tables: PackageOptions['tables'], over: Partial<PackageOptions> = {}): PackageOptions {
  return {
    mountRoot: mount,
    project: 'Pr004',
    startTime: '20250205_010101',
    format,
    schemaName: 'public',
    tables,
    settings: { csv: { maxFileBytes: Infinity, gzipLevel: null }, workingDir: work },
    ...over,
  };
}

describe('packaging into staging', () => {
  test('CSV: one file per table under data/outputs, paths relative to {project}/{start_time}/', async () => {
    const result = await packageToStaging(options('csv', [tableOf('person', person, personRows), tableOf('visit', visit, visitRows)]));
    const base = path.join(mount, 'staging', 'Pr004', '20250205_010101');
    assert.deepEqual(result.files.map((f) => f.file_path), ['data/outputs/person.csv', 'data/outputs/visit.csv']);
    for (const f of result.files) assert.equal(f.sha512, await sha512Of(path.join(base, f.file_path)));
    assert.equal(await readFile(path.join(base, 'data/outputs/person.csv'), 'utf8'), 'person_id,name\n1,Ada\n2,""\n3,\n');
    assert.deepEqual(await listTree(path.join(mount, 'staging')), [
      'Pr004/',
      'Pr004/20250205_010101/',
      'Pr004/20250205_010101/data/',
      'Pr004/20250205_010101/data/outputs/',
      'Pr004/20250205_010101/data/outputs/person.csv',
      'Pr004/20250205_010101/data/outputs/visit.csv',
    ]);
  });

  test('DuckDB: database.duckdb only, nothing left in the working folder', async () => {
    const result = await packageToStaging(options('duckdb', [tableOf('person', person, personRows), tableOf('visit', visit, visitRows)]));
    assert.deepEqual(result.files.map((f) => [f.file_path, f.table]), [['data/outputs/database.duckdb', null]]);
    assert.deepEqual(await listTree(path.join(mount, 'staging', 'Pr004', '20250205_010101')), ['data/', 'data/outputs/', 'data/outputs/database.duckdb']);
    assert.deepEqual(await listTree(work), []);
  });

  test('package clears what staging held for the project before', async () => {
    const old = path.join(mount, 'staging', 'Pr004', '20250205_010101', 'data', 'outputs');
    await mkdir(old, { recursive: true });
    await writeFile(path.join(old, 'stale.csv'), 'old\n');
    await packageToStaging(options('csv', [tableOf('person', person, personRows)]));
    assert.deepEqual(await listTree(old), ['person.csv']);
  });

  for (const format of ['csv', 'duckdb'] as const) {
    test(`${format}: a stream that fails midway leaves no staging folder and no temporary folder`, async () => {
      const old = path.join(mount, 'staging', 'Pr004', '20250205_010101', 'data', 'outputs');
      await mkdir(old, { recursive: true });
      await writeFile(path.join(old, 'stale.csv'), 'old\n');
      const broken = new AppError('SOURCE_QUERY_FAILED', 'The PostgreSQL source failed: connection reset.');
      const tables = [
        tableOf('person', person, personRows),
        { name: 'visit', columns: visit, csv: () => failingStream('visit_id,at\n10,2024-01-01T00:00:00+00:00\n11,"2024', broken) },
      ];
      await assert.rejects(packageToStaging(options(format, tables)), (e: unknown) => e === broken);
      assert.deepEqual(await listTree(path.join(mount, 'staging')), ['Pr004/'], 'no package folder, no hidden partial folder');
      assert.deepEqual(await listTree(work), [], 'no temporary files');
    });
  }

  test('leftovers of an interrupted run are removed by the next package', async () => {
    const leftover = path.join(mount, 'staging', 'Pr004', '.20250205_010101.partial-abc123');
    await mkdir(path.join(leftover, 'data'), { recursive: true });
    await packageToStaging(options('csv', [tableOf('person', person, personRows)]));
    assert.deepEqual(
      (await listTree(path.join(mount, 'staging', 'Pr004'))).filter((p) => p.startsWith('.')),
      [],
    );
  });

  test('names are checked again, and the mount must be ready', async () => {
    await assert.rejects(packageToStaging(options('csv', [], { project: '../etc' })), (e: unknown) => e instanceof AppError && e.code === 'INVALID_REQUEST');
    await assert.rejects(packageToStaging(options('csv', [], { startTime: '2025/01/01' })), (e: unknown) => e instanceof AppError && e.code === 'INVALID_REQUEST');
    const { dir: bare, cleanup } = await tempFolder();
    try {
      await assert.rejects(packageToStaging(options('csv', [], { mountRoot: bare })), (e: unknown) => e instanceof AppError && e.code === 'DESTINATION_NOT_READY');
    } finally {
      await cleanup();
    }
  });

  test('a symbolic link planted in staging is refused: nothing is written where it points', async () => {
    const { dir: outside, cleanup } = await tempFolder('cr8tor-outside-');
    try {
      await symlink(outside, path.join(mount, 'staging', 'Pr004'));
      await assert.rejects(packageToStaging(options('csv', [tableOf('person', person, personRows)])), (e: unknown) => {
        assert.ok(e instanceof AppError);
        assert.equal(e.code, 'FILESTORE_PATH_REFUSED');
        assert.match(e.detail, /^staging\/Pr004 is a symbolic link; the filestore refuses links/);
        return true;
      });
      assert.deepEqual(await listTree(outside), []);
    } finally {
      await cleanup();
    }
  });

  for (const area of ['staging', 'production']) {
    test(`a project folder in ${area}/ spelt differently only in case is the same project: refused (409 naming it), nothing changed`, async () => {
      await mkdir(path.join(mount, 'production'), { recursive: true });
      await mkdir(path.join(mount, area, 'PR004', '20250205_010101'), { recursive: true });
      try {
        const before = await treeState(mount);
        await assert.rejects(packageToStaging(options('csv', [tableOf('person', person, personRows)])), (e: unknown) => {
          assert.ok(e instanceof AppError);
          assert.equal(e.code, 'PROJECT_SPELLING_CLASH');
          assert.equal(e.status, 409);
          assert.match(e.detail, new RegExp(`^${area}/PR004 exists, a spelling of project 'Pr004' that differs only in case; .* this package was refused and nothing was changed\\.$`));
          return true;
        });
        assert.deepEqual(await treeState(mount), before);
      } finally {
        await rm(path.join(mount, area, 'PR004'), { recursive: true, force: true });
      }
    });
  }

  test('insideMount refuses any path that leaves the mount', () => {
    assert.equal(insideMount('/m', 'staging', 'p', 't'), path.resolve('/m/staging/p/t'));
    for (const parts of [['..'], ['staging', '..', '..', 'x'], ['/etc'], ['a\0b'], ['']]) {
      assert.throws(() => insideMount('/m', ...parts), AppError, JSON.stringify(parts));
    }
  });
});
