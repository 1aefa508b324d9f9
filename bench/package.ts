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
 * - peak RSS (VmHWM) of the publish service process, and seconds per million
 *   rows, at 1× and BENCH_LARGE_FACTOR× the rows;
 * - publish hashing throughput vs `sha512sum` of the same files;
 * - the trade-off DUCKDB_MEMORY_LIMIT sets: the DuckDB package's time and
 *   peak RSS again with BENCH_DUCKDB_ALT_LIMIT (default 256MB) instead of the
 *   default 64MB.
 *
 * Each figure is the median of BENCH_RUNS runs (default 5). The publish service
 * runs as its own process, called over HTTP like the gateway calls it.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { freePort, spawnService } from './services.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 2_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const ALT_LIMIT = process.env.BENCH_DUCKDB_ALT_LIMIT ?? '256MB';
const pgConn = {
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  user: process.env.PGUSER ?? 'postgres',
  password: process.env.PGPASSWORD ?? '',
};
const COLUMNS = ['id', 'n_int', 'label', 'category', 'amount', 'score', 'created_at', 'day', 'flag', 'note'];

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function range(values: number[]): string {
  return `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;
}

async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function generate(client: pg.Client, table: string, rows: number): Promise<void> {
  await client.query(`CREATE TABLE ${table} (
    id bigint PRIMARY KEY, n_int integer, label text, category text, amount numeric(12,2), score double precision,
    created_at timestamptz, day date, flag boolean, note text)`);
  await client.query(`INSERT INTO ${table}
    SELECT g, ((g::bigint * 7919) % 1000000)::int, 'label-' || g, (ARRAY['alpha','beta','gamma','delta'])[1 + g % 4],
           round(((g::bigint * 37) % 1000000) / 100.0, 2), (g % 9973) / 7.0,
           TIMESTAMPTZ '2020-01-01 00:00:00+00' + g * INTERVAL '1 second 1234 microseconds',
           DATE '2000-01-01' + g % 9000, g % 3 = 0,
           CASE WHEN g % 10 = 0 THEN NULL WHEN g % 10 = 1 THEN 'has, a comma and "quotes"' ELSE 'plain note ' || g END
    FROM generate_series(1, ${rows}) AS g`);
  await client.query(`ANALYZE ${table}`);
  await client.query(`SELECT count(*) FROM ${table}`);
}

interface Service {
  url: string;
  child: ChildProcess;
  peakRssMiB(): Promise<number>;
  stop(): Promise<void>;
}

async function startPublish(env: NodeJS.ProcessEnv): Promise<Service> {
  const port = await freePort();
  const child = spawnService('publish', 'subgraphs/publish/src/main.ts', { ...env, PUBLISH_CONTAINER_PORT: String(port), BIND_HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      if (i > 100) throw new Error('publish service did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
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
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
  console.log(`rows: ${ROWS.toLocaleString('en')} (and ${(2 * ROWS).toLocaleString('en')} for the memory check), runs: ${RUNS}\n`);
  const work = await mkdtemp(path.join(os.tmpdir(), 'cr8tor-bench-'));
  const database = `bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ ...pgConn, database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const client = new pg.Client({ ...pgConn, database });
  await client.connect();
  let service: Service | undefined;
  try {
    process.stdout.write('generating tables… ');
    await generate(client, 'bench_1x', ROWS);
    await generate(client, 'bench_2x', 2 * ROWS);
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
    const env = { ...process.env, SECRETS_MNT_PATH: secrets, TARGET_STORAGE_ACCOUNT_BENCH_SDE_MNT_PATH: mount, DLTHUB_PIPELINE_WORKING_DIR: work };

    const request = (table: string, format: 'csv' | 'duckdb', run: number) => ({
      project_name: 'Bench',
      project_start_time: `20250101_0000${String(run).padStart(2, '0')}`,
      destination: { name: 'BENCH', type: 'filestore', format },
      source: { type: 'postgresql', host_url: pgConn.host, port: pgConn.port, database, credentials: { username_key: 'bench-user', password_key: 'bench-password' } },
      dataset: { name: 'bench', schema_name: 'public', tables: [{ name: table, columns: COLUMNS.map((name) => ({ name })) }] },
    });
    const call = async (svc: Service, route: string, body: unknown) => {
      const res = await fetch(`${svc.url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(body) });
      const json = (await res.json()) as { payload: any };
      if (!res.ok) throw new Error(`${route}: ${res.status} ${JSON.stringify(json.payload)}`);
      return json.payload;
    };
    const psqlCopy = (table: string, out: string) =>
      execFileSync('sh', ['-c', `psql -X -q -h "$PGH" -p "$PGP" -U "$PGU" -d "$PGD" -c "\\copy (SELECT ${COLUMNS.join(', ')} FROM ${table}) TO STDOUT WITH (FORMAT csv, HEADER)" > "$OUT"`], {
        env: { ...process.env, PGH: pgConn.host, PGP: String(pgConn.port), PGU: pgConn.user, PGD: database, OUT: out, PGPASSWORD: pgConn.password },
      });

    // CSV
    const psqlTimes: number[] = [];
    const csvTimes: number[] = [];
    const duckTimes: number[] = [];
    const baselineDuckTimes: number[] = [];
    const publishRates: number[] = [];
    const shaRates: number[] = [];
    const baselineCsv = path.join(work, 'baseline.csv');
    service = await startPublish(env);
    for (let run = 0; run < RUNS; run++) {
      psqlTimes.push(await timed(() => psqlCopy('bench_1x', baselineCsv)));
      csvTimes.push(await timed(() => call(service!, '/data-publish/package', request('bench_1x', 'csv', run))));
      // publish: move + SHA-512 of each byte once, vs sha512sum over the same bytes
      const pub = request('bench_1x', 'csv', run);
      let bytes = 0;
      const publishSeconds = await timed(async () => {
        const out = await call(service!, '/data-publish/publish', { project_name: pub.project_name, project_start_time: pub.project_start_time, destination: pub.destination });
        bytes = out.data_published.reduce((n: number, f: { total_bytes: number }) => n + f.total_bytes, 0);
      });
      const published = path.join(mount, 'production', 'Bench', pub.project_start_time, 'data', 'outputs');
      const shaSeconds = await timed(() => execFileSync('sh', ['-c', `sha512sum "${published}"/* > /dev/null`]));
      publishRates.push(bytes / 2 ** 20 / publishSeconds);
      shaRates.push(bytes / 2 ** 20 / shaSeconds);
      await rm(path.join(mount, 'production', 'Bench'), { recursive: true, force: true });

      baselineDuckTimes.push(
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
      duckTimes.push(await timed(() => call(service!, '/data-publish/package', request('bench_1x', 'duckdb', run))));
    }
    const csvSize = (await stat(baselineCsv)).size;
    await service.stop();
    service = undefined;
    // The same DuckDB package with more memory for DuckDB.
    const altEnv = { ...env, DUCKDB_MEMORY_LIMIT: ALT_LIMIT };
    const altDuckTimes: number[] = [];
    service = await startPublish(altEnv);
    for (let run = 0; run < RUNS; run++) altDuckTimes.push(await timed(() => call(service!, '/data-publish/package', request('bench_1x', 'duckdb', run))));
    await service.stop();
    service = undefined;
    // Peak RSS of a fresh publish service per format and size: one package each.
    const rss: Record<string, number> = {};
    const variants = [['csv', 'csv', env], ['duckdb', 'duckdb', env], ['duckdb alt', 'duckdb', altEnv]] as const;
    for (const [table, scale] of [['bench_1x', '1x'], ['bench_2x', '2x']] as const) {
      for (const [variant, format, variantEnv] of variants) {
        const fresh = await startPublish(variantEnv);
        try {
          await call(fresh, '/data-publish/package', request(table, format, 50));
          rss[`${variant} ${scale}`] = await fresh.peakRssMiB();
        } finally {
          await fresh.stop();
        }
      }
    }
    const ratio = (a: number, b: number) => (a / b).toFixed(2);
    console.log(`\nCSV bytes per run: ${(csvSize / 2 ** 20).toFixed(0)} MiB`);
    console.log('| measure | product | baseline | ratio | target |');
    console.log('|---|---|---|---|---|');
    console.log(`| CSV package (s) | ${median(csvTimes).toFixed(2)} (${range(csvTimes)}) | psql \\copy ${median(psqlTimes).toFixed(2)} (${range(psqlTimes)}) | ${ratio(median(csvTimes), median(psqlTimes))}× | ≤ 1.25× |`);
    console.log(`| DuckDB package (s) | ${median(duckTimes).toFixed(2)} (${range(duckTimes)}) | psql + read_csv ${median(baselineDuckTimes).toFixed(2)} (${range(baselineDuckTimes)}) | ${ratio(median(duckTimes), median(baselineDuckTimes))}× | ≤ 1.0× |`);
    console.log(`| publish hashing (MiB/s) | ${median(publishRates).toFixed(0)} | sha512sum ${median(shaRates).toFixed(0)} | ${ratio(median(publishRates), median(shaRates))}× | ≥ 0.8× |`);
    for (const format of ['csv', 'duckdb']) {
      const [one, two] = [rss[`${format} 1x`]!, rss[`${format} 2x`]!];
      console.log(`| peak RSS of publish, ${format} (MiB) | 1×: ${one.toFixed(0)}, 2×: ${two.toFixed(0)} | — | growth ${ratio(two, one)}× | ≤ 256, flat |`);
    }
    console.log(`\nThe trade-off, with DUCKDB_MEMORY_LIMIT=${ALT_LIMIT} instead of the default:`);
    console.log('| measure | product | baseline | ratio |');
    console.log('|---|---|---|---|');
    console.log(`| DuckDB package (s) | ${median(altDuckTimes).toFixed(2)} (${range(altDuckTimes)}) | psql + read_csv ${median(baselineDuckTimes).toFixed(2)} | ${ratio(median(altDuckTimes), median(baselineDuckTimes))}× |`);
    const [altOne, altTwo] = [rss['duckdb alt 1x']!, rss['duckdb alt 2x']!];
    console.log(`| peak RSS of publish, duckdb (MiB) | 1×: ${altOne.toFixed(0)}, 2×: ${altTwo.toFixed(0)} | — | growth ${ratio(altTwo, altOne)}× |`);
  } finally {
    if (service) await service.stop();
    await client.end();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
