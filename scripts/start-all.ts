/**
 * `npm start`: runs the three services as child processes (metadata, publish,
 * then the gateway), each with the same environment, their output interleaved.
 * SIGTERM or SIGINT stops all three; if one exits, the others are stopped too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fromRoot } from '../lib/paths.js';

const services = [
  ['metadata', 'subgraphs/metadata/src/main.ts'],
  ['publish', 'subgraphs/publish/src/main.ts'],
  ['approval', 'gateway/src/main.ts'],
] as const;

const children: ChildProcess[] = [];
let stopping = false;

function stopAll(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 100).unref();
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(() => process.exit(code));
}

for (const [name, entry] of services) {
  const child = spawn(process.execPath, ['--import', 'tsx', fromRoot(entry)], { stdio: 'inherit', env: process.env, cwd: process.cwd() });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${name} service exited (${signal ?? `code ${code}`}); stopping the others.`);
      stopAll(code ?? 1);
    }
  });
  children.push(child);
}

process.on('SIGTERM', () => stopAll(0));
process.on('SIGINT', () => stopAll(0));
