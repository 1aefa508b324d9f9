/**
 * The comparison a package makes between the source's catalog and what the
 * project's validation approved (subgraphs/publish/src/approvals): which
 * columns are added, removed or retyped, in what order, how the message names
 * them and clips them, and the approval's fingerprint.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CatalogView, ColumnInfo } from '../../lib/connectors/index.js';
import { logicalTypeText, type LogicalType } from '../../lib/types/logical.js';
import { approvalFingerprint, approvalOf, type ApprovedColumn } from '../../subgraphs/publish/src/approvals/approval.js';
import { catalogDrift, describeChange, describeDrift, type ColumnChange } from '../../subgraphs/publish/src/approvals/drift.js';

const col = (name: string, logical: LogicalType, position = 1): ColumnInfo => ({ name, description: null, datatype: logical.kind, nullable: true, position, logical, primaryKey: null });
const int32: LogicalType = { kind: 'int32' };
const int64: LogicalType = { kind: 'int64' };
const text: LogicalType = { kind: 'text' };
const date: LogicalType = { kind: 'date' };

/** A catalog view of `tables` (name → columns, null: the table does not exist), each requested with `requested` (null: every column). */
function view(tables: Record<string, ColumnInfo[] | null>, requested: Record<string, string[]> = {}, allTables = false): CatalogView {
  return { catalog: 'db', schema: 'public', allTables, tables: Object.entries(tables).map(([name, columns]) => ({ name, columns, requested: requested[name] ?? null })) };
}

const approved = (tables: Record<string, Array<[string, LogicalType]>>) =>
  new Map(Object.entries(tables).map(([name, cols]) => [name, cols.map(([c, t]): ApprovedColumn => ({ name: c, type: logicalTypeText(t) }))]));

describe('catalogDrift', () => {
  const person = { person: [['id', int32], ['born', date], ['name', text]] as Array<[string, LogicalType]> };

  test('an unchanged catalog has no drift, whatever the order of its columns', () => {
    assert.deepEqual(catalogDrift(view({ person: [col('name', text), col('id', int32), col('born', date)] }), approved(person)), []);
  });

  test('added, removed and retyped columns are each named, sorted by table then column', () => {
    const now = view({
      visit: [col('id', int64), col('site', text)],
      person: [col('id', int64), col('name', text), col('email', { kind: 'text', length: 100 })],
    });
    const changes = catalogDrift(now, approved({ ...person, visit: [['id', int64], ['site', text]] }));
    assert.deepEqual(changes, [
      { change: 'removed', table: 'person', column: 'born', type: 'date' },
      { change: 'added', table: 'person', column: 'email', type: 'text(100)' },
      { change: 'retyped', table: 'person', column: 'id', from: 'int32', to: 'int64' },
    ] satisfies ColumnChange[]);
  });

  test('a type differing only in precision, length, zone or element is retyped', () => {
    const before: Array<[string, LogicalType]> = [['amount', { kind: 'decimal', precision: 10, scale: 2 }], ['code', { kind: 'text', length: 5 }], ['at', { kind: 'time', withZone: false }], ['tags', { kind: 'array', element: int32 }]];
    const now = view({ t: [col('amount', { kind: 'decimal', precision: 12, scale: 2 }), col('code', { kind: 'text', length: 10 }), col('at', { kind: 'time', withZone: true }), col('tags', { kind: 'array', element: int64 })] });
    assert.deepEqual(catalogDrift(now, approved({ t: before })).map(describeChange), [
      't.amount: decimal(10,2) → decimal(12,2)',
      't.at: time → time with zone',
      't.code: text(5) → text(10)',
      't.tags: array<int32> → array<int64>',
    ]);
  });

  test('only the columns a package asks for are compared when it names them', () => {
    // 'born' retyped and 'extra' added, but the package reads id and name only; 'name' is gone.
    const now = view({ person: [col('id', int32), col('born', text), col('extra', text)] }, { person: ['id', 'name'] });
    assert.deepEqual(catalogDrift(now, approved(person)), [{ change: 'removed', table: 'person', column: 'name', type: 'text' }]);
    // A named column neither approved nor in the catalog is not drift (the package answers COLUMN_NOT_FOUND).
    assert.deepEqual(catalogDrift(view({ person: [col('id', int32)] }, { person: ['id', 'nope'] }), approved(person)), []);
  });

  test('a table nothing approved has every column it reads added; an approved table gone has every column removed', () => {
    const now = view({ person: null, visit: [col('id', int32), col('site', text)] });
    assert.deepEqual(catalogDrift(now, approved(person)).map(describeChange), [
      'person.born: removed (date)',
      'person.id: removed (int32)',
      'person.name: removed (text)',
      'visit.id: added (int32)',
      'visit.site: added (text)',
    ]);
    // A table named, never approved and missing is not drift (the package answers TABLE_NOT_FOUND).
    assert.deepEqual(catalogDrift(view({ nope: null }), approved(person)), []);
  });

  test('with every table of the schema asked for, an approved table the schema no longer has is removed', () => {
    const now = view({ visit: [col('id', int32)] }, {}, true);
    assert.deepEqual(catalogDrift(now, approved({ ...person, visit: [['id', int32]] })).map((c) => `${c.change} ${c.table}.${c.column}`), [
      'removed person.born',
      'removed person.id',
      'removed person.name',
    ]);
  });

  test('names sort by code unit, not by locale', () => {
    const now = view({ T: [col('b', int32), col('B', int32), col('a', int32)] });
    assert.deepEqual(catalogDrift(now, new Map()).map((c) => c.column), ['B', 'a', 'b']);
  });
});

describe('describeDrift', () => {
  const added = (n: number): ColumnChange[] => Array.from({ length: n }, (_, i) => ({ change: 'added', table: 't', column: `c${String(i).padStart(3, '0')}`, type: 'int32' }));

  test('counts each kind and names each change', () => {
    const changes: ColumnChange[] = [
      { change: 'removed', table: 'person', column: 'age', type: 'int32' },
      { change: 'added', table: 'person', column: 'email', type: 'text(100)' },
      { change: 'retyped', table: 'person', column: 'id', from: 'int32', to: 'int64' },
    ];
    assert.equal(describeDrift(changes), '3 columns differ (1 added, 1 removed, 1 retyped): person.age: removed (int32); person.email: added (text(100)); person.id: int32 → int64');
    assert.equal(describeDrift(changes.slice(2)), '1 column differs (1 retyped): person.id: int32 → int64');
  });

  test('names at most 40 changes, then says how many more', () => {
    const text = describeDrift(added(1000));
    assert.match(text, /^1000 columns differ \(1000 added\): t\.c000: added \(int32\); /);
    assert.ok(text.includes('t.c039: added'), text);
    assert.ok(!text.includes('t.c040'), text);
    assert.ok(text.endsWith('; and 960 more'), text);
    assert.ok(text.length < 2000, `${text.length} characters`);
    assert.equal(describeDrift(added(40)).includes('more'), false);
  });

  test('long types and names are clipped', () => {
    const labels = Array.from({ length: 500 }, (_, i) => `label${i}`);
    const line = describeChange({ change: 'retyped', table: 'x'.repeat(300), column: 'c', from: logicalTypeText({ kind: 'enum', values: labels }), to: 'text' });
    assert.ok(line.length < 350, `${line.length} characters`);
    assert.match(line, /^x{127}…\.c: enum\["label0",.*… → text$/);
  });
});

describe('the approval and its fingerprint', () => {
  const resolved = (cols: ColumnInfo[]) => ({ catalog: 'db', schema: 'public', tables: [{ name: 'person', description: null, columns: cols, primaryKey: [] }] });

  test('records each column with its logical type, the same fingerprint whatever the order', () => {
    const a = approvalOf(resolved([col('id', int32), col('name', text)]), 'postgresql source h:5432/db', '2025-01-01T00:00:00.000Z');
    assert.deepEqual(a.tables, [{ name: 'person', columns: [{ name: 'id', type: 'int32' }, { name: 'name', type: 'text' }] }]);
    assert.match(a.fingerprint, /^[0-9a-f]{64}$/);
    assert.equal(approvalOf(resolved([col('name', text), col('id', int32)]), 'elsewhere', 'later').fingerprint, a.fingerprint);
  });

  test('a different type, name, schema or catalog is a different fingerprint', () => {
    const base = approvalFingerprint('db', 'public', [{ name: 'person', columns: [{ name: 'id', type: 'int32' }] }]);
    assert.notEqual(approvalFingerprint('db', 'public', [{ name: 'person', columns: [{ name: 'id', type: 'int64' }] }]), base);
    assert.notEqual(approvalFingerprint('db', 'public', [{ name: 'person', columns: [{ name: 'ID', type: 'int32' }] }]), base);
    assert.notEqual(approvalFingerprint('db', 'other', [{ name: 'person', columns: [{ name: 'id', type: 'int32' }] }]), base);
    assert.notEqual(approvalFingerprint('db2', 'public', [{ name: 'person', columns: [{ name: 'id', type: 'int32' }] }]), base);
    // Names cannot run into one another: ["ab",[]] and ["a",["b"]] are told apart by the JSON.
    assert.notEqual(approvalFingerprint('db', 'public', [{ name: 'ab', columns: [] }]), approvalFingerprint('db', 'public', [{ name: 'a', columns: [{ name: 'b', type: '' }] }]));
  });
});
