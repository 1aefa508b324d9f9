/**
 * Starting a service as its own process and waiting until it answers its
 * health check: one helper for the demo, the benchmarks and the tests.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { fromRoot } from '../../lib/paths.js';

export interface HealthWait {
  /** Names the service in errors. */
  name?: string;
  /** Give up after this long (default 60 s). */
  timeoutMs?: number;
  /** What to add when the process ended first (what it wrote to stderr, say). */
  exitDetail?: () => string;
}

/**
 * Polls `url` every 100 ms until it answers 200; fails as soon as the process
 * ends, or when `timeoutMs` has passed.
 */
export async function waitForHealth(child: ChildProcess, url: string, wait: HealthWait): Promise<void> {
  const deadline = Date.now() + (wait.timeoutMs ?? 60_000);
  const service = wait.name ? `the ${wait.name} service` : 'the service';
  let ended = child.exitCode !== null || child.signalCode !== null;
  child.once('exit', () => (ended = true));
  for (;;) {
    if (ended) {
      const code = child.signalCode ?? `code ${child.exitCode}`;
      throw new Error(`${service} exited (${code}) before answering ${url}${wait.exitDetail ? `: ${wait.exitDetail()}` : ''}`);
    }
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${service} did not answer ${url} within ${wait.timeoutMs ?? 60_000} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface ServiceStart extends HealthWait {
  /** node's arguments: the entry point, and whatever goes before it. */
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  stdio?: StdioOptions;
  /** Its health check, `http://127.0.0.1:{port}/healthz`. */
  healthUrl: string;
}

/** Starts `node …args` in the repository's root with exactly `env` and waits until it is healthy; stopped again if it is not. */
export async function startService(start: ServiceStart): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...start.args], { cwd: fromRoot(), env: start.env, stdio: start.stdio ?? 'ignore' });
  try {
    await waitForHealth(child, start.healthUrl, start);
  } catch (error) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    throw error;
  }
  return child;
}
