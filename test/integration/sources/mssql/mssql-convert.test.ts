/**
 * The CONVERT/CAST forms the SQL Server connector relies on, checked against
 * SQL Server's documented output — so the connector is tested against the
 * server's behaviour, not against the double's. Each case runs the
 * connector's own SELECT expression (lib/connectors/mssql/types.ts) through
 * the real tedious driver against the TDS double and compares the text the
 * server returns with the form Microsoft documents, quoted beside it.
 *
 * Sources (Microsoft Learn, Transact-SQL reference):
 * - "CAST and CONVERT (Transact-SQL)", https://learn.microsoft.com/sql/t-sql/functions/cast-and-convert-transact-sql
 *   (date and time styles; money and smallmoney styles; binary styles;
 *   truncating and rounding results; compatibility support);
 * - "datetime2 (Transact-SQL)", https://learn.microsoft.com/sql/t-sql/data-types/datetime2-transact-sql
 * - "time (Transact-SQL)", https://learn.microsoft.com/sql/t-sql/data-types/time-transact-sql
 * - "SWITCHOFFSET (Transact-SQL)", https://learn.microsoft.com/sql/t-sql/functions/switchoffset-transact-sql
 * - "uniqueidentifier (Transact-SQL)", https://learn.microsoft.com/sql/t-sql/data-types/uniqueidentifier-transact-sql
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sourceSchema, type SqlSourceConfig } from '../../../../lib/contract/index.js';
import { closeConnection, openConnection, runQuery } from '../../../../lib/connectors/mssql/connection.js';
import type { Connection } from '../../../../lib/connectors/mssql/driver.js';
import { mssqlSelectExpression } from '../../../../lib/connectors/mssql/types.js';
import { MSSQL_LOGIN, mssqlSource, startTdsDouble, type StartedTds } from '../../../support/tds/index.js';

/** One documented conversion: a stored value, the SQL run on it, and the documented result. */
interface Case {
  what: string;
  type: string;
  value: unknown;
  /** The SELECT expression over `[v]`; absent: the connector's own for `type`. */
  sql?: string;
  /** The text SQL Server returns, or the error it raises. */
  expected: string | { error: RegExp };
  /** The documentation's words this rests on. */
  doc: string;
}

const STYLE_121 = '"21 or 25 or 121 | ODBC canonical (with milliseconds) default for time, date, datetime2, and datetimeoffset | yyyy-mm-dd hh:mi:ss.mmm (24h)"';
const DATETIME2_LENGTH = 'datetime2: "Character length | 19 positions minimum (YYYY-MM-DD hh:mm:ss ) to 27 maximum (YYYY-MM-DD hh:mm:ss.0000000)"';
const DEFAULT_121 = '"Under compatibility level 110 and higher, the CAST and CONVERT operations on the time and datetime2 data types always have 121 as the default style."';

const CASES: Case[] = [
  { what: 'date, style 23', type: 'date', value: '2024-02-29', expected: '2024-02-29', doc: '"- | 23 | ISO8601 | yyyy-mm-dd"' },
  { what: 'date at the ends of its range, style 23', type: 'date', value: '0001-01-01', expected: '0001-01-01', doc: '"- | 23 | ISO8601 | yyyy-mm-dd"; date range 0001-01-01 through 9999-12-31' },
  { what: 'datetime2(7), style 121: all seven fraction digits', type: 'datetime2(7)', value: '2007-05-08 12:35:29.1234567', expected: '2007-05-08 12:35:29.1234567', doc: `${STYLE_121}; ${DATETIME2_LENGTH}` },
  { what: 'datetime2(6), style 121: six digits', type: 'datetime2(6)', value: '2024-02-29 13:45:10.123456', expected: '2024-02-29 13:45:10.123456', doc: `${STYLE_121}; ${DATETIME2_LENGTH}` },
  { what: 'datetime2(0), style 121: no fraction', type: 'datetime2(0)', value: '2024-02-29 13:45:10', expected: '2024-02-29 13:45:10', doc: `${STYLE_121}; ${DATETIME2_LENGTH}` },
  { what: 'datetime, style 121: milliseconds always', type: 'datetime', value: '2007-05-08 12:35:29.123', expected: '2007-05-08 12:35:29.123', doc: STYLE_121 },
  { what: 'datetime with no milliseconds, style 121', type: 'datetime', value: '1753-01-01 00:00:00', expected: '1753-01-01 00:00:00.000', doc: STYLE_121 },
  {
    what: 'smalldatetime, style 121: zeros for seconds and milliseconds', type: 'smalldatetime', value: '2007-05-08 12:35:00', expected: '2007-05-08 12:35:00.000',
    doc: `${STYLE_121}; "When converting smalldatetime to character data, the styles that include seconds or milliseconds show zeros in these positions."`,
  },
  {
    what: 'datetime without a style: style 0, the trap style 121 avoids', type: 'datetime', value: '2024-02-09 13:05:10.123', sql: 'CONVERT(VARCHAR(27), [v])', expected: 'Feb  9 2024  1:05PM',
    doc: '"- | 0 or 100 (1, 2) | Default for datetime and smalldatetime | mon dd yyyy hh:miAM (or PM)"',
  },
  {
    what: 'datetime, style 126: a zero fraction is not shown', type: 'datetime', value: '2012-11-07 18:26:20.000', sql: 'CONVERT(VARCHAR(27), [v], 126)', expected: '2012-11-07T18:26:20',
    doc: '"126 | ISO8601 | yyyy-mm-ddThh:mi:ss.mmm (no spaces) Note: For a milliseconds (mmm) value of 0, the millisecond decimal fraction value will not display. For example, the value \'2012-11-07T18:26:20.000 displays as \'2012-11-07T18:26:20\'."',
  },
  { what: 'time(7) without a style: 121, seven digits', type: 'time(7)', value: '12:10:16.1234567', expected: '12:10:16.1234567', doc: `${DEFAULT_121}; time: "Character length | 8 positions minimum (hh:mm:ss) to 16 maximum (hh:mm:ss.nnnnnnn)"` },
  { what: 'time(0) without a style', type: 'time(0)', value: '12:10:16', expected: '12:10:16', doc: `${DEFAULT_121}; time: "8 positions minimum (hh:mm:ss)"` },
  {
    what: 'datetimeoffset: SWITCHOFFSET keeps the instant and the precision', type: 'datetimeoffset(7)', value: '1998-09-20 07:45:50.71345 -05:00', sql: "CONVERT(VARCHAR(34), SWITCHOFFSET([v], '-08:00'), 121)", expected: '1998-09-20 04:45:50.7134500 -08:00',
    doc: 'SWITCHOFFSET: "SELECT SWITCHOFFSET (ColDatetimeoffset, \'-08:00\') … --Returns: 1998-09-20 04:45:50.7134500 -08:00"; "Return Type: datetimeoffset with the fractional precision of the datetimeoffset_expression argument."',
  },
  {
    what: 'datetimeoffset: to UTC, the offset dropped by datetime2(7), style 121', type: 'datetimeoffset(7)', value: '2016-10-23 12:45:37.1234567 +10:00', expected: '2016-10-23 02:45:37.1234567',
    doc: 'datetime2: "When the conversion is from datetimeoffset(n), the date and time components are copied. The time zone is truncated."; SWITCHOFFSET to +00:00 first',
  },
  {
    what: 'money through decimal(19,4): all four decimals', type: 'money', value: '4235.9819', expected: '4235.9819',
    doc: 'money styles: "0 (default) | No commas every three digits to the left of the decimal point, and two digits to the right of the decimal point Example: 4235.98." — the connector casts to decimal(19,4) first to keep the four',
  },
  { what: 'money without a style: two decimals (the trap)', type: 'money', value: '4235.9819', sql: 'CAST([v] AS VARCHAR(40))', expected: '4235.98', doc: 'money styles: "0 (default) | … two digits to the right of the decimal point Example: 4235.98."' },
  { what: 'money, style 2: four decimals', type: 'money', value: '4235.9819', sql: 'CONVERT(VARCHAR(40), [v], 2)', expected: '4235.9819', doc: 'money styles: "2 | No commas every three digits to the left of the decimal point, and four digits to the right of the decimal point Example: 4235.9819."' },
  { what: 'decimal(12,2) keeps its scale', type: 'decimal(12,2)', value: '1234.5', expected: '1234.50', doc: '"Returns expression, translated to data_type" — decimal digits at the column\'s scale' },
  {
    what: 'decimal too long for the varchar: an error, never a cut number', type: 'decimal(38,10)', value: '1234567890123456789012345678.0123456789', sql: 'CAST([v] AS VARCHAR(20))', expected: { error: /Arithmetic overflow error converting numeric to data type varchar/ },
    doc: 'Truncating and rounding results: "money, smallmoney, numeric, decimal, float, or real | char … varchar | E" — "E = Error returned because result length is too short to display."',
  },
  { what: 'int too long for the varchar: *', type: 'int', value: 12345, sql: 'CAST([v] AS VARCHAR(2))', expected: '*', doc: 'Truncating and rounding results: "int, smallint, or tinyint | char | * … varchar | *" — "* = Result length too short to display"' },
  { what: 'bigint as varchar(40): every digit', type: 'bigint', value: -9223372036854775808n, expected: '-9223372036854775808', doc: 'bigint range -2^63 (-9,223,372,036,854,775,808) to 2^63-1: 20 characters fit varchar(40)' },
  {
    what: 'uniqueidentifier as char(36)', type: 'uniqueidentifier', value: '6F9619FF-8B86-D011-B42D-00C04FC964FF', expected: '6F9619FF-8B86-D011-B42D-00C04FC964FF',
    doc: 'uniqueidentifier: "a string constant in the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx … For example, 6F9619FF-8B86-D011-B42D-00C04FC964FF is a valid uniqueidentifier value"; "the uniqueidentifier type is limited to 36 characters"',
  },
  { what: 'binary, style 1: 0x and hex', type: 'varbinary(4)', value: Buffer.from('deadbeef', 'hex'), sql: 'CONVERT(VARCHAR(10), [v], 1)', expected: '0xDEADBEEF', doc: 'binary styles: "1, 2 | … Each binary character is converted into two hexadecimal characters."' },
  { what: 'binary, style 2: hex without 0x', type: 'varbinary(4)', value: Buffer.from('deadbeef', 'hex'), sql: 'CONVERT(VARCHAR(10), [v], 2)', expected: 'DEADBEEF', doc: 'binary styles: "The characters 0x are not added to the left of the converted result for style 2."' },
];

let started: StartedTds;
let connection: Connection;

before(async () => {
  started = await startTdsDouble([{
    name: 'styles',
    snapshotIsolation: true,
    schemas: { dbo: CASES.map((c, i) => ({ name: `case_${i}`, columns: [{ name: 'v', type: c.type }], rows: [[c.value]] })) },
  }]);
  const source = sourceSchema.parse(mssqlSource(started.double, 'styles')) as SqlSourceConfig;
  connection = await openConnection({ source, credentials: { username: MSSQL_LOGIN.user, password: MSSQL_LOGIN.password }, options: {}, settings: {}, tlsCa: started.ca });
});

after(async () => {
  await closeConnection(connection);
  await started.double.close();
  assert.deepEqual(started.double.unexpected, [], 'every conversion is one the double emulates');
});

describe('CONVERT and CAST give the forms Microsoft documents', () => {
  for (const [i, c] of CASES.entries()) {
    test(`${c.what} — ${c.doc.slice(0, 80)}…`, async () => {
      const expression = c.sql ?? mssqlSelectExpression('[v]', c.type);
      const sql = `SELECT ${expression} AS [v] FROM [dbo].[case_${i}]`;
      if (typeof c.expected === 'string') {
        const rows = await runQuery<{ v: unknown }>(connection, sql);
        assert.deepEqual(rows, [{ v: c.expected }], `${expression}: ${c.doc}`);
      } else {
        const { error } = c.expected;
        await assert.rejects(runQuery(connection, sql), (e: Error) => error.test(e.message));
      }
    });
  }

  test('the connector converts every date, time and exact type it reads with the expressions checked above', () => {
    const used = new Map([
      ['date', 'CONVERT(VARCHAR(10), [v], 23)'],
      ['datetime2(7)', 'CONVERT(VARCHAR(27), [v], 121)'],
      ['datetime', 'CONVERT(VARCHAR(27), [v], 121)'],
      ['smalldatetime', 'CONVERT(VARCHAR(27), [v], 121)'],
      ['time(7)', 'CAST([v] AS VARCHAR(16))'],
      ['datetimeoffset(7)', "CONVERT(VARCHAR(27), CAST(SWITCHOFFSET([v], '+00:00') AS DATETIME2(7)), 121)"],
      ['money', 'CAST(CAST([v] AS DECIMAL(19,4)) AS VARCHAR(40))'],
      ['decimal(12,2)', 'CAST([v] AS VARCHAR(40))'],
      ['bigint', 'CAST([v] AS VARCHAR(40))'],
      ['uniqueidentifier', 'CONVERT(CHAR(36), [v])'],
    ]);
    for (const [type, expression] of used) {
      assert.equal(mssqlSelectExpression('[v]', type), expression, type);
      assert.ok(CASES.some((c) => c.type === type && c.sql === undefined), `a documented case runs the connector's expression for ${type}`);
    }
  });
});
