/**
 * The SQL Server database the connector tests read: the all-types table and
 * tables shaped to catch catalog SQL that is almost right — a composite
 * primary key, UNIQUE constraints, a primary-key name used in two schemas,
 * extended properties besides MS_Description, a table name that sorts
 * differently with and without a binary collation, odd identifiers, a type
 * without a mapping, a big table made on the fly (in three partitions).
 */
import { mssqlAllTypesTable } from './all-types.js';
import type { SqlServerDatabase } from './sqlserver-model.js';

/** Rows of the `big` table. */
export const BIG_ROWS = 20_000;

export function researchDatabase(name: string, snapshotIsolation: boolean): SqlServerDatabase {
  const allTypes = mssqlAllTypesTable();
  return {
    name,
    snapshotIsolation,
    schemas: {
      dbo: [
        { ...allTypes, properties: { Sensitivity: 'public' }, columns: allTypes.columns.map((c) => (c.name === 'id' ? { ...c, properties: { Owner: 'cohort team' } } : c)) },
        {
          name: 'person',
          description: 'People in the cohort',
          columns: [{ name: 'id', type: 'bigint', nullable: false }, { name: 'note', type: 'nvarchar(max)' }],
          primaryKey: ['id'],
          rows: [[1n, 'a'], [2n, null]],
        },
        {
          name: 'visit',
          description: 'Visits, keyed by person and number',
          columns: [
            { name: 'code', type: 'nvarchar(20)', nullable: false, description: 'Booking code' },
            { name: 'visit_no', type: 'int', nullable: false },
            { name: 'person_id', type: 'bigint', nullable: false, description: 'Who came' },
            { name: 'site', type: 'nvarchar(40)' },
          ],
          primaryKey: ['person_id', 'visit_no'],
          unique: [['code'], ['site', 'visit_no']],
          rows: [['B-1', 1, 1n, 'Preston']],
        },
        { name: 'Zeta', columns: [{ name: 'z', type: 'int' }], rows: [] },
        { name: 'we]ird table', columns: [{ name: 'a ]b]', type: 'int' }, { name: 'select', type: 'nvarchar(10)' }, { name: 'x,y', type: 'nvarchar(10)' }], rows: [[1, 'k', 'v']] },
        { name: 'lone', columns: [{ name: 'v', type: 'nvarchar(10)' }], rows: [['\\.'], [''], [null]] },
        { name: 'odd_types', columns: [{ name: 'id', type: 'int' }, { name: 'v', type: 'sql_variant' }], rows: [[1, 'x']] },
        {
          name: 'big',
          columns: [{ name: 'id', type: 'int', nullable: false }, { name: 'pad', type: 'nvarchar(1000)' }],
          primaryKey: ['id'],
          partitions: 3,
          rows: function* () {
            for (let i = 1; i <= BIG_ROWS; i++) yield [i, 'x'.repeat(1000)];
          },
        },
        ...Array.from({ length: 12 }, (_, i) => ({ name: `t${String(i + 1).padStart(2, '0')}`, columns: [{ name: 'id', type: 'int' }], rows: [] })),
      ],
      audit: [
        { name: 'events', columns: [{ name: 'id', type: 'int' }], rows: [] },
        { name: 'person', description: 'Audit copy', columns: [{ name: 'id', type: 'bigint', nullable: false }, { name: 'seen', type: 'int' }], primaryKey: ['id'], rows: [] },
      ],
    },
  };
}
