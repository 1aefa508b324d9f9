/**
 * The records each service keeps of projects (metadata reports, validations)
 * are bounded by bytes, not counts: summaries instead of whole reports, at most
 * PROJECT_RECORDS_MAX_BYTES for all projects together (the least recently
 * written go first), 20 per project. What that bound means for a service's
 * heap under a very wide schema is tested in project-records-heap.slow.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { ConfigError } from '../../lib/config/env.js';
import { ProjectLog, readProjectLogLimits, RECORDS_PER_PROJECT } from '../../lib/project-log.js';
import type { DatasetMetadata } from '../../lib/contract/index.js';
import { columnsDigest, summariseMetadata, SUMMARY_MAX_COLUMNS, SUMMARY_MAX_TABLES, SUMMARY_MAX_TEXT } from '../../subgraphs/metadata/src/report-summary.js';

const MiB = 1024 * 1024;

describe('the project log', () => {
  test('PROJECT_RECORDS_MAX_BYTES: 16 MiB by default; a bad value names the variable', () => {
    assert.deepEqual(readProjectLogLimits({}), { maxBytes: 16 * MiB, perProject: RECORDS_PER_PROJECT });
    assert.equal(readProjectLogLimits({ PROJECT_RECORDS_MAX_BYTES: '0' }).maxBytes, 0);
    for (const value of ['-1', 'lots', '1.5']) {
      assert.throws(() => readProjectLogLimits({ PROJECT_RECORDS_MAX_BYTES: value }), (e: unknown) => e instanceof ConfigError && e.message.includes('PROJECT_RECORDS_MAX_BYTES'), value);
    }
  });

  test('holds at most maxBytes, dropping the least recently written projects first', () => {
    const log = new ProjectLog<{ n: number; text: string }>({ maxBytes: 10_000, perProject: 20 });
    for (let i = 0; i < 100; i++) log.add(`P${i}`, '20250101_000000', { n: i, text: 'x'.repeat(900) });
    assert.ok(log.bytes <= 10_000, `${log.bytes} bytes`);
    assert.deepEqual(log.list('P0', '20250101_000000'), []);
    assert.equal(log.list('P99', '20250101_000000')[0]?.n, 99);
    // Writing to an old project makes it the newest: it stays while others go.
    const kept = Array.from({ length: 100 }, (_, i) => i).filter((i) => log.list(`P${i}`, '20250101_000000').length > 0);
    const oldest = kept[0]!;
    log.add(`P${oldest}`, '20250101_000000', { n: -1, text: 'y' });
    log.add('Pnew', '20250101_000000', { n: 100, text: 'x'.repeat(900) });
    assert.equal(log.list(`P${oldest}`, '20250101_000000')[0]?.n, -1);
    assert.deepEqual(log.list(`P${kept[1]!}`, '20250101_000000'), []);
  });

  test('keeps the newest records per project, and a project alone over the budget keeps the newest that fit', () => {
    const log = new ProjectLog<number>({ maxBytes: 1_000_000, perProject: 3 });
    for (let i = 0; i < 10; i++) log.add('P', 'T', i);
    assert.deepEqual(log.list('P', 'T'), [9, 8, 7]);
    const small = new ProjectLog<string>({ maxBytes: 500, perProject: 20 });
    for (let i = 0; i < 10; i++) small.add('P', 'T', `${i}${'x'.repeat(100)}`);
    const kept = small.list('P', 'T');
    assert.ok(kept.length >= 2 && kept.length < 10, `${kept.length} kept`);
    assert.equal(kept[0]!.slice(0, 1), '9');
    assert.ok(small.bytes <= 500);
  });

  test('reading any project adds nothing; a budget of 0 keeps nothing', () => {
    const log = new ProjectLog<number>({ maxBytes: 1_000_000, perProject: 20 });
    for (let i = 0; i < 1000; i++) assert.deepEqual(log.list(`${'p'.repeat(10_000)}${i}`, 'T'), []);
    assert.equal(log.bytes, 0);
    const none = new ProjectLog<number>({ maxBytes: 0, perProject: 20 });
    none.add('P', 'T', 1);
    assert.deepEqual(none.list('P', 'T'), []);
  });
});

describe('the summary of a metadata report', () => {
  const column = (t: number, c: number) => ({ name: `t${t}_c${c}`, description: c === 0 ? 'd'.repeat(10_000) : null, datatype: 'integer', nullable: c % 2 === 0 });
  const wide: DatasetMetadata = {
    name: 'n'.repeat(10_000),
    description: null,
    catalog: 'db',
    schema_name: 'public',
    tables: Array.from({ length: 150 }, (_, t) => ({ name: `t${t}`, description: null, columns: Array.from({ length: 20 }, (_, c) => column(t, c)) })),
  };

  test('lists the first tables and columns, counts the rest, digests every column, cuts long text', () => {
    const s = summariseMetadata(wide);
    assert.equal(s.table_count, 150);
    assert.equal(s.tables.length, SUMMARY_MAX_TABLES);
    assert.equal(s.tables_omitted, 150 - SUMMARY_MAX_TABLES);
    assert.equal(s.tables.reduce((n, t) => n + t.columns.length, 0), SUMMARY_MAX_COLUMNS);
    for (const [i, t] of s.tables.entries()) {
      assert.equal(t.column_count, 20);
      assert.equal(t.columns_omitted, 20 - t.columns.length);
      const expected = createHash('sha256').update(JSON.stringify(wide.tables[i]!.columns.map((c) => [c.name, c.datatype, c.nullable]))).digest('hex');
      assert.equal(t.columns_digest, expected);
    }
    assert.equal(s.tables[0]!.columns[0]!.description!.length, SUMMARY_MAX_TEXT);
    assert.ok(s.tables[0]!.columns[0]!.description!.endsWith('…'));
    assert.equal(s.name!.length, SUMMARY_MAX_TEXT);
    assert.ok(JSON.stringify(s).length < 100_000, `${JSON.stringify(s).length} bytes`);
  });

  test('a small report is kept whole', () => {
    const small: DatasetMetadata = { ...wide, name: 'ds', tables: wide.tables.slice(0, 2).map((t) => ({ ...t, columns: t.columns.slice(1, 3) })) };
    const s = summariseMetadata(small);
    assert.deepEqual(
      s.tables.map((t) => ({ name: t.name, columns: t.columns, omitted: t.columns_omitted })),
      small.tables.map((t) => ({ name: t.name, columns: t.columns, omitted: 0 })),
    );
    assert.notEqual(columnsDigest(small.tables[0]!.columns), columnsDigest(small.tables[1]!.columns));
  });
});
