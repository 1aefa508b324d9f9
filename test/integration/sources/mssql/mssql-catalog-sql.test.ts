/**
 * The SQL Server connector's catalog SQL against a double as strict as the
 * server: the double parses every statement with a T-SQL grammar and
 * evaluates it against catalog views built from the test's tables, so SQL
 * that is almost right does not pass. Each mutation below breaks the text the
 * connector sends (an alias renamed, a join condition dropped, a constraint
 * type changed, a parenthesis unbalanced, a table or column misnamed, a
 * filter or an ORDER BY dropped …); the double applies it to the statement it
 * receives, the connector runs unchanged, and its catalog read must fail or
 * answer differently from the unbroken read. Errors are SQL Server's own:
 * 102/156 syntax, 208 object, 207 column, 209 ambiguous, 137 variable, 512
 * subquery rows, 8120 a column beside an aggregate.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sourceSchema, type SqlSourceConfig } from '../../../../lib/contract/index.js';
import { AppError } from '../../../../lib/errors.js';
import { MssqlConnector } from '../../../../lib/connectors/mssql/connector.js';
import { MSSQL_LOGIN, mssqlSource, startTdsDouble, type StartedTds } from '../../../support/tds/index.js';
import { researchDatabase } from '../../../support/tds/research-db.js';

let started: StartedTds;

before(async () => {
  started = await startTdsDouble([researchDatabase('research', true), researchDatabase('locked', false)]);
});

after(async () => {
  await started.double.close();
});

function connector(db: string): MssqlConnector {
  const source = sourceSchema.parse(mssqlSource(started.double, db)) as SqlSourceConfig;
  return new MssqlConnector(source, { username: MSSQL_LOGIN.user, password: MSSQL_LOGIN.password }, {}, {}, started.ca);
}

/** Everything the connector reads from the catalog, as plain data. */
async function catalogRead(): Promise<unknown> {
  const out: unknown[] = [];
  for (const db of ['research', 'locked']) {
    const c = connector(db);
    try {
      out.push(await c.schemaTables('dbo'), await c.schemaTables('audit'), await c.schemaTables('nope'), await c.schemaTables('dbo', ['visit', 'person', 'nope']));
      out.push([...(await c.getColumns('dbo', ['all_types', 'person', 'visit', 'Zeta'])).entries()]);
      out.push([...(await c.getColumns('audit', ['person'])).entries()]);
      const snapshot = await c.snapshot();
      out.push([...(await snapshot.estimateRows!('dbo', ['person', 'visit', 'big', 'Zeta', 'nope'])).entries()].sort());
      out.push((snapshot as unknown as { consistency: string }).consistency);
      await snapshot.close();
    } finally {
      await c.close();
    }
  }
  return out;
}

/** A mutation of the connector's SQL: `from` → `to`; `error`: the server's message expected, else a different answer. */
interface Mutation {
  what: string;
  from: string;
  to: string;
  error?: RegExp;
}

const SYNTAX = /Incorrect syntax near/;
const MUTATIONS: Mutation[] = [
  // SCHEMA_EXISTS
  { what: 'schema test on the owner column', from: 'WHERE SCHEMA_NAME = @schema', to: 'WHERE SCHEMA_OWNER = @schema' },
  { what: 'schema view misnamed', from: 'INFORMATION_SCHEMA.SCHEMATA', to: 'INFORMATION_SCHEMA.SCHEMAS', error: /Invalid object name 'INFORMATION_SCHEMA\.SCHEMAS'/ },
  { what: 'variable misspelled', from: 'SCHEMA_NAME = @schema', to: 'SCHEMA_NAME = @schemas', error: /Must declare the scalar variable "@schemas"/ },
  // LIST_TABLES
  { what: 'table-name alias renamed', from: 't.TABLE_NAME AS name,', to: 't.TABLE_NAME AS table_name,' },
  { what: 'description alias renamed', from: ") AS description\n  FROM INFORMATION_SCHEMA.TABLES", to: ") AS comment\n  FROM INFORMATION_SCHEMA.TABLES" },
  { what: 'tables view misnamed', from: 'FROM INFORMATION_SCHEMA.TABLES t', to: 'FROM INFORMATION_SCHEMA.TABLESS t', error: /Invalid object name 'INFORMATION_SCHEMA\.TABLESS'/ },
  { what: 'tables view named by a keyword', from: 'FROM INFORMATION_SCHEMA.TABLES t', to: 'FROM INFORMATION_SCHEMA.TABLE t', error: /Incorrect syntax near the keyword 'TABLE'/ },
  { what: 'extended properties view misnamed', from: 'FROM sys.extended_properties ep', to: 'FROM sys.extended_property ep', error: /Invalid object name 'sys\.extended_property'/ },
  { what: 'parenthesis missing after the comment subquery', from: "N'MS_Description')", to: "N'MS_Description'", error: SYNTAX },
  { what: 'parenthesis too many in OBJECT_ID', from: 'QUOTENAME(t.TABLE_NAME))', to: 'QUOTENAME(t.TABLE_NAME)))', error: SYNTAX },
  { what: 'comment of the table, not its columns: minor_id test dropped', from: 'ep.minor_id = 0 AND ', to: '', error: /Subquery returned more than 1 value/ },
  { what: 'property name test dropped', from: " AND ep.name = N'MS_Description'", to: '', error: /Subquery returned more than 1 value/ },
  { what: 'named tables matched on the schema column', from: "@schema AND t.TABLE_NAME IN (@t0, @t1, @t2)\n  ORDER BY", to: "@schema AND t.TABLE_SCHEMA IN (@t0, @t1, @t2)\n  ORDER BY" },
  { what: 'named tables: the filter joined by OR', from: "@schema AND t.TABLE_NAME IN (@t0, @t1, @t2)\n  ORDER BY", to: "@schema OR t.TABLE_NAME IN (@t0, @t1, @t2)\n  ORDER BY" },
  { what: 'named tables: a parameter misnamed', from: "t.TABLE_NAME IN (@t0, @t1, @t2)\n  ORDER BY", to: "t.TABLE_NAME IN (@t0, @t1, @t3)\n  ORDER BY", error: /Must declare the scalar variable "@t3"/ },
  { what: 'property name changed', from: "N'MS_Description'", to: "N'MS_Caption'" },
  { what: 'property class changed', from: 'ep.class = 1', to: 'ep.class = 0' },
  { what: 'property owner changed', from: 'ep.major_id = o.id', to: 'ep.major_id = 0' },
  { what: 'schema left out of OBJECT_ID', from: "OBJECT_ID(QUOTENAME(t.TABLE_SCHEMA) + N'.' + ", to: 'OBJECT_ID(' },
  { what: 'binary collation dropped from the table order', from: 'ORDER BY t.TABLE_NAME COLLATE Latin1_General_BIN2', to: 'ORDER BY t.TABLE_NAME' },
  { what: 'table order dropped', from: '\n  ORDER BY t.TABLE_NAME COLLATE Latin1_General_BIN2', to: '' },
  { what: 'schema filter of the tables dropped', from: '\n  WHERE t.TABLE_SCHEMA = @schema', to: '' },
  // listColumns
  { what: 'primary-key join: schema condition dropped', from: 'tc.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND ', to: '', error: /Subquery returned more than 1 value/ },
  { what: 'primary-key join: name condition dropped', from: ' AND tc.CONSTRAINT_NAME = k.CONSTRAINT_NAME', to: '', error: /Subquery returned more than 1 value/ },
  { what: 'primary-key join: ambiguous column', from: 'tc.CONSTRAINT_NAME = k.CONSTRAINT_NAME', to: 'tc.CONSTRAINT_NAME = CONSTRAINT_NAME', error: /Ambiguous column name 'CONSTRAINT_NAME'/ },
  { what: "constraint type 'PRIMARY KEY' → 'UQ'", from: "'PRIMARY KEY'", to: "'UQ'" },
  { what: "constraint type 'PRIMARY KEY' → 'UNIQUE'", from: "'PRIMARY KEY'", to: "'UNIQUE'" },
  { what: 'key column: schema condition dropped', from: ' AND k.TABLE_SCHEMA = c.TABLE_SCHEMA', to: '', error: /Subquery returned more than 1 value/ },
  { what: 'key column: table condition dropped', from: 'AND k.TABLE_NAME = c.TABLE_NAME ', to: '' },
  { what: 'key column: column condition dropped', from: ' AND k.COLUMN_NAME = c.COLUMN_NAME)', to: ')', error: /Subquery returned more than 1 value/ },
  { what: 'key position alias renamed', from: 'AS primary_key', to: 'AS pk' },
  { what: 'nullability alias renamed', from: 'AS is_nullable', to: 'AS nullable' },
  { what: 'data type column misnamed', from: 'c.DATA_TYPE', to: 'c.DATATYPE', error: /Invalid column name 'DATATYPE'/ },
  { what: 'columns view misnamed', from: 'FROM INFORMATION_SCHEMA.COLUMNS c', to: 'FROM INFORMATION_SCHEMA.COLUMN c', error: /Invalid object name 'INFORMATION_SCHEMA\.COLUMN'/ },
  { what: 'key view misnamed', from: 'INFORMATION_SCHEMA.KEY_COLUMN_USAGE k', to: 'INFORMATION_SCHEMA.KEY_COLUMNS k', error: /Invalid object name 'INFORMATION_SCHEMA\.KEY_COLUMNS'/ },
  { what: 'column comment by the wrong property', from: "'ColumnId'", to: "'ColumnName'" },
  { what: 'column order dropped', from: ', c.ORDINAL_POSITION', to: '' },
  { what: 'table list negated', from: 'c.TABLE_NAME IN (', to: 'c.TABLE_NAME NOT IN (' },
  { what: 'schema filter of the columns dropped', from: 'c.TABLE_SCHEMA = @schema AND ', to: '' },
  { what: 'join keyword misspelled', from: '          JOIN INFORMATION_SCHEMA.TABLE_CONSTRAINTS', to: '          JION INFORMATION_SCHEMA.TABLE_CONSTRAINTS', error: SYNTAX },
  // the row estimates
  { what: 'partitions view misnamed', from: 'FROM sys.partitions p', to: 'FROM sys.partition p', error: /Invalid object name 'sys\.partition'/ },
  { what: 'row column misnamed', from: 'SUM(p.[rows])', to: 'SUM(p.[row_count])', error: /Invalid column name 'row_count'/ },
  { what: 'sum dropped: one row per index', from: 'SUM(p.[rows])', to: 'p.[rows]', error: /Subquery returned more than 1 value/ },
  {
    what: 'the sum moved beside the table name, without GROUP BY',
    from: '(SELECT SUM(p.[rows]) FROM sys.partitions p WHERE p.object_id = o.id AND p.index_id IN (0, 1))',
    to: 'SUM(0)',
    error: /Column 't\.TABLE_NAME' is invalid in the select list because it is not contained in either an aggregate function or the GROUP BY clause/,
  },
  { what: 'every index counted, not only the heap or clustered one', from: ' AND p.index_id IN (0, 1)', to: '' },
  { what: 'partitions of another object', from: 'p.object_id = o.id', to: 'p.object_id = 0' },
  { what: 'estimate alias renamed', from: ') AS estimate', to: ') AS estimated' },
  { what: 'estimated table list negated', from: 't.TABLE_NAME IN (@t0', to: 't.TABLE_NAME NOT IN (@t0' },
  // the snapshot's isolation check
  { what: 'snapshot state alias renamed', from: 'snapshot_isolation_state AS state', to: 'snapshot_isolation_state AS st' },
  { what: 'snapshot state of the current database: filter dropped', from: ' WHERE database_id = DB_ID()', to: '' },
];

describe('the catalog SQL, broken on purpose, fails against the double', () => {
  let baseline: unknown;

  test('unbroken, the catalog read succeeds', async () => {
    baseline = await catalogRead();
    assert.equal((baseline as unknown[]).length, 16);
    assert.deepEqual((baseline as unknown[])[6], [['big', 20_000], ['person', 2], ['visit', 1], ['Zeta', 0]].sort(), 'the rows of each table, none for one that does not exist');
  });

  for (const m of MUTATIONS) {
    test(m.what, async () => {
      assert.ok(baseline, 'the unbroken read ran');
      let applied = 0;
      started.double.rewriteSql = (sql) => {
        if (!sql.includes(m.from)) return sql;
        applied++;
        return sql.replaceAll(m.from, m.to);
      };
      let result: unknown;
      let failure: unknown;
      try {
        result = await catalogRead();
      } catch (error) {
        failure = error;
      } finally {
        started.double.rewriteSql = undefined;
      }
      assert.ok(applied > 0, `the mutation applies to a statement the connector sends: ${m.from}`);
      if (m.error) {
        assert.ok(failure instanceof AppError, `an AppError, got ${String(failure)}`);
        assert.equal(failure.code, 'SOURCE_QUERY_FAILED');
        assert.match(failure.message, m.error);
      } else if (!failure) {
        assert.notDeepEqual(result, baseline, 'the broken SQL answers differently');
      }
    });
  }
});
