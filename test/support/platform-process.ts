/**
 * Starts platform-child.ts: the whole platform in its own process, whose
 * retained heap (after a full GC) a test can read while it attacks the
 * services over HTTP. Settings come from `env` only, as in a container.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fromRoot } from '../../lib/paths.js';
import { keyFor, postJson, type Platform } from './platform.js';

/** The platform in a child process: its three services, and its heap. */
export interface PlatformProcess extends Pick<Platform, 'gateway' | 'metadata' | 'publish' | 'secretsDir' | 'writeSecret' | 'post' | 'graphql'> {
  /** The child's heap in use after a full GC, in bytes. */
  heapUsed(): Promise<number>;
  close(): Promise<void>;
}

export async function startPlatformProcess(env: NodeJS.ProcessEnv = {}): Promise<PlatformProcess> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', fromRoot('test', 'support', 'platform-child.ts')], {
    cwd: fromRoot(),
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<any> => {
    const line = await lines.next();
    if (line.done) throw new Error(`the platform process ended: ${stderr}`);
    return JSON.parse(line.value);
  };
  const { ready } = await next();
  const bases = { gateway: ready.gateway as string, metadata: ready.metadata as string, publish: ready.publish as string };
  const post = (base: string, route: string, body: unknown, key?: string) => postJson(`${base}${route}`, body, key ?? keyFor(base, bases));
  return {
    ...bases,
    secretsDir: ready.secretsDir,
    writeSecret: (name, value) => writeFile(path.join(ready.secretsDir, name), value),
    post,
    graphql: (base, query, variables, key) => post(base, '/graphql', { query, variables }, key),
    async heapUsed() {
      child.stdin.write('heap\n');
      return (await next()).heapUsed as number;
    },
    async close() {
      if (child.exitCode !== null) return;
      child.stdin.write('close\n');
      await next().catch(() => undefined);
      child.stdin.end();
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('close', resolve)));
    },
  };
}
