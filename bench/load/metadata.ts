/**
 * Phases (n1) and (n) of `npm run bench:load`: `datasetMetadata` through the
 * gateway with the metadata service's catalog connections pooled (the
 * product's default) against the same call with pooling off
 * (SOURCE_METADATA_POOL=off, a connection per request as before issue #16
 * item 5), both measured in the same run, alternating in slices so that a
 * drift of the machine's load weighs on both alike: p50/p99 with one client,
 * and throughput with many. The unpooled side is a second metadata service
 * and a second gateway over it, started here, on the same source.
 *
 * Then (o): the same call rotating over twice SOURCE_METADATA_POOLS_MAX
 * distinct logins (roles of their own, each with its own password), so that
 * every call finds its pool evicted: the sessions the publisher holds on the
 * source stay within the bound, and the metadata service's memory flat.
 *
 * Targets: one client p50 ≤ 4 ms pooled; with many clients ≥ 5× the unpooled
 * throughput; 0 errors; memory bounded with many distinct sources.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';

/** What the phases need of a figure of load.ts. */
export interface PoolFigures {
  label: string;
  throughput: number;
  p50: number;
  p99: number;
  errors: number;
}

/** A service process of load.ts. */
interface Started {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts a service as load.ts does: its name, port and environment (its entry point and options from lib/service/launch.ts). */
export type StartService<S extends Started> = (name: 'approval' | 'metadata', port: number, env: NodeJS.ProcessEnv) => Promise<S>;

/**
 * A metadata service with SOURCE_METADATA_POOL=off and a gateway over it;
 * `common` is the environment of the measured services. Both are answered, so
 * that the unpooled phases' CPU is read from the processes that serve them.
 */
export async function startUnpooled<S extends Started>(start: StartService<S>, common: Record<string, string>, freePort: () => Promise<number>): Promise<{ gateway: S; metadata: S; stop(): Promise<void> }> {
  const [metadataPort, gatewayPort] = [await freePort(), await freePort()];
  const env = { ...common, METADATA_CONTAINER_PORT: String(metadataPort) };
  const metadata = await start('metadata', metadataPort, { ...env, SOURCE_METADATA_POOL: 'off' });
  const gateway = await start('approval', gatewayPort, { ...env, APPROVAL_PORT: String(gatewayPort), METADATA_CONTAINER_NAME: '127.0.0.1', PUBLISH_CONTAINER_NAME: '127.0.0.1' });
  return {
    gateway,
    metadata,
    async stop() {
      await gateway.stop();
      await metadata.stop();
    },
  };
}

/** The phases: with one client, then with `clients`; each a pair, pooled then unpooled. */
export function poolPhases<T extends object>(pooled: T, unpooled: T, clients: number, seconds: number, oneClientSeconds: number) {
  return {
    one: [
      { label: '(n1) datasetMetadata via gateway, catalog pooled', ...pooled, connections: 1, seconds: oneClientSeconds },
      { label: '(n1) datasetMetadata via gateway, SOURCE_METADATA_POOL=off', ...unpooled, connections: 1, seconds: oneClientSeconds },
    ],
    many: [
      { label: '(n) datasetMetadata via gateway, catalog pooled', ...pooled, connections: clients, seconds },
      { label: '(n) datasetMetadata via gateway, SOURCE_METADATA_POOL=off', ...unpooled, connections: clients, seconds },
    ],
  };
}

/** Prints the pooled figures against the unpooled ones of the same run, with the targets. */
export function printPoolVerdict(one: Array<PoolFigures | undefined>, many: Array<PoolFigures | undefined>, clients: number): void {
  const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
  console.log('\ncatalog connection pool (pooled against SOURCE_METADATA_POOL=off, same run):');
  const [pooled1, unpooled1] = one;
  if (pooled1 && unpooled1) {
    console.log(`  1 client: p50 ${pooled1.p50.toFixed(2)} ms against ${unpooled1.p50.toFixed(2)} ms (${(unpooled1.p50 / pooled1.p50).toFixed(1)}× faster; target ≤ 4 ms: ${met(pooled1.p50 <= 4)}), p99 ${pooled1.p99.toFixed(2)} ms against ${unpooled1.p99.toFixed(2)} ms`);
  }
  const [pooled, unpooled] = many;
  if (pooled && unpooled) {
    const ratio = pooled.throughput / unpooled.throughput;
    console.log(`  ${clients} clients: ${pooled.throughput.toFixed(0)} req/s against ${unpooled.throughput.toFixed(0)} req/s (${ratio.toFixed(1)}×; target ≥ 5×: ${met(ratio >= 5)}), p50 ${pooled.p50.toFixed(2)} ms against ${unpooled.p50.toFixed(2)} ms`);
  }
  const errors = [...one, ...many].reduce((n, f) => n + (f?.errors ?? 0), 0);
  console.log(`  errors: ${errors} (target 0: ${met(errors === 0)})`);
}

/** The default SOURCE_METADATA_POOLS_MAX and SOURCE_METADATA_POOL_CONNECTIONS (lib/config/settings/sources.ts), which the benchmark runs with. */
const POOLS_MAX = 100;
const PER_POOL = 5;

/**
 * Creates `count` login roles with passwords of their own on the source and
 * their secrets; returns, for each, the secret names a request gives.
 */
export async function createLogins(client: pg.Client, secretsDir: string, count = 2 * POOLS_MAX): Promise<Array<{ usernameKey: string; passwordKey: string }>> {
  const logins: Array<{ usernameKey: string; passwordKey: string }> = [];
  for (let i = 0; i < count; i++) {
    const user = `bench_login_${i}`;
    const password = randomBytes(12).toString('hex');
    await client.query(`CREATE ROLE ${pg.escapeIdentifier(user)} LOGIN PASSWORD ${pg.escapeLiteral(password)}`);
    await writeFile(path.join(secretsDir, `${user}-user`), user);
    await writeFile(path.join(secretsDir, `${user}-password`), password);
    logins.push({ usernameKey: `${user}-user`, passwordKey: `${user}-password` });
  }
  return logins;
}

/** The publisher's sessions of the benchmark's logins on the source now, and the most the pools may hold. */
export async function loginSessions(client: pg.Client): Promise<{ sessions: number; bound: number }> {
  const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE usename LIKE 'bench\\_login\\_%' AND application_name = 'cr8tor-publisher'");
  return { sessions: Number(rows[0]!.n), bound: POOLS_MAX * PER_POOL };
}
