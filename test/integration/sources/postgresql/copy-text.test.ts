/**
 * The transform of PostgreSQL's plain COPY output (copy-text.ts) against
 * PostgreSQL itself: for thousands of generated values of every type it
 * rewrites (and its neighbours), the extraction's bytes must equal what COPY
 * CSV writes when PostgreSQL computes each canonical form in SQL, as the
 * extraction did before the transform (the expressions below, kept here as
 * the oracle).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { sourceSchema, type SqlSourceConfig } from '../../../../lib/contract/index.js';
import { PostgresConnector } from '../../../../lib/connectors/postgresql/connector.js';
import { createPgDatabase, pgSettings, type TestPgDatabase } from '../../../support/databases.js';

/** Each canonical form computed by PostgreSQL, in a UTC session with DateStyle ISO. */
const ORACLE: Record<string, (c: string) => string> = {
  boolean: (c) => `${c}::text`,
  timestamp: (c) => `CASE WHEN ${c} >= '0001-01-01' AND ${c} < 'infinity' THEN replace(${c}::text, ' ', 'T') ELSE btrim(to_json(${c})::text, '"') END`,
  timestamptz: (c) =>
    `CASE WHEN ${c} >= '0001-01-01 00:00:00+00' AND ${c} < 'infinity' THEN replace(${c}::text, ' ', 'T') || ':00' ELSE btrim(to_json(${c})::text, '"') END`,
  timetz: (c) => `regexp_replace(${c}::text, '([+-]\\d\\d)$', '\\1:00')`,
  array: (c) => `to_json(${c})::text`,
};

const COLUMNS: [string, string, keyof typeof ORACLE | null][] = [
  ['id', 'bigint', null],
  ['b', 'boolean', 'boolean'],
  ['ts', 'timestamp', 'timestamp'],
  ['tz', 'timestamptz', 'timestamptz'],
  ['tt', 'timetz', 'timetz'],
  ['t', 'text', null],
  ['j', 'jsonb', null],
  ['n', 'numeric', null],
  ['d', 'date', null],
  ['bin', 'bytea', null],
  ['arr', 'timestamptz[]', 'array'],
  ['u', 'uuid', null],
];

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

describe('PostgreSQL COPY text transform against PostgreSQL\'s own canonical forms', () => {
  let db: TestPgDatabase;
  let source: PostgresConnector;

  before(async () => {
    db = await createPgDatabase('cr8t_copytext');
    await db.client.query(`CREATE TABLE oracle (${COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ')})`);
    // Generated values: NULLs in every column, BC and infinite timestamps, whole-hour and
    // odd offsets, fractions, texts with every character COPY escapes or CSV quotes.
    await db.client.query(`
      INSERT INTO oracle
      SELECT g,
        CASE g % 3 WHEN 0 THEN true WHEN 1 THEN false END,
        CASE WHEN g % 97 = 0 THEN 'infinity'::timestamp WHEN g % 89 = 0 THEN '-infinity'::timestamp WHEN g % 83 = 0 THEN NULL
             WHEN g % 7 = 0 THEN timestamp '0044-03-15 12:00 BC' + g * interval '1 day 1.5 seconds'
             ELSE timestamp '1970-01-01' + g * interval '12345 seconds 678901 microseconds' END,
        CASE WHEN g % 101 = 0 THEN 'infinity'::timestamptz WHEN g % 103 = 0 THEN '-infinity'::timestamptz WHEN g % 79 = 0 THEN NULL
             WHEN g % 11 = 0 THEN timestamptz '0001-01-01 00:00+05' - g * interval '1 hour'
             ELSE timestamptz '2000-01-01 00:00+00' + g * interval '98765 seconds 4321 microseconds' END,
        CASE WHEN g % 13 = 0 THEN NULL ELSE (time '00:00' + g * interval '61.25 seconds')::timetz
             AT TIME ZONE (ARRAY['+05', '-05:30', '+00', '-12', '+05:30:15', '+14'])[1 + g % 6] END,
        CASE g % 9 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN E'tab\\there, "quoted"' WHEN 3 THEN E'line\\nbreak\\r\\nand \\\\ back'
                   WHEN 4 THEN E'\\\\N' WHEN 5 THEN 'Ångström “x”' WHEN 6 THEN E'\\b\\f\\v\\x01' ELSE 'plain ' || g END,
        CASE WHEN g % 5 = 0 THEN NULL ELSE jsonb_build_object('k', g, 's', E'a,"b"\\n\\\\', 'arr', jsonb_build_array(g, null, true)) END,
        CASE WHEN g % 17 = 0 THEN 'NaN'::numeric ELSE (g * 1.0500)::numeric END,
        CASE WHEN g % 19 = 0 THEN 'infinity'::date WHEN g % 23 = 0 THEN date '0044-03-15 BC' ELSE date '2000-01-01' + g END,
        CASE WHEN g % 4 = 0 THEN NULL ELSE decode(lpad(to_hex(g), 8, '0'), 'hex') END,
        CASE WHEN g % 6 = 0 THEN NULL ELSE ARRAY[timestamptz '2020-01-01 00:00+00' + g * interval '1.5 seconds', NULL, 'infinity'] END,
        md5(g::text)::uuid
      FROM generate_series(1, 5000) g`);
    const config = sourceSchema.parse({
      type: 'postgresql', host_url: pgSettings.host, port: pgSettings.port, database: db.database,
      credentials: { provider: 'AzureKeyVault', username_key: 'pg-user', password_key: 'pg-password' },
    }) as SqlSourceConfig;
    source = new PostgresConnector(config, { username: pgSettings.user, password: pgSettings.password });
  });

  after(async () => {
    await source?.close();
    await db?.drop();
  });

  test('every generated value reads byte for byte as PostgreSQL spells it in SQL', async () => {
    const columns = (await source.getColumns('public', ['oracle'])).get('oracle')!;
    const snapshot = await source.snapshot();
    let actual: Buffer;
    try {
      actual = await readAll(snapshot.csv('public', 'oracle', columns));
      assert.equal(snapshot.rowsRead('public', 'oracle'), 5000);
    } finally {
      await snapshot.close();
    }
    const client = new pg.Client({ ...pgSettings, database: db.database });
    await client.connect();
    let expected = '';
    try {
      await client.query("SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'; SET extra_float_digits = 1; SET bytea_output = 'hex'");
      const list = COLUMNS.map(([n, , kind]) => `${kind ? ORACLE[kind]!(n) : n} AS ${n}`).join(', ');
      const stream = client.query(copyTo(`COPY (SELECT ${list} FROM oracle) TO STDOUT WITH (FORMAT csv, HEADER)`));
      expected = (await readAll(stream)).toString('utf8');
    } finally {
      await client.end();
    }
    // Line by line first, so a difference names its row.
    const a = actual.toString('utf8').split('\n');
    const e = expected.split('\n');
    for (let i = 0; i < e.length; i++) assert.equal(a[i], e[i], `line ${i}`);
    assert.equal(actual.toString('utf8'), expected);
  });
});
