/**
 * What both benchmarks share: services run as their containers run them,
 * compiled JavaScript on plain `node` (the Dockerfile's `npm run build`), so
 * that memory and CPU figures are the product's, not a TypeScript loader's.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { fromRoot } from '../lib/paths.js';
import { startService } from '../scripts/support/service-process.js';
import type { ServiceName } from '../lib/auth/api-key.js';
import { compiledServiceArgs } from '../lib/service/launch.js';

let built = false;

/** Compiles the services into dist/ once per run (`tsc -p tsconfig.build.json`). */
export function buildServices(): void {
  if (built) return;
  process.stdout.write('compiling the services (npm run build)… ');
  execFileSync(process.execPath, [fromRoot('node_modules/typescript/bin/tsc'), '-p', fromRoot('tsconfig.build.json')], { cwd: fromRoot(), stdio: ['ignore', 'ignore', 'inherit'] });
  console.log('done');
  built = true;
}

/**
 * Starts a service's compiled entry point (`subgraphs/publish/src/main.ts` runs
 * as `dist/subgraphs/publish/src/main.js`) and waits until `{url}/healthz`
 * answers. BENCH_PROFILE=<service name> writes a V8 CPU profile of that
 * service to var/prof when it stops.
 */
export function startCompiledService(name: ServiceName, url: string, env: NodeJS.ProcessEnv, stdout: 'ignore' | 'inherit' = 'ignore'): Promise<ChildProcess> {
  buildServices();
  const profile = process.env.BENCH_PROFILE === name ? ['--cpu-prof', `--cpu-prof-dir=${fromRoot('var/prof')}`] : [];
  return startService({ name, args: [...profile, ...compiledServiceArgs(name)], env, stdio: ['ignore', stdout, 'inherit'], healthUrl: `${url}/healthz` });
}
