/**
 * The logical-type case table (test/support/type-cases.ts) and the tables it
 * drives: every source's all-types table covers every logical type or the
 * table says why the source cannot hold it; every expected value is used by
 * some source, writer or four-sources table; the writers' table covers every
 * logical type.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mysqlAllTypes, pgAllTypes } from '../support/all-types.js';
import { DBX_ALL_TYPES_COLUMNS } from '../support/databricks/index.js';
import { WRITER_COLUMNS } from '../support/filestore-cases.js';
import { COLUMNS as SHARED_COLUMNS } from '../support/shared-table.js';
import { MSSQL_ALL_TYPES_COLUMNS } from '../support/tds/all-types.js';
import { CASES, FAMILIES, NOT_REPRESENTABLE, familyOf, type CaseSource, type TypeCase } from '../support/type-cases.js';

interface Used {
  typeCase?: TypeCase | undefined;
  values?: Array<string | null> | undefined;
}

/** Every table driven by the case table, with the columns it holds (the row key has no case). */
const SOURCES: Record<CaseSource, Used[]> = {
  postgresql: pgAllTypes().columns,
  mariadb: mysqlAllTypes('mariadb').columns,
  mysql: mysqlAllTypes('mysql').columns,
  mssql: MSSQL_ALL_TYPES_COLUMNS,
  databricks: DBX_ALL_TYPES_COLUMNS,
};
const WRITERS: Used[] = WRITER_COLUMNS.map((c) => ({ typeCase: c.typeCase, values: c.keys }));

function families(columns: Used[]): Set<string> {
  return new Set(columns.flatMap((c) => (c.typeCase ? [familyOf(c.typeCase.logical)] : [])));
}

describe('the logical-type case table', () => {
  for (const [source, columns] of Object.entries(SOURCES) as Array<[CaseSource, Used[]]>) {
    test(`${source}: every logical type is in its all-types table, or listed as not representable with the reason`, () => {
      const covered = families(columns);
      const excused = NOT_REPRESENTABLE[source];
      const missing = FAMILIES.filter((f) => !covered.has(f) && !excused[f]);
      assert.deepEqual(missing, [], `${source} neither covers nor excuses these`);
      const excusedButCovered = FAMILIES.filter((f) => covered.has(f) && excused[f]);
      assert.deepEqual(excusedButCovered, [], `${source} covers these, yet lists them as not representable`);
      for (const reason of Object.values(excused)) assert.ok(reason && reason.length > 10, `a reason is given: ${reason}`);
    });

    test(`${source}: every column but the row key takes its expected text from a case`, () => {
      const without = columns.filter((c) => !c.typeCase).length;
      assert.equal(without, 1);
    });
  }

  test('the writers\' table covers every logical type', () => {
    const covered = families(WRITERS);
    assert.deepEqual(FAMILIES.filter((f) => !covered.has(f)), []);
  });

  test('every value of every case is used by a source\'s, the writers\' or the four-sources table (none left unchecked)', () => {
    const used = new Map<TypeCase, Set<string>>();
    for (const c of [...Object.values(SOURCES).flat(), ...WRITERS, ...SHARED_COLUMNS]) {
      if (!c.typeCase) continue;
      const set = used.get(c.typeCase) ?? new Set<string>();
      for (const v of c.values ?? []) if (v !== null) set.add(v);
      used.set(c.typeCase, set);
    }
    const unused: string[] = [];
    for (const [name, c] of Object.entries(CASES) as Array<[string, TypeCase]>) {
      for (const value of Object.keys(c.values)) if (!used.get(c)?.has(value)) unused.push(`${name}.${value}`);
    }
    assert.deepEqual(unused, []);
  });

  test('a value DuckDB is expected to hold is written for every case the writers load', () => {
    for (const c of WRITER_COLUMNS) {
      if (!c.typeCase) continue;
      assert.equal(c.duckdb, c.typeCase.duckdb, c.name);
      assert.equal(c.expected.length, c.values.length, c.name);
    }
  });
});
