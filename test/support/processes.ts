/**
 * Services as real processes (`node --import tsx <service>/main.ts`), started
 * the way a container starts them: settings from the environment only.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../scripts/support/free-port.js';
import { fromRoot } from '../../lib/paths.js';
import { waitForHealth } from '../../scripts/support/service-process.js';
import { SERVICE_NODE_FLAGS, sourceServiceArgs } from '../../lib/service/launch.js';
import type { ServiceName } from '../../lib/auth/api-key.js';

/** One free-port helper for the whole repository (scripts/support/free-port.ts). */
export { freePort };

export type ServiceProcessName = ServiceName;

/**
 * Runs `node` (this one, or another release's) with each service's Node.js
 * options (lib/service/launch.ts) and checks that it started, saw them, and
 * warned of none: a misspelt or removed V8 option stops it ("bad option", exit 9).
 */
export async function assertNodeTakesServiceFlags(node: string, release: string): Promise<void> {
  for (const [service, flags] of Object.entries(SERVICE_NODE_FLAGS)) {
    const { stdout, stderr } = await promisify(execFile)(node, [...flags, '-e', 'process.stdout.write(JSON.stringify(process.execArgv))']);
    assert.deepEqual((JSON.parse(stdout) as string[]).slice(0, flags.length), flags, `${service}: ${release} saw its options`);
    assert.equal(stderr, '', `${service}: no warning on ${release}`);
  }
}

/** Only what a service needs to run, so that the test runner's environment cannot leak settings in. */
function baseEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'silent', BIND_HOST: '127.0.0.1' };
}

export interface ServiceProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number | null>;
}

/** Where the program `name` is on the PATH (an executable file), or undefined. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return (env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, name))
    .find((file) => {
      try {
        accessSync(file, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

/**
 * The `skip` option of a test that needs a program outside the repository: a
 * reason when it is missing (`found` undefined) and this is not CI, false
 * otherwise. In CI (CI=true) the test is not skipped: it runs and fails saying
 * what is missing.
 */
export function skipWithoutProgram(name: string, found: string | undefined, install: string, env: NodeJS.ProcessEnv = process.env): string | false {
  if (found || env.CI === 'true') return false;
  return `${name} is not installed (${install}); in CI this test fails instead`;
}

/** Starts `command` in the repository's root (or `cwd`) with exactly `env`, collecting what it writes. */
export function spawnCollecting(command: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd: string = fromRoot()): ServiceProcess {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Starts a service process with the given settings (on top of a minimal environment). */
export function spawnService(service: ServiceProcessName, env: NodeJS.ProcessEnv): ServiceProcess {
  return spawnCollecting(process.execPath, sourceServiceArgs(service), { ...baseEnv(), ...env });
}

/**
 * Runs `command` in the repository's root (or `cwd`) with exactly `env` until
 * it ends (killed after `timeoutMs`); gives its exit code and what it wrote.
 */
export async function runToEnd(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
  cwd: string = fromRoot(),
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = spawnCollecting(command, args, env, cwd);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      p.child.once('error', reject);
      void p.exited.then(resolve);
    });
    return { code, stdout: p.stdout(), stderr: p.stderr() };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a service that is expected to refuse to start; gives its exit code and stderr. */
export async function runToExit(service: ServiceProcessName, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  const p = spawnService(service, env);
  const code = await p.exited;
  return { code, stderr: p.stderr() };
}

/**
 * Waits until `url` answers 200 (polling), or fails with the process's stderr
 * if it exits first.
 */
export function waitForHealthy(p: ServiceProcess, url: string): Promise<void> {
  return waitForHealth(p.child, url, { timeoutMs: 120_000, exitDetail: p.stderr });
}

/** Stops a service started by {@link spawnService} with SIGTERM and gives its exit code. */
export async function stopService(p: ServiceProcess): Promise<number | null> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  return p.exited;
}
