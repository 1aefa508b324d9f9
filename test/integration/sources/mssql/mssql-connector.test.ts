/**
 * The SQL Server connector through the real `tedious` driver against a
 * protocol-level TDS double (test/support/tds/): type mapping, catalog
 * queries, streaming extraction in canonical text, one transaction per
 * snapshot, and failures named after the source. TLS is in mssql-tls.test.ts,
 * text in other code pages in mssql-code-pages.test.ts.
 *
 * What the double verifies: the TDS conversation (PRELOGIN, TLS inside
 * PRELOGIN, LOGIN7, RPC/SQL batch, tokens, ATTENTION), the SQL the connector
 * generates (parsed with a T-SQL grammar and evaluated against catalog views
 * built from the tables below; what it does not emulate is an ERROR token and
 * recorded), transaction descriptors and isolation, collations. What it does
 * not model is listed in docs/development.md.
 */
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { datasetSchema, sourceSchema, type SqlSourceConfig } from '../../../../lib/contract/index.js';
import type { ColumnInfo } from '../../../../lib/connectors/connector.js';
import { resolveDataset } from '../../../../lib/connectors/index.js';
import { MssqlConnector } from '../../../../lib/connectors/mssql/connector.js';
import { selectStatement } from '../../../../lib/connectors/mssql/snapshot.js';
import { mssqlDatatype, mssqlLogicalType } from '../../../../lib/connectors/mssql/types.js';
import { failure } from '../../../support/app-error.js';
import { parseCsv, readAll, toCsv } from '../../../support/csv-text.js';
import { listenOnLoopback, UNFINISHED_MESSAGE } from '../../../support/listeners.js';
import { MSSQL_LOGIN, mssqlSource, startTdsDouble, type StartedTds } from '../../../support/tds/index.js';
import { MSSQL_ALL_TYPES_COLUMNS, MSSQL_ALL_TYPES_CSV, mssqlAllTypesTable } from '../../../support/tds/all-types.js';
import { connector } from '../../../support/tds/connector.js';
import { BIG_ROWS, researchDatabase } from '../../../support/tds/research-db.js';

describe('SQL Server type mapping', () => {
  test('every case column maps to its logical type and datatype spelling', () => {
    const table = mssqlAllTypesTable();
    for (const c of MSSQL_ALL_TYPES_COLUMNS) {
      const declared = table.columns.find((d) => d.name === c.name)!.type;
      const m = /^([a-z0-9]+)(?:\(([^)]*)\))?$/.exec(declared)!;
      const [a, b] = (m[2] ?? '').split(',');
      const base = m[1]!;
      const sized = ['char', 'varchar', 'nchar', 'nvarchar', 'binary', 'varbinary'].includes(base);
      const info = {
        dataType: base,
        charLength: sized ? (a === 'max' ? -1 : Number(a)) : null,
        numericPrecision: ['decimal', 'numeric'].includes(base) ? Number(a) : null,
        numericScale: ['decimal', 'numeric'].includes(base) ? Number(b) : null,
        datetimePrecision: ['time', 'datetime2', 'datetimeoffset'].includes(base) ? (a === undefined || a === '' ? 7 : Number(a)) : null,
      };
      assert.deepEqual(mssqlLogicalType(info), c.logical, c.name);
      assert.equal(mssqlDatatype(info), c.datatype, c.name);
    }
  });

  test('types without a faithful mapping have none', () => {
    for (const dataType of ['sql_variant', 'vector', 'cursor', 'table', 'my_clr_type']) {
      assert.equal(mssqlLogicalType({ dataType, charLength: null, numericPrecision: null, numericScale: null, datetimePrecision: null }), undefined, dataType);
    }
  });
});

describe('SQL Server connector against the TDS double', () => {
  let started: StartedTds;

  before(async () => {
    started = await startTdsDouble([researchDatabase('research', true), researchDatabase('locked', false)]);
  });

  after(async () => {
    // Closed first: a failing assertion must not leave the server holding the process open.
    await started.double.close();
    assert.deepEqual(started.double.unexpected, [], 'the double understood every statement');
  });

  test('ping logs in over TLS as the configured login and runs SELECT 1', async () => {
    const c = connector(started);
    try {
      await c.ping();
    } finally {
      await c.close();
    }
    const login = started.double.logins.at(-1)!;
    assert.deepEqual(login, { userName: MSSQL_LOGIN.user, database: 'research', appName: 'cr8tor-publisher', packetSize: 16384, encrypted: true, accepted: true });
    assert.equal(started.double.requests.at(-1)!.sql, 'SELECT 1 AS one');
  });

  test('the catalog: schema, tables with MS_Description comments, columns with types, comments and key positions', async () => {
    const c = connector(started);
    try {
      assert.notEqual(await c.schemaTables('dbo'), null);
      assert.notEqual(await c.schemaTables('DBO'), null, 'names compare under the (case-insensitive) collation');
      assert.notEqual(await c.schemaTables('audit'), null);
      assert.equal(await c.schemaTables('nope'), null);
      assert.equal(await c.schemaTables('cr8tor_reader'), null, 'a schema, not its owner');
      const described: Record<string, string> = { all_types: 'Every SQL Server type the publisher maps', person: 'People in the cohort', visit: 'Visits, keyed by person and number' };
      const names = ['Zeta', 'all_types', 'big', 'lone', 'odd_types', 'person', ...Array.from({ length: 12 }, (_, i) => `t${String(i + 1).padStart(2, '0')}`), 'visit', 'we]ird table'];
      assert.deepEqual(await c.schemaTables('dbo'), names.map((name) => ({ name, description: described[name] ?? null })), 'every table of the schema, by code point (binary collation), each with its MS_Description');
      assert.deepEqual(await c.schemaTables('audit'), [{ name: 'events', description: null }, { name: 'person', description: 'Audit copy' }]);
      const columns = await c.getColumns('dbo', ['all_types', 'person', 'visit']);
      assert.deepEqual([...columns.keys()], ['all_types', 'person', 'visit']);
      const all = columns.get('all_types')!;
      assert.deepEqual(all.map((x) => x.name), MSSQL_ALL_TYPES_COLUMNS.map((x) => x.name));
      for (const [i, expected] of MSSQL_ALL_TYPES_COLUMNS.entries()) {
        assert.equal(all[i]!.datatype, expected.datatype, expected.name);
        assert.deepEqual(all[i]!.logical, expected.logical, expected.name);
        assert.equal(all[i]!.position, i + 1);
        if (i > 0) assert.deepEqual([all[i]!.description, all[i]!.nullable, all[i]!.primaryKey], [null, true, null], expected.name);
      }
      assert.deepEqual(all[0], { name: 'id', description: 'Row key', datatype: 'int', nullable: false, position: 1, logical: { kind: 'int32' }, primaryKey: 1 });
      assert.deepEqual(columns.get('person')!.map((x) => [x.name, x.datatype, x.primaryKey, x.nullable, x.description]), [['id', 'bigint', 1, false, null], ['note', 'nvarchar(max)', null, true, null]]);
      assert.deepEqual(columns.get('visit')!.map((x) => [x.name, x.datatype, x.position, x.primaryKey, x.nullable, x.description]), [
        ['code', 'nvarchar(20)', 1, null, false, 'Booking code'],
        ['visit_no', 'int', 2, 2, false, null],
        ['person_id', 'bigint', 3, 1, false, 'Who came'],
        ['site', 'nvarchar(40)', 4, null, true, null],
      ], 'a composite primary key by position; UNIQUE constraints are not the key');
      assert.deepEqual([...(await c.getColumns('audit', ['person'])).get('person')!.map((x) => [x.name, x.primaryKey])], [['id', 1], ['seen', null]]);
    } finally {
      await c.close();
    }
  });

  test('columns of many tables cost one catalog query, as for one table', async () => {
    const count = async (tables: string[]) => {
      let queries = 0;
      const c = connector(started, { options: { onQuery: () => void queries++ } });
      try {
        const resolved = await resolveDataset(c, datasetSchema.parse({ name: 'd', schema_name: 'dbo', tables: tables.map((name) => ({ name })) }));
        assert.equal(resolved.tables.length, tables.length);
      } finally {
        await c.close();
      }
      return queries;
    };
    const one = await count(['t01']);
    const twelve = await count(Array.from({ length: 12 }, (_, i) => `t${String(i + 1).padStart(2, '0')}`));
    assert.equal(one, 3, 'schema, tables, columns');
    assert.equal(twelve, one);
    const columnsQuery = started.double.requests.filter((r) => /INFORMATION_SCHEMA\.COLUMNS/.test(r.sql)).at(-1)!;
    assert.equal(Object.keys(columnsQuery.params).length, 13, '@schema and one parameter per table');
  });

  test('tables named to schemaTables: the catalog rows of those only, by code point, in statements of at most 1000 names', async () => {
    const c = connector(started);
    const listings = (from: number) => started.double.requests.slice(from).filter((r) => /FROM INFORMATION_SCHEMA\.TABLES t\s+CROSS APPLY[\s\S]*ORDER BY/.test(r.sql));
    try {
      let from = started.double.requests.length;
      assert.deepEqual(await c.schemaTables('dbo', ['visit', 'we]ird table', 'person', 'nope']), [
        { name: 'person', description: 'People in the cohort' },
        { name: 'visit', description: 'Visits, keyed by person and number' },
        { name: 'we]ird table', description: null },
      ]);
      const [one, ...more] = listings(from);
      assert.equal(more.length, 0);
      assert.match(one!.sql, /AND t\.TABLE_NAME IN \(@t0, @t1, @t2, @t3\)/);
      assert.deepEqual(Object.values(one!.params).sort(), ['dbo', 'nope', 'person', 'visit', 'we]ird table'].sort());

      from = started.double.requests.length;
      const many = ['VISIT', ...Array.from({ length: 1500 }, (_, i) => `absent_${i}`), 'visit', 'Zeta', 'all_types'];
      assert.deepEqual((await c.schemaTables('dbo', many))!.map((t) => t.name), ['Zeta', 'all_types', 'visit'], 'sorted again across statements; visit once, though two spellings in two statements found it');
      assert.deepEqual(listings(from).map((r) => Object.keys(r.params).length), [1001, 505], '@schema and at most 1000 names each');

      assert.equal(await c.schemaTables('nope', ['person']), null, 'a missing schema is still null');
      assert.deepEqual(await c.schemaTables('dbo', ['nope']), [], 'a schema without the named tables: none');
    } finally {
      await c.close();
    }
  });

  test('a column type without a mapping is reported, and refused only for extraction', async () => {
    const c = connector(started);
    try {
      const [v] = (await c.getColumns('dbo', ['odd_types'])).get('odd_types')!.slice(1);
      assert.equal(v!.datatype, 'sql_variant');
      assert.equal(v!.unsupported, true);
      const request = datasetSchema.parse({ name: 'd', schema_name: 'dbo', tables: [{ name: 'odd_types' }] });
      const refused = await failure(resolveDataset(c, request, { forExtraction: true }));
      assert.equal(refused.code, 'SOURCE_NOT_SUPPORTED');
      assert.match(refused.message, /Column 'v' of table 'dbo\.odd_types' on the mssql source .* has type 'sql_variant'/);
      const some = datasetSchema.parse({ name: 'd', schema_name: 'dbo', tables: [{ name: 'odd_types', columns: [{ name: 'id' }] }] });
      assert.equal((await resolveDataset(c, some, { forExtraction: true })).tables[0]!.columns.length, 1);
    } finally {
      await c.close();
    }
  });

  test('the all-types table streams as exactly the expected canonical CSV', async () => {
    const c = connector(started);
    try {
      const columns = (await c.getColumns('dbo', ['all_types'])).get('all_types')!;
      const snapshot = await c.snapshot();
      try {
        const csv = await readAll(snapshot.csv('dbo', 'all_types', columns));
        const rows = parseCsv(csv);
        const expected = parseCsv(MSSQL_ALL_TYPES_CSV);
        for (let r = 0; r < expected.length; r++) {
          for (let i = 0; i < expected[r]!.length; i++) assert.equal(rows[r]![i], expected[r]![i], `row ${r}, column ${expected[0]![i]}`);
        }
        assert.equal(csv, MSSQL_ALL_TYPES_CSV);
        assert.equal(snapshot.rowsRead('dbo', 'all_types'), 4);
      } finally {
        await snapshot.close();
      }
      const select = started.double.requests.findLast((r) => r.sql.startsWith('SELECT [id]'))!;
      assert.equal(select.sql, selectStatement('dbo', 'all_types', columns));
      for (const expr of [
        'CAST([c_bigint] AS VARCHAR(40))', 'CAST([c_decimal] AS VARCHAR(40))', 'CAST(CAST([c_money] AS DECIMAL(19,4)) AS VARCHAR(40))',
        'CONVERT(VARCHAR(10), [c_date], 23)', 'CONVERT(VARCHAR(27), [c_datetime2], 121)', "CONVERT(VARCHAR(27), CAST(SWITCHOFFSET([c_datetimeoffset], '+00:00') AS DATETIME2(7)), 121)",
        'CONVERT(CHAR(36), [c_uuid])', 'CAST([c_text] AS NVARCHAR(MAX))', 'CAST([c_image] AS VARBINARY(MAX))', '[c_hierarchyid].ToString()', '[c_geography].STAsText()',
      ]) {
        assert.ok(select.sql.includes(`${expr} AS `), `the SELECT converts with ${expr}`);
      }
    } finally {
      await c.close();
    }
  });

  test('NULL is an empty unquoted field, the empty string is "", and a lone \\. is quoted', async () => {
    const c = connector(started);
    try {
      const columns = (await c.getColumns('dbo', ['all_types', 'lone']));
      const some = columns.get('all_types')!.filter((x) => ['id', 'c_varchar', 'c_nvarchar_max'].includes(x.name));
      const snapshot = await c.snapshot();
      try {
        const csv = await readAll(snapshot.csv('dbo', 'all_types', some));
        assert.ok(csv.split('\n').includes('3,,'), csv);
        assert.ok(csv.split('\n').includes('4,"",""'), csv);
        assert.equal(await readAll(snapshot.csv('dbo', 'lone', columns.get('lone')!)), 'v\n"\\."\n""\n\n');
      } finally {
        await snapshot.close();
      }
    } finally {
      await c.close();
    }
  });

  test('columns come in the order asked, and odd identifiers are bracketed with ] doubled', async () => {
    const c = connector(started);
    try {
      const all = (await c.getColumns('dbo', ['we]ird table'])).get('we]ird table')!;
      const columns: ColumnInfo[] = [all[2]!, all[0]!, all[1]!];
      const sql = selectStatement('dbo', 'we]ird table', columns);
      assert.equal(sql, 'SELECT [x,y] AS [x,y], [a ]]b]]] AS [a ]]b]]], [select] AS [select] FROM [dbo].[we]]ird table]');
      const snapshot = await c.snapshot();
      try {
        assert.equal(await readAll(snapshot.csv('dbo', 'we]ird table', columns)), toCsv(['x,y', 'a ]b]', 'select'], [['v', '1', 'k']]));
      } finally {
        await snapshot.close();
      }
    } finally {
      await c.close();
    }
  });

  test('one SNAPSHOT transaction when the database allows it: every table read inside it, rolled back at the end', async () => {
    const c = connector(started);
    const from = started.double.requests.length;
    try {
      const columns = await c.getColumns('dbo', ['person', 'lone']);
      const snapshot = await c.snapshot();
      assert.equal((snapshot as unknown as { caveat: boolean }).caveat, false);
      assert.match((snapshot as unknown as { consistency: string }).consistency, /one SNAPSHOT-isolation transaction/);
      await readAll(snapshot.csv('dbo', 'person', columns.get('person')!));
      await readAll(snapshot.csv('dbo', 'lone', columns.get('lone')!));
      await snapshot.close();
    } finally {
      await c.close();
    }
    const sent = started.double.requests.slice(from);
    const begin = sent.find((r) => r.sql.includes('BEGIN TRANSACTION'))!;
    assert.equal(begin.sql, 'SET TRANSACTION ISOLATION LEVEL SNAPSHOT; BEGIN TRANSACTION');
    const reads = sent.filter((r) => /^SELECT [\s\S]* FROM \[dbo\]/.test(r.sql));
    assert.equal(reads.length, 2);
    for (const r of reads) {
      assert.equal(r.session, begin.session, 'on the snapshot connection');
      assert.equal(r.inTransaction?.isolation, 'SNAPSHOT');
      assert.equal(r.transaction, r.inTransaction?.descriptor, 'tedious sends the transaction descriptor in ALL_HEADERS');
    }
    assert.equal(sent.at(-1)!.sql, 'ROLLBACK TRANSACTION');
  });

  test('without snapshot isolation, one SERIALIZABLE transaction, and the snapshot says so', async () => {
    const c = connector(started, { db: 'locked' });
    try {
      const columns = await c.getColumns('dbo', ['person']);
      const snapshot = await c.snapshot();
      try {
        const said = snapshot as unknown as { caveat: boolean; consistency: string };
        assert.equal(said.caveat, true);
        assert.match(said.consistency, /does not allow SNAPSHOT isolation: all tables read in one SERIALIZABLE transaction/);
        assert.equal(await readAll(snapshot.csv('dbo', 'person', columns.get('person')!)), 'id,note\n1,a\n2,\n');
      } finally {
        await snapshot.close();
      }
    } finally {
      await c.close();
    }
    const read = started.double.requests.findLast((r) => r.sql.startsWith('SELECT CAST([id]'))!;
    assert.equal(read.inTransaction?.isolation, 'SERIALIZABLE');
  });

  test('a big table streams with bounded memory: the driver pauses and the server waits', async () => {
    const c = connector(started);
    const before = started.double.backpressure;
    try {
      const columns = (await c.getColumns('dbo', ['big'])).get('big')!;
      const snapshot = await c.snapshot();
      try {
        let rows = -1;
        let tail = '';
        for await (const chunk of snapshot.csv('dbo', 'big', columns)) {
          const text = tail + (chunk as Buffer).toString('utf8');
          const lines = text.split('\n');
          tail = lines.pop()!;
          // A reader that stalls: the request is paused while the encoder's buffer is full.
          if (rows === -1) await new Promise((resolve) => setTimeout(resolve, 300));
          rows += lines.length;
        }
        assert.equal(rows, BIG_ROWS);
        assert.equal(snapshot.rowsRead('dbo', 'big'), BIG_ROWS);
      } finally {
        await snapshot.close();
      }
    } finally {
      await c.close();
    }
    assert.ok(started.double.backpressure > before, 'the double had to wait for the client to read');
  });

  test('a reader that gives up mid-table ends the snapshot connection cleanly', async () => {
    const c = connector(started);
    try {
      const columns = (await c.getColumns('dbo', ['big'])).get('big')!;
      const snapshot = await c.snapshot();
      const stream = snapshot.csv('dbo', 'big', columns);
      for await (const _ of stream) break;
      await snapshot.close();
      const again = await failure(readAll(snapshot.csv('dbo', 'person', columns)));
      assert.match(again.message, /abandoned|closed/);
    } finally {
      await c.close();
    }
    for (let i = 0; i < 50 && started.double.openConnections > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(started.double.openConnections, 0);
  });

  test('a connection lost mid-table fails the stream with an error naming the source', async () => {
    const c = connector(started);
    try {
      const columns = (await c.getColumns('dbo', ['big'])).get('big')!;
      const snapshot = await c.snapshot();
      started.double.faults.push({ match: /FROM \[dbo\]\.\[big\]$/, disconnectAfterRows: 1000 });
      const error = await failure(readAll(snapshot.csv('dbo', 'big', columns)));
      assert.equal(error.code, 'SOURCE_UNREACHABLE');
      assert.match(error.message, /mssql source 127\.0\.0\.1:\d+\/research/);
      await snapshot.close();
    } finally {
      await c.close();
    }
  });

  test('a statement the server refuses fails with its message', async () => {
    const c = connector(started);
    try {
      const columns = (await c.getColumns('dbo', ['person'])).get('person')!;
      const snapshot = await c.snapshot();
      started.double.faults.push({ match: /FROM \[dbo\]\.\[person\]$/, error: { number: 229, message: "The SELECT permission was denied on the object 'person'." } });
      const error = await failure(readAll(snapshot.csv('dbo', 'person', columns)));
      assert.equal(error.code, 'SOURCE_QUERY_FAILED');
      assert.match(error.message, /The mssql source .* failed: The SELECT permission was denied on the object 'person'\./);
      await snapshot.close();
    } finally {
      await c.close();
    }
  });

  test('a login the server refuses: SOURCE_AUTH_FAILED naming the secret, never the password', async () => {
    const c = connector(started, { password: 'wrong-password' });
    const error = await failure(c.ping());
    await c.close();
    assert.equal(error.code, 'SOURCE_AUTH_FAILED');
    assert.match(error.message, /The mssql source 127\.0\.0\.1:\d+\/research rejected the credentials \(user name from secret 'mssql-user'\)/);
    assert.doesNotMatch(error.message, /wrong-password|S3cr3t/);
    assert.equal(started.double.logins.at(-1)!.accepted, false);
  });

  test('a server that hangs up in the middle of a message: SOURCE_UNREACHABLE within the connect timeout (tedious 19 alone waits for ever)', { timeout: 30_000 }, async () => {
    const server = net.createServer((socket) => socket.end(UNFINISHED_MESSAGE));
    const listening = await listenOnLoopback(server);
    try {
      const at = sourceSchema.parse({ ...mssqlSource(started.double, 'research'), port: listening.port }) as SqlSourceConfig;
      const c = new MssqlConnector(at, { username: MSSQL_LOGIN.user, password: MSSQL_LOGIN.password }, { connectTimeoutMs: 300 }, {}, started.ca);
      const began = Date.now();
      const error = await failure(c.ping());
      const took = Date.now() - began;
      await c.close();
      assert.equal(error.code, 'SOURCE_UNREACHABLE');
      assert.match(String((error.cause as Error).message), /did not complete the login within 1300 ms/);
      assert.ok(took < 5000, `gave up after ${took} ms`);
      assert.equal(listening.connections, 1, 'one connection, no retry');
    } finally {
      await listening.stop();
    }
  });

  test('a database the server does not have: SCHEMA_NOT_FOUND naming it', async () => {
    const c = connector(started, { db: 'missing_db' });
    const error = await failure(c.ping());
    await c.close();
    assert.equal(error.code, 'SCHEMA_NOT_FOUND');
    assert.match(error.message, /Database 'missing_db' does not exist on the mssql source/);
  });
});
