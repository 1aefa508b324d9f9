/**
 * `npm run bench:package`: packaging and publishing speed against the physical
 * baselines, measured in the same run on the same machine.
 *
 * - generates a PostgreSQL table of BENCH_ROWS (default 2,000,000) rows with the
 *   types research tables carry (bigint, int, numeric, varchar, text,
 *   timestamp, timestamptz, date, boolean, uuid, jsonb, a mostly-NULL text, and
 *   text with commas, quotes and newlines), a wide variant (the same plus four
 *   long text columns, BENCH_ROWS / 4 rows), and one of BENCH_LARGE_FACTOR
 *   (default 5) times the rows for the memory and time-per-row check;
 * - CSV package wall time vs `psql \copy (SELECT …) TO STDOUT CSV` of the same
 *   columns, on the mixed and the wide table, with SOURCE_POSTGRESQL_PARALLEL_CONNECTIONS
 *   1 and 2 (one reading connection, or two over block ranges of one snapshot);
 * - the cost per column type: a CSV package of each column alone vs `psql \copy` of it;
 * - DuckDB package wall time vs that psql export plus DuckDB's own read_csv of it;
 * - the same table in MariaDB/MySQL: CSV package vs `mysql --batch --quick` of the
 *   same columns (BENCH_MYSQL=0 skips it);
 * - peak RSS (VmHWM) of a fresh publish service process for one package, and
 *   seconds per million rows (CSV, DuckDB and psql \copy), at 1× and
 *   BENCH_LARGE_FACTOR× the rows, and whether the DuckDB package kept the
 *   table's primary key at both sizes;
 * - publish hashing throughput vs `sha512sum` of the same files;
 * - the trade-off DUCKDB_MEMORY_LIMIT sets: the DuckDB package's time and
 *   peak RSS again with BENCH_DUCKDB_ALT_LIMIT (default 256MB) instead of the
 *   default 64MB.
 *
 * Each figure is the median of BENCH_RUNS runs (default 5), at
 * BENCH_LARGE_FACTOR× the rows of BENCH_LARGE_RUNS (default 3). The publish service
 * runs as its own process, called over HTTP like the gateway calls it.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { Agent, fetch } from 'undici';
import { freePort } from '../scripts/support/free-port.js';
import { startCompiledService } from './services.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 2_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const LARGE = Number(process.env.BENCH_LARGE_FACTOR ?? 5);
const LARGE_RUNS = Number(process.env.BENCH_LARGE_RUNS ?? 3);
const WITH_MYSQL = process.env.BENCH_MYSQL !== '0';
const ALT_LIMIT = process.env.BENCH_DUCKDB_ALT_LIMIT ?? '256MB';
const pgConn = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  user: process.env.PGUSER ?? 'postgres',
  password: process.env.PGPASSWORD ?? '',
};
const myConn = {
  host: process.env.MYSQL_HOST ?? '127.0.0.1',
  port: Number(process.env.MYSQL_PORT ?? 3306),
  user: process.env.MYSQL_USER ?? 'root',
  password: process.env.MYSQL_PASSWORD ?? '',
};

/** The mixed-type table: name, PostgreSQL type and value of row g, MySQL type and value of row `seq`. */
const MIXED: [string, string, string, string, string][] = [
  ['id', 'bigint PRIMARY KEY', 'g', 'bigint PRIMARY KEY', 'seq'],
  ['n_int', 'integer', '((g::bigint * 7919) % 1000000)::int', 'int', '(seq * 7919) % 1000000'],
  ['amount', 'numeric(12,2)', 'round(((g::bigint * 37) % 1000000) / 100.0, 2)', 'decimal(12,2)', 'round(((seq * 37) % 1000000) / 100.0, 2)'],
  ['code', 'varchar(32)', "'C-' || (g % 50000)", 'varchar(32)', "concat('C-', seq % 50000)"],
  ['label', 'text', "'label-' || g", 'text', "concat('label-', seq)"],
  ['created_at', 'timestamp', "TIMESTAMP '2020-01-01 00:00:00' + g * INTERVAL '1 second 1234 microseconds'", 'datetime(6)', "TIMESTAMP('2020-01-01') + INTERVAL (seq * 1001234) MICROSECOND"],
  ['updated_at', 'timestamptz', "TIMESTAMPTZ '2020-01-01 00:00:00+00' + g * INTERVAL '2 seconds 567 microseconds'", 'timestamp(6) NULL', "TIMESTAMP('2020-01-01') + INTERVAL (seq * 2000567) MICROSECOND"],
  ['day', 'date', "DATE '2000-01-01' + g % 9000", 'date', "DATE('2000-01-01') + INTERVAL (seq % 9000) DAY"],
  ['flag', 'boolean', 'g % 3 = 0', 'tinyint(1)', 'seq % 3 = 0'],
  ['uid', 'uuid', 'md5(g::text)::uuid', 'char(36)', "insert(insert(insert(insert(md5(seq), 9, 0, '-'), 14, 0, '-'), 19, 0, '-'), 24, 0, '-')"],
  ['doc', 'jsonb', "jsonb_build_object('id', g, 'tags', jsonb_build_array('a', g % 7), 'ok', g % 2 = 0)", 'json', "json_object('id', seq, 'tags', json_array('a', seq % 7), 'ok', seq % 2 = 0)"],
  ['sparse', 'text', "CASE WHEN g % 50 = 0 THEN 'rare ' || g END", 'text', "IF(seq % 50 = 0, concat('rare ', seq), NULL)"],
  ['body', 'text', `CASE g % 4 WHEN 0 THEN 'has, a comma and "quotes"' WHEN 1 THEN E'two\\nlines' WHEN 2 THEN '' ELSE 'plain note ' || g END`, 'text', `ELT(seq % 4 + 1, 'has, a comma and "quotes"', 'two\\nlines', '', concat('plain note ', seq))`],
];
/** The wide variant's extra columns: long texts (one with a comma), as many rows / 4. */
const WIDE_EXTRA: [string, string, string][] = [
  ['w1', 'text', 'repeat(md5(g::text), 4)'],
  ['w2', 'text', "'lorem, ' || repeat(md5((g + 1)::text), 3)"],
  ['w3', 'varchar(200)', 'repeat(md5((g + 2)::text), 5)'],
  ['w4', 'text', 'repeat(md5((g + 3)::text), 2)'],
];
const COLUMNS = MIXED.map(([name]) => name);
const WIDE_COLUMNS = [...COLUMNS, ...WIDE_EXTRA.map(([name]) => name)];

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function range(values: number[]): string {
  return `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;
}

/**
 * Seconds `fn` takes. The disk is flushed first (`sync`, not timed): a step
 * never pays for the writeback of what the step before it wrote (the baselines
 * write without fsync and leave their files in the page cache; the product
 * flushes its files before it answers).
 */
async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  execFileSync('sync');
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function generate(client: pg.Client, table: string, rows: number, wide = false): Promise<void> {
  const columns = wide ? [...MIXED, ...WIDE_EXTRA.map(([n, t, e]) => [n, t, e] as const)] : MIXED;
  await client.query(`CREATE TABLE ${table} (${columns.map(([n, t]) => `${n} ${t}`).join(', ')})`);
  await client.query(`INSERT INTO ${table} SELECT ${columns.map(([, , e]) => e).join(', ')} FROM generate_series(1, ${rows}) AS g`);
  await client.query(`VACUUM ANALYZE ${table}`);
  await client.query(`SELECT count(*) FROM ${table}`);
}

async function generateMysql(conn: mysql.Connection, table: string, rows: number): Promise<void> {
  await conn.query("SET SESSION time_zone = '+00:00'");
  await conn.query(`CREATE TABLE ${table} (${MIXED.map(([n, , , t]) => `${n} ${t}`).join(', ')}) ENGINE=InnoDB`);
  // In slices, so no one transaction grows too large.
  const slice = 500_000;
  for (let from = 1; from <= rows; from += slice) {
    const to = Math.min(rows, from + slice - 1);
    await conn.query(`INSERT INTO ${table} SELECT ${MIXED.map(([, , , , e]) => e).join(', ')} FROM seq_${from}_to_${to}`);
  }
  await conn.query(`ANALYZE TABLE ${table}`);
}

interface Service {
  url: string;
  child: ChildProcess;
  peakRssMiB(): Promise<number>;
  stop(): Promise<void>;
}

async function startPublish(env: NodeJS.ProcessEnv): Promise<Service> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = await startCompiledService('publish', url, { ...env, PUBLISH_CONTAINER_PORT: String(port), BIND_HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
  return {
    url,
    child,
    async peakRssMiB() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return kb / 1024;
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

async function main(): Promise<void> {
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log(`rows: ${ROWS.toLocaleString('en')} (wide: ${(ROWS / 4).toLocaleString('en')}; ${(LARGE * ROWS).toLocaleString('en')} for the memory and time-per-row check), runs: ${RUNS}\n`);
  const work = await mkdtemp(path.join(os.tmpdir(), 'cr8tor-bench-'));
  const database = `bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ ...pgConn, database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const client = new pg.Client({ ...pgConn, database });
  await client.connect();
  let my: mysql.Connection | undefined;
  const services: Service[] = [];
  try {
    process.stdout.write('generating tables… ');
    await generate(client, 'bench_1x', ROWS);
    await generate(client, 'bench_wide', Math.floor(ROWS / 4), true);
    await generate(client, 'bench_large', LARGE * ROWS);
    if (WITH_MYSQL) {
      my = await mysql.createConnection({ ...myConn, multipleStatements: false });
      await my.query(`CREATE DATABASE ${database}`);
      await my.query(`USE ${database}`);
      await generateMysql(my, 'bench_1x', ROWS);
    }
    // The generated rows are written out by the servers' background flushing
    // (PostgreSQL's checkpointer spreads it over minutes): done now, before
    // anything is measured, so no measurement shares the disk with it.
    await client.query('CHECKPOINT');
    if (my) {
      await my.query('FLUSH TABLES bench_1x FOR EXPORT');
      await my.query('UNLOCK TABLES');
    }
    execFileSync('sync');
    console.log('done');

    const secrets = path.join(work, 'secrets');
    const mount = path.join(work, 'mount');
    await mkdir(secrets);
    await mkdir(path.join(mount, 'staging'), { recursive: true });
    await mkdir(path.join(mount, 'production'), { recursive: true });
    const key = randomBytes(16).toString('hex');
    await writeFile(path.join(secrets, 'publishserviceapikey'), key);
    await writeFile(path.join(secrets, 'bench-user'), pgConn.user);
    await writeFile(path.join(secrets, 'bench-password'), pgConn.password || 'unused');
    await writeFile(path.join(secrets, 'bench-mysql-user'), myConn.user);
    await writeFile(path.join(secrets, 'bench-mysql-password'), myConn.password);
    const env = { ...process.env, SECRETS_MNT_PATH: secrets, TARGET_STORAGE_ACCOUNT_BENCH_SDE_MNT_PATH: mount, DLTHUB_PIPELINE_WORKING_DIR: work, SOURCE_POSTGRESQL_PARALLEL_CONNECTIONS: '1' };

    let stamp = 0;
    const request = (table: string, format: 'csv' | 'duckdb', columns = COLUMNS, source: 'postgresql' | 'mysql' = 'postgresql') => ({
      project_name: 'Bench',
      project_start_time: `20250101_${String(Math.floor(stamp / 60)).padStart(4, '0')}${String(stamp++ % 60).padStart(2, '0')}`,
      destination: { name: 'BENCH', type: 'filestore', format },
      source:
        source === 'postgresql'
          ? { type: 'postgresql', host_url: pgConn.host, port: pgConn.port, database, credentials: { username_key: 'bench-user', password_key: 'bench-password' } }
          : { type: 'mysql', host_url: myConn.host, port: myConn.port, database, credentials: { username_key: 'bench-mysql-user', password_key: 'bench-mysql-password' } },
      dataset: { name: 'bench', schema_name: source === 'postgresql' ? 'public' : database, tables: [{ name: table, columns: columns.map((name) => ({ name })) }] },
    });
    // A large package may take longer than fetch's default five minutes to answer.
    const patient = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
    const call = async (svc: Service, route: string, body: unknown) => {
      const res = await fetch(`${svc.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(body), dispatcher: patient });
      const json = (await res.json()) as { payload: any };
      if (!res.ok) throw new Error(`${route}: ${res.status} ${JSON.stringify(json.payload)}`);
      return json.payload;
    };
    /** One package, its staging folder removed afterwards (after `inspect` reads its outputs) so the disk holds one at a time. */
    const packageOnce = async (svc: Service, body: ReturnType<typeof request>, inspect?: (outputs: string) => Promise<void>) => {
      const seconds = await timed(() => call(svc, '/data-publish/package', body));
      await inspect?.(path.join(mount, 'staging', 'Bench', body.project_start_time, 'data', 'outputs'));
      await rm(path.join(mount, 'staging', 'Bench'), { recursive: true, force: true });
      return seconds;
    };
    /** Whether a DuckDB package kept the source's primary key (the product drops one it cannot keep, with a warning in its log). */
    const keyKept = async (outputs: string): Promise<boolean> => {
      const db = await DuckDBInstance.create(path.join(outputs, 'database.duckdb'), { access_mode: 'READ_ONLY' });
      const conn = await db.connect();
      try {
        const rows = (await conn.runAndReadAll(`SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY'`)).getRows();
        return Number(rows[0]![0]) === 1;
      } finally {
        conn.closeSync();
        db.closeSync();
      }
    };
    const psqlCopy = (table: string, out: string, columns = COLUMNS) =>
      execFileSync('sh', ['-c', `psql -X -q -h "$PGH" -p "$PGP" -U "$PGU" -d "$PGD" -c "\\copy (SELECT ${columns.join(', ')} FROM ${table}) TO STDOUT WITH (FORMAT csv, HEADER)" > "$OUT"`], {
        env: { ...process.env, PGH: pgConn.host, PGP: String(pgConn.port), PGU: pgConn.user, PGD: database, OUT: out, PGPASSWORD: pgConn.password },
      });
    const mysqlBatch = (table: string, out: string) =>
      execFileSync('sh', ['-c', `mysql --batch --quick -h "$MH" -P "$MP" -u "$MU" -D "$MD" -e "SELECT ${COLUMNS.join(', ')} FROM ${table}" > "$OUT"`], {
        env: { ...process.env, MH: myConn.host, MP: String(myConn.port), MU: myConn.user, MD: database, OUT: out, MYSQL_PWD: myConn.password },
      });

    const times: Record<string, number[]> = {};
    const note = (name: string, seconds: number) => (times[name] ??= []).push(seconds);
    const publishRates: number[] = [];
    const shaRates: number[] = [];
    const baselineCsv = path.join(work, 'baseline.csv');
    const service = await startPublish(env);
    services.push(service);
    const service2 = await startPublish({ ...env, SOURCE_POSTGRESQL_PARALLEL_CONNECTIONS: '2' });
    services.push(service2);
    for (let run = 0; run < RUNS; run++) {
      note('psql', await timed(() => psqlCopy('bench_1x', baselineCsv)));
      note('csv', await packageOnce(service, request('bench_1x', 'csv')));
      note('csv 2 connections', await packageOnce(service2, request('bench_1x', 'csv')));
      note('psql wide', await timed(() => psqlCopy('bench_wide', baselineCsv, WIDE_COLUMNS)));
      note('csv wide', await packageOnce(service, request('bench_wide', 'csv', WIDE_COLUMNS)));
      note('csv wide 2 connections', await packageOnce(service2, request('bench_wide', 'csv', WIDE_COLUMNS)));
      if (my) {
        note('mysql --batch', await timed(() => mysqlBatch('bench_1x', baselineCsv)));
        note('mysql csv', await packageOnce(service, request('bench_1x', 'csv', COLUMNS, 'mysql')));
      }
      // publish: move + SHA-512 of each byte once, vs sha512sum over the same bytes
      const pub = request('bench_1x', 'csv');
      await call(service, '/data-publish/package', pub);
      let bytes = 0;
      const publishSeconds = await timed(async () => {
        const out = await call(service, '/data-publish/publish', { project_name: pub.project_name, project_start_time: pub.project_start_time, destination: pub.destination });
        bytes = out.data_published.reduce((n: number, f: { total_bytes: number }) => n + f.total_bytes, 0);
      });
      const published = path.join(mount, 'production', 'Bench', pub.project_start_time, 'data', 'outputs');
      const shaSeconds = await timed(() => execFileSync('sh', ['-c', `sha512sum "${published}"/* > /dev/null`]));
      publishRates.push(bytes / 2 ** 20 / publishSeconds);
      shaRates.push(bytes / 2 ** 20 / shaSeconds);
      await rm(path.join(mount, 'production', 'Bench'), { recursive: true, force: true });

      note(
        'psql + read_csv',
        (await timed(() => psqlCopy('bench_1x', baselineCsv))) +
          (await timed(async () => {
            const file = path.join(work, `baseline-${run}.duckdb`);
            const db = await DuckDBInstance.create(file);
            const conn = await db.connect();
            await conn.run(`CREATE TABLE t AS SELECT * FROM read_csv('${baselineCsv.replace(/'/g, "''")}', header = true, allow_quoted_nulls = false)`);
            conn.closeSync();
            db.closeSync();
            await rm(file, { force: true });
          })),
      );
      note('duckdb', await packageOnce(service, request('bench_1x', 'duckdb')));
    }
    const csvSize = (await stat(baselineCsv)).size;
    // The cost of each column type: its column packaged alone against psql \copy of it.
    const perType: { column: string; type: string; product: number; baseline: number }[] = [];
    for (const [column, type] of MIXED) {
      const product: number[] = [];
      const baseline: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        baseline.push(await timed(() => psqlCopy('bench_1x', baselineCsv, [column])));
        product.push(await packageOnce(service, request('bench_1x', 'csv', [column])));
      }
      perType.push({ column, type: type.replace(' PRIMARY KEY', ''), product: median(product), baseline: median(baseline) });
    }
    // Time per row at LARGE× the rows, measured as at 1×: on the same warm service, in
    // rounds of a psql copy, a CSV and a DuckDB package; the median of LARGE_RUNS
    // rounds (one 10M-row package took 14.5–21 s on one machine within an hour).
    for (let run = 0; run < LARGE_RUNS; run++) {
      note('psql large', await timed(() => psqlCopy('bench_large', baselineCsv)));
      note('csv large', await packageOnce(service, request('bench_large', 'csv')));
      note('duckdb large', await packageOnce(service, request('bench_large', 'duckdb')));
    }
    await rm(baselineCsv, { force: true });
    for (const s of services.splice(0)) await s.stop();
    // The same DuckDB package with more memory for DuckDB.
    const altEnv = { ...env, DUCKDB_MEMORY_LIMIT: ALT_LIMIT };
    const alt = await startPublish(altEnv);
    services.push(alt);
    for (let run = 0; run < RUNS; run++) note('duckdb alt', await packageOnce(alt, request('bench_1x', 'duckdb')));
    for (const s of services.splice(0)) await s.stop();
    // Peak RSS of a fresh publish service per format and size: one package each.
    const rss: Record<string, number> = {};
    const keys: Record<string, boolean> = {};
    const variants = [['csv', 'csv', env], ['duckdb', 'duckdb', env], ['duckdb alt', 'duckdb', altEnv]] as const;
    for (const [table, scale] of [['bench_1x', '1x'], ['bench_large', 'large']] as const) {
      for (const [variant, format, variantEnv] of variants) {
        const fresh = await startPublish(variantEnv);
        try {
          await packageOnce(fresh, request(table, format), format === 'duckdb' ? async (outputs) => void (keys[`${variant} ${scale}`] = await keyKept(outputs)) : undefined);
          rss[`${variant} ${scale}`] = await fresh.peakRssMiB();
        } finally {
          await fresh.stop();
        }
      }
    }

    const m = (name: string) => median(times[name]!);
    const fig = (name: string) => `${m(name).toFixed(2)} (${range(times[name]!)})`;
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    const perMillion = (seconds: number, rows: number) => ((seconds / rows) * 1e6).toFixed(2);
    console.log(`\nCSV bytes per run (psql, mixed table): ${(csvSize / 2 ** 20).toFixed(0)} MiB; load average now ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    console.log('| measure | product | baseline | ratio | target |');
    console.log('|---|---|---|---|---|');
    console.log(`| CSV package, mixed (s) | ${fig('csv')} | psql \\copy ${fig('psql')} | ${ratio(m('csv'), m('psql'))}× | ≤ 1.05× (stretch 0.9×) |`);
    console.log(`| CSV package, mixed, 2 connections (s) | ${fig('csv 2 connections')} | psql \\copy ${fig('psql')} | ${ratio(m('csv 2 connections'), m('psql'))}× | — |`);
    console.log(`| CSV package, wide (s) | ${fig('csv wide')} | psql \\copy ${fig('psql wide')} | ${ratio(m('csv wide'), m('psql wide'))}× | ≤ 1.05× |`);
    console.log(`| CSV package, wide, 2 connections (s) | ${fig('csv wide 2 connections')} | psql \\copy ${fig('psql wide')} | ${ratio(m('csv wide 2 connections'), m('psql wide'))}× | — |`);
    console.log(`| DuckDB package (s) | ${fig('duckdb')} | psql + read_csv ${fig('psql + read_csv')} | ${ratio(m('duckdb'), m('psql + read_csv'))}× | ≤ 1.0× |`);
    if (my) console.log(`| MySQL CSV package (s) | ${fig('mysql csv')} | mysql --batch --quick ${fig('mysql --batch')} | ${ratio(m('mysql csv'), m('mysql --batch'))}× | ≤ 1.25× |`);
    console.log(`| publish hashing (MiB/s) | ${median(publishRates).toFixed(0)} | sha512sum ${median(shaRates).toFixed(0)} | ${ratio(median(publishRates), median(shaRates))}× | ≥ 0.8× |`);
    for (const format of ['csv', 'duckdb']) {
      const [one, big] = [rss[`${format} 1x`]!, rss[`${format} large`]!];
      console.log(`| peak RSS of publish, ${format} (MiB) | 1×: ${one.toFixed(0)}, ${LARGE}×: ${big.toFixed(0)} | — | growth ${ratio(big, one)}× | ≤ 256, flat |`);
    }
    const kept = (variant: string) => `1×: ${keys[`${variant} 1x`] ? 'yes' : '**no**'}, ${LARGE}×: ${keys[`${variant} large`] ? 'yes' : '**no**'}`;
    console.log(`| DuckDB package keeps the primary key | ${kept('duckdb')} | — | — | yes |`);
    const perRow = (name: string) => `1×: ${perMillion(m(name), ROWS)}, ${LARGE}×: ${perMillion(m(`${name} large`), LARGE * ROWS)} (${LARGE}× runs ${range(times[`${name} large`]!)} s)`;
    const growth = (name: string) => ratio(m(`${name} large`) / LARGE, m(name));
    console.log(`| CSV package, s per million rows | ${perRow('csv')} | psql \\copy ${perRow('psql')} | growth ${growth('csv')}× (psql's ${growth('psql')}×) | flat |`);
    console.log(`| DuckDB package, s per million rows | ${perRow('duckdb')} | — | growth ${growth('duckdb')}× | flat |`);
    console.log(`\nThe cost per column type (CSV package of the column alone vs psql \\copy of it, medians; the difference per million rows):`);
    console.log('| column | type | package (s) | psql \\copy (s) | ratio | difference (s per M rows) |');
    console.log('|---|---|---|---|---|---|');
    for (const t of perType) {
      console.log(`| ${t.column} | ${t.type} | ${t.product.toFixed(2)} | ${t.baseline.toFixed(2)} | ${ratio(t.product, t.baseline)}× | ${perMillion(t.product - t.baseline, ROWS)} |`);
    }
    console.log(`\nThe trade-off, with DUCKDB_MEMORY_LIMIT=${ALT_LIMIT} instead of the default:`);
    console.log('| measure | product | baseline | ratio |');
    console.log('|---|---|---|---|');
    console.log(`| DuckDB package (s) | ${fig('duckdb alt')} | psql + read_csv ${m('psql + read_csv').toFixed(2)} | ${ratio(m('duckdb alt'), m('psql + read_csv'))}× |`);
    const [altOne, altBig] = [rss['duckdb alt 1x']!, rss['duckdb alt large']!];
    console.log(`| peak RSS of publish, duckdb (MiB) | 1×: ${altOne.toFixed(0)}, ${LARGE}×: ${altBig.toFixed(0)} | — | growth ${ratio(altBig, altOne)}× |`);
    console.log(`| primary key kept | ${kept('duckdb alt')} | — | — |`);
  } finally {
    for (const s of services) await s.stop();
    await client.end();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
    if (my) {
      await my.query(`DROP DATABASE IF EXISTS ${database}`).catch(() => undefined);
      await my.end();
    }
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}${cause}`);
  process.exit(1);
});
