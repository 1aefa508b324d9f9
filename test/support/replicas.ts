/**
 * The platform as a deployment with several replicas runs it, every service a
 * real process (so that a test can SIGKILL one): one metadata service, two
 * publish replicas and two gateways, all on ONE platform database (a fresh
 * database per test file) and ONE filestore mount folder shared by both
 * publish replicas (as Azure Files is shared by the pods). Gateway A's publish
 * subgraph is replica 1 and gateway B's is replica 2; which replica RUNS a job
 * is up to the job queue (any replica takes any job).
 *
 * Each publish replica has its own name (PUBLISH_REPLICA_NAME: `publish-1`,
 * `publish-2`), as two pods have their own host names: on the shared mount
 * their project locks are then judged as another host's (never by process id),
 * as on AKS, although both run on this machine.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { apiKeySecretNames } from '../../lib/auth/api-key.js';
import { createPgDatabase, pgSettings, type TestPgDatabase } from './databases.js';
import { keys, postJson, type Answer } from './platform.js';
import { freePort, spawnService, stopService, waitForHealthy, type ServiceProcess, type ServiceProcessName } from './processes.js';
import { writeSourceSecrets } from './requests.js';

/** One service process: where it listens, and the process (replaced when restarted). */
export interface RunningService {
  name: string;
  base: string;
  port: number;
  process: ServiceProcess;
  /** Where it appends its audit events (one file per process, read together). */
  auditPath: string;
}

export interface ReplicaPlatform {
  /** The platform database every service uses. */
  store: TestPgDatabase;
  root: string;
  secretsDir: string;
  /** The shared filestore mount (staging/ and production/). */
  mountDir: string;
  metadata: RunningService;
  /** publish[0] is `publish-1` (gateway A's subgraph), publish[1] is `publish-2` (gateway B's). */
  publish: [RunningService, RunningService];
  /** gateways[0] (A) routes to publish-1, gateways[1] (B) to publish-2. */
  gateways: [RunningService, RunningService];
  /** The publish replica by its name (Job.replica). */
  replica(name: string): RunningService;
  /** GraphQL through a gateway. */
  graphql(gateway: RunningService, query: string, variables?: Record<string, unknown>): Promise<Answer>;
  /** POSTs JSON to a service with its key. */
  post(service: RunningService, route: string, body: unknown): Promise<Answer>;
  /** SIGKILL: nothing of the process runs any more; resolves once it is gone. */
  kill(service: RunningService): Promise<void>;
  /** Starts the service again (same name, port and settings) and waits until it is ready. */
  restart(service: RunningService): Promise<void>;
  /** Every audit event the services wrote so far. */
  auditEvents(): Promise<any[]>;
  /** What every service process wrote (its JSON log lines), for diagnostics. */
  logs(): string;
  close(): Promise<void>;
}

export interface ReplicaPlatformOptions {
  /** Settings of both publish replicas (job heartbeats, abandonment, concurrency). */
  publishEnv?: NodeJS.ProcessEnv;
}

const keyOf = (kind: ServiceProcessName) => (kind === 'approval' ? keys.approval : kind === 'metadata' ? keys.metadata : keys.publish);

export async function startReplicaPlatform(options: ReplicaPlatformOptions = {}): Promise<ReplicaPlatform> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'cr8tor-replicas-'));
  const secretsDir = path.join(root, 'secrets');
  const mountDir = path.join(root, 'lsc');
  await mkdir(secretsDir);
  for (const [service, name] of Object.entries(apiKeySecretNames)) await writeFile(path.join(secretsDir, name), keys[service as keyof typeof keys]);
  await writeSourceSecrets({ writeSecret: (name, value) => writeFile(path.join(secretsDir, name), value) }, 'postgresql');
  await mkdir(path.join(mountDir, 'staging'), { recursive: true });
  await mkdir(path.join(mountDir, 'production'), { recursive: true });
  const store = await createPgDatabase('replicas_store');
  const storeEnv = { PLATFORM_DATABASE_URL: `postgresql://${pgSettings.user}@${pgSettings.host}:${pgSettings.port}/${store.database}` };
  const common = { SECRETS_MNT_PATH: secretsDir, LOG_LEVEL: 'info', SHUTDOWN_GRACE_MS: '2000' };
  const envs = new Map<RunningService, { kind: ServiceProcessName; env: NodeJS.ProcessEnv }>();
  const past: string[] = [];
  const started: RunningService[] = [];

  const spawn = async (kind: ServiceProcessName, name: string, env: (port: number, audit: string) => NodeJS.ProcessEnv): Promise<RunningService> => {
    const port = await freePort();
    const auditPath = path.join(root, `audit-${name}.jsonl`);
    const full = { ...common, AUDIT_LOG_PATH: auditPath, ...env(port, auditPath) };
    const service: RunningService = { name, base: `http://127.0.0.1:${port}`, port, auditPath, process: spawnService(kind, full) };
    envs.set(service, { kind, env: full });
    started.push(service);
    return service;
  };
  const ready = (s: RunningService) => waitForHealthy(s.process, `${s.base}/readyz`);

  try {
    // The metadata service first: it migrates the platform database (the publish replicas then find it up to date).
    const metadata = await spawn('metadata', 'metadata', (port) => ({ ...storeEnv, METADATA_CONTAINER_PORT: String(port) }));
    await ready(metadata);
    const publishOf = (name: string) =>
      spawn('publish', name, (port) => ({ ...storeEnv, ...options.publishEnv, PUBLISH_CONTAINER_PORT: String(port), PUBLISH_REPLICA_NAME: name, TARGET_STORAGE_ACCOUNT_LSC_SDE_MNT_PATH: mountDir }));
    const publish: [RunningService, RunningService] = [await publishOf('publish-1'), await publishOf('publish-2')];
    await Promise.all(publish.map(ready));
    const gatewayTo = (name: string, to: RunningService) =>
      spawn('approval', name, (port) => ({
        APPROVAL_PORT: String(port),
        METADATA_CONTAINER_NAME: '127.0.0.1',
        METADATA_CONTAINER_PORT: String(metadata.port),
        PUBLISH_CONTAINER_NAME: '127.0.0.1',
        PUBLISH_CONTAINER_PORT: String(to.port),
      }));
    const gateways: [RunningService, RunningService] = [await gatewayTo('gateway-a', publish[0]), await gatewayTo('gateway-b', publish[1])];
    await Promise.all(gateways.map((g) => waitForHealthy(g.process, `${g.base}/healthz`)));

    const kill = async (s: RunningService) => {
      if (s.process.child.exitCode === null && s.process.child.signalCode === null) s.process.child.kill('SIGKILL');
      await s.process.exited;
    };
    return {
      store,
      root,
      secretsDir,
      mountDir,
      metadata,
      publish,
      gateways,
      replica(name) {
        const found = publish.find((p) => p.name === name);
        if (!found) throw new Error(`no publish replica is named '${name}'`);
        return found;
      },
      graphql: (gateway, query, variables) => postJson(`${gateway.base}/graphql`, { query, variables }, keys.approval),
      post: (service, route, body) => postJson(`${service.base}${route}`, body, keyOf(envs.get(service)!.kind)),
      kill,
      async restart(s) {
        await kill(s);
        past.push(s.process.stdout(), s.process.stderr());
        const { kind, env } = envs.get(s)!;
        s.process = spawnService(kind, env);
        await ready(s);
      },
      async auditEvents() {
        const texts = await Promise.all(started.map((s) => readFile(s.auditPath, 'utf8').catch(() => '')));
        return texts.flatMap((t) => t.split('\n').filter(Boolean).map((line) => JSON.parse(line).audit));
      },
      logs: () => [...past, ...started.flatMap((s) => [s.process.stdout(), s.process.stderr()])].join('\n'),
      async close() {
        await Promise.all([...gateways, ...publish, metadata].map((s) => stopService(s.process).catch(() => undefined)));
        await store.drop();
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await Promise.all(started.map((s) => (s.process.child.exitCode === null ? (s.process.child.kill('SIGKILL'), s.process.exited) : undefined)));
    await store.drop().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}
