/**
 * Atomic replacement in the PostgreSQL destination: a load that fails (a
 * stream error, a bad value, a cut connection, a lock it cannot take …) leaves
 * the previous tables, their registry record and no temporary schema behind;
 * the record is written in the load's transaction.
 */
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { ColumnInfo, SourceSnapshot } from '../../../../lib/connectors/connector.js';
import { AppError } from '../../../../lib/errors.js';
import { failingStream } from '../../../support/csv-text.js';
import { pgSettings } from '../../../support/databases.js';
import { DEST_PASSWORD, PROJECT, TARGET, content, dest, logLines, packageFrom, packageTarget, pgConnector, registryRows, rows, schemas, setUpPgDestination, source, tearDownPgDestination, textStream } from '../../../support/pg-destination-harness.js';

before(async () => {
  await setUpPgDestination({ big: true });
  await packageTarget();
});
after(() => tearDownPgDestination());

describe('a load that fails leaves the previous tables and no temporary schema', () => {
  let previous: { person: string; allTypes: string; schemas: string[] };
  const failing = (table: string, make: (columns: readonly ColumnInfo[]) => Readable) => (real: SourceSnapshot): SourceSnapshot => ({
    ...real,
    csv: (schema, t, columns) => (t === table ? make(columns) : real.csv(schema, t, columns)),
    rowsRead: (schema, t) => real.rowsRead(schema, t),
    close: () => real.close(),
  });

  async function snapshotOfTarget() {
    return { person: await content(TARGET, 'person'), allTypes: await content(TARGET, 'all_types'), schemas: await schemas(), registry: await registryRows(true) };
  }

  async function assertUnchanged() {
    assert.deepEqual(await snapshotOfTarget(), previous);
    const loading = await rows(`SELECT nspname FROM pg_namespace WHERE nspname LIKE 'cr8tor\\_loading%'`);
    assert.deepEqual(loading, []);
  }

  before(async () => {
    previous = await snapshotOfTarget();
    assert.ok(previous.person.length > 0, 'the first test loaded the target');
  });

  test('a CSV stream that errors after several megabytes', async () => {
    const c = pgConnector(source.database);
    const header = 'id,name,note\n';
    const body = Array.from({ length: 60_000 }, (_, i) => `${i + 100},name ${i},${'x'.repeat(80)}\n`).join('');
    const boom = new AppError('SOURCE_UNREACHABLE', 'The connection to the postgresql source was lost: injected.');
    try {
      await assert.rejects(
        packageFrom(c, 'public', ['all_types', 'person'], { wrap: failing('person', () => failingStream(header + body, boom)) }),
        (error: unknown) => error === boom,
      );
    } finally {
      await c.close();
    }
    await assertUnchanged();
  });

  test('a value PostgreSQL refuses fails with DESTINATION_FAILED naming the table, line and column', async () => {
    const c = pgConnector(source.database);
    const bad = (columns: readonly ColumnInfo[]) => {
      const header = columns.map((col) => col.name).join(',');
      return textStream(`${header}\n1,Ann,ok\nnot-a-number,Bob,\n`);
    };
    try {
      await assert.rejects(packageFrom(c, 'public', ['all_types', 'person'], { wrap: failing('person', bad) }), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, 'DESTINATION_FAILED');
        assert.equal(error.status, 502);
        assert.match(error.detail, /^Loading schema 'pr004_20250205_010101_public' failed in the PostgreSQL destination database: invalid input syntax for type bigint.*\(COPY person, line 3, column id/);
        assert.ok(!error.detail.includes(DEST_PASSWORD));
        assert.ok(!error.detail.includes(dest.database) && !error.detail.includes(`${pgSettings.host}:${pgSettings.port}`), 'where the database is stays in the log');
        return true;
      });
    } finally {
      await c.close();
    }
    const logged = logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'PostgreSQL destination: package failed' && /invalid input syntax for type bigint/.test(l.err?.message));
    assert.deepEqual(logged?.database, { host: pgSettings.host, port: pgSettings.port, database: dest.database, user: pgSettings.user }, 'the log says where');
    assert.equal(logged.project, PROJECT);
    await assertUnchanged();
  });

  test('a first load of a schema that fails records nothing in the registry', async () => {
    const c = pgConnector(source.database);
    const boom = new AppError('SOURCE_UNREACHABLE', 'The connection to the postgresql source was lost: injected.');
    try {
      await assert.rejects(
        packageFrom(c, 'public', ['all_types', 'person'], { startTime: '20250304_000000', wrap: failing('person', () => failingStream('id,name,note\n1,a,b\n', boom)) }),
        (error: unknown) => error === boom,
      );
    } finally {
      await c.close();
    }
    assert.deepEqual(await rows(`SELECT * FROM cr8tor_publisher.loads WHERE schema_name = 'pr004_20250304_000000_public'`), []);
    await assertUnchanged();
  });

  test("a row count that disagrees with the source's count fails the package", async () => {
    const c = pgConnector(source.database);
    const miscount = (real: SourceSnapshot): SourceSnapshot => ({
      ...real,
      csv: (schema, t, columns) => real.csv(schema, t, columns),
      rowsRead: (schema, t) => (t === 'person' ? 99 : real.rowsRead(schema, t)),
      close: () => real.close(),
    });
    try {
      await assert.rejects(packageFrom(c, 'public', ['all_types', 'person'], { wrap: miscount }), (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.detail, "Table 'person': the source sent 99 rows but the destination database loaded 3; nothing was replaced.");
        return true;
      });
    } finally {
      await c.close();
    }
    await assertUnchanged();
  });

  test('a header that does not match the columns fails before anything is loaded', async () => {
    const c = pgConnector(source.database);
    try {
      await assert.rejects(
        packageFrom(c, 'public', ['person'], { wrap: failing('person', () => textStream('id,note,name\n1,a,b\n')) }),
        (error: unknown) => error instanceof AppError && /has the columns \["id", "note", "name"\]/.test(error.detail),
      );
    } finally {
      await c.close();
    }
    await assertUnchanged();
  });

  test('the source connection killed mid-COPY', async () => {
    const c = pgConnector(source.database);
    try {
      const pending = packageFrom(c, 'public', ['person', 'big']);
      let killed = false;
      for (let i = 0; i < 400 && !killed; i++) {
        const { rows: k } = await source.client.query(
          `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND query ILIKE 'COPY (SELECT%big%'`,
          [source.database],
        );
        killed = k.some((r) => r.done);
        if (!killed) await new Promise((r) => setTimeout(r, 5));
      }
      assert.ok(killed, 'the extraction was seen and terminated');
      await assert.rejects(pending, (error: unknown) => error instanceof AppError && error.status === 502 && /postgresql source/.test(error.detail));
    } finally {
      await c.close();
    }
    await assertUnchanged();
  });

  test('readers holding the previous tables make the swap give up after its lock timeout, leaving them', async () => {
    const reader = new pg.Client({ ...pgSettings, database: dest.database });
    await reader.connect();
    try {
      await reader.query(`BEGIN; SELECT count(*) FROM ${TARGET}.person`);
      const c = pgConnector(source.database);
      try {
        await assert.rejects(packageFrom(c, 'public', ['person']), (error: unknown) => error instanceof AppError && /is in use: its tables could not be replaced within 2 s/.test(error.detail));
      } finally {
        await c.close();
      }
    } finally {
      await reader.query('ROLLBACK');
      await reader.end();
    }
    await assertUnchanged();
  });
});
