/**
 * The services as `npm run bench:load` runs them: compiled, as their
 * containers run them, with what it measures of each: RSS and V8 heap in use,
 * and the heap still reachable after a full garbage collection.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { startCompiledService } from '../services.js';

/** The clock ticks per second /proc reports CPU time in (USER_HZ: 100 on Linux, whatever the kernel's HZ). */
const USER_HZ = 100;

/** CPU time (user and system) a process has used so far, in seconds; NaN when it is gone. */
export async function processCpuSeconds(pid: number | undefined): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th (fields 14 and 15 of proc(5)).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}

export interface Memory {
  rss: number;
  heap: number;
}

export interface Service {
  name: string;
  url: string;
  child: ChildProcess;
  /** Resident set size (/proc/<pid>/status VmRSS) and V8 heap in use (its /metrics), in MiB. */
  memory(): Promise<Memory>;
  /** The heap still reachable after a full garbage collection, in MiB (a heap snapshot). */
  retainedHeap(): Promise<number>;
  /** CPU time the process has used so far, user and system, in seconds (/proc/<pid>/stat, 10 ms ticks). */
  cpuSeconds(): Promise<number>;
  stop(): Promise<void>;
}

export async function startService(name: 'approval' | 'metadata' | 'publish', port: number, env: NodeJS.ProcessEnv, snapshots: string): Promise<Service> {
  const snapshotDir = path.join(snapshots, name);
  await mkdir(snapshotDir, { recursive: true });
  const url = `http://127.0.0.1:${port}`;
  const child = await startCompiledService(name, url, {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    BIND_HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapshotDir}`,
    ...env,
  });
  return {
    name,
    url,
    child,
    async memory() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
      const metrics = await fetch(`${url}/metrics`).then((r) => r.text(), () => '');
      const heap = Number(/^cr8tor_nodejs_heap_size_used_bytes(?:{[^}]*})? (\S+)/m.exec(metrics)?.[1] ?? NaN) / 2 ** 20;
      return { rss, heap };
    },
    cpuSeconds: () => processCpuSeconds(child.pid),
    async retainedHeap() {
      const before = new Set(await readdir(snapshotDir));
      child.kill('SIGUSR2');
      let file: string | undefined;
      for (let i = 0; !file; i++) {
        if (i > 600) throw new Error(`${name} wrote no heap snapshot`);
        await new Promise((r) => setTimeout(r, 50));
        file = (await readdir(snapshotDir)).find((f) => !before.has(f));
      }
      // The snapshot is written on the service's main thread: once it answers again, the file is whole.
      await fetch(`${url}/healthz`);
      const snapshotPath = path.join(snapshotDir, file);
      const snapshot = JSON.parse(await readFile(snapshotPath, 'utf8')) as { snapshot: { meta: { node_fields: string[] } }; nodes: number[] };
      await rm(snapshotPath, { force: true });
      const fields = snapshot.snapshot.meta.node_fields;
      const selfSize = fields.indexOf('self_size');
      let bytes = 0;
      for (let i = selfSize; i < snapshot.nodes.length; i += fields.length) bytes += snapshot.nodes[i]!;
      return bytes / 2 ** 20;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
