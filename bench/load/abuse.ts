/**
 * Phase (m) of `npm run bench:load`: normal traffic under abuse (issue #12.6).
 *
 * The same normal calls run twice for the same time: undisturbed, then while
 * the gateway (the one service exposed to callers) is abused by
 * - 300 stalled connections, kept at 300 for the whole phase (each one the
 *   gateway cuts is replaced): half send their headers a line a second and
 *   never finish them, half (with the approval key: a client gone wrong) send
 *   a chunked body a chunk a second and never end it;
 * - a stream of 4 MiB bodies of nested brackets to a path that does not
 *   exist, without a key, six at a time, each followed by the next.
 * Meanwhile `/healthz` of every service is probed every 50 ms. It reports
 * /healthz's p99 under abuse (target ≤ 100 ms), the normal calls' errors
 * (target 0) and their p50 against the undisturbed run (target ≤ 1.5×), and
 * each service's RSS once the abuse has stopped against before it (target:
 * back within 10%; the normal calls go on meanwhile, for up to 30 s). Loopback
 * only; every loop stops with the phase.
 */
import { exchange, healthzMs, postHead, stall, type Stalled } from '../../test/support/raw-http.js';
import { percentile } from './drive.js';
import { processCpuSeconds } from './services.js';

/** A service as the load benchmark runs it. */
export interface AbusedService {
  name: string;
  url: string;
  child: { pid?: number | undefined };
  /** RSS and V8 heap in use, MiB. */
  memory(): Promise<{ rss: number; heap: number }>;
}

export interface AbuseOptions {
  /** The service abused: the gateway. */
  target: AbusedService;
  /** Its key, for the endless bodies. */
  targetKey: string;
  /** Every service: probed and measured. */
  services: AbusedService[];
  seconds: number;
  /** Runs the normal calls for `seconds`, reporting each answer's latency; resolves with how many failed. */
  normal: (seconds: number, onLatency: (ms: number) => void) => Promise<number>;
  /** What the normal calls are, for the report. */
  normalLabel: string;
  stalled?: number;
  bodiesAtOnce?: number;
}

interface Run {
  latencies: number[];
  errors: number;
  healthz: Map<string, number[]>;
  /** CPU seconds each service, then this process (load generator and attacker), used during the run. */
  cpu: number[];
}

export interface AbuseFigures {
  normalLabel: string;
  undisturbed: { p50: number; errors: number; calls: number };
  abused: { p50: number; errors: number; calls: number };
  healthzP99: Array<{ service: string; undisturbed: number; abused: number }>;
  /** CPU seconds used in each run, per service and by this process. */
  cpu: Array<{ who: string; undisturbed: number; abused: number }>;
  attack: { stalledOpened: number; stalledCut: number; bodies: number; bodyStatuses: Record<string, number>; bodyP50: number };
  rss: Array<{ service: string; before: number; after: number; heapBefore: number; heapAfter: number; afterMs: number }>;
}

/** Probes /healthz of every service every 50 ms until `stop()`; the latencies per service. */
function probeHealthz(services: AbusedService[]): { stop(): Promise<Map<string, number[]>> } {
  const results = new Map(services.map((s) => [s.name, [] as number[]]));
  let running = true;
  const loops = services.map(async (s) => {
    while (running) {
      results.get(s.name)!.push(await healthzMs(s.url).catch(() => Number.POSITIVE_INFINITY));
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return results;
    },
  };
}

/** Keeps `count` stalled connections open on `url` until `stop()`. */
function stalledCrowd(url: string, key: string, count: number) {
  const open = new Set<Stalled>();
  let running = true;
  let opened = 0;
  let cut = 0;
  const one = (i: number) => {
    const s =
      i % 2 === 0
        ? stall(url, 'POST /project/validate HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Pad: y\r\n', 1000)
        : stall(url, postHead('/project/validate', { 'content-type': 'application/json', 'transfer-encoding': 'chunked', 'x-api-key': key }), '1\r\n[\r\n', 1000);
    opened++;
    open.add(s);
    void s.closed.then(() => {
      open.delete(s);
      if (!running) return;
      cut++;
      one(i);
    });
  };
  for (let i = 0; i < count; i++) one(i);
  return {
    stop() {
      running = false;
      for (const s of open) s.stop();
      return { opened, cut };
    },
  };
}

/** Sends 4 MiB bodies of nested brackets without a key to a path that does not exist, `atOnce` at a time, until `stop()`. */
function bracketStream(url: string, atOnce: number) {
  const body = Buffer.from(`${'['.repeat(2 * 1024 * 1024)}${']'.repeat(2 * 1024 * 1024)}`);
  const head = postHead('/no-such-route', { 'content-type': 'application/json', 'content-length': String(body.length) });
  const statuses: Record<string, number> = {};
  const times: number[] = [];
  let running = true;
  const loops = Array.from({ length: atOnce }, async () => {
    while (running) {
      const started = performance.now();
      const answer = await exchange(url, [head, body], 10_000);
      times.push(performance.now() - started);
      statuses[answer.status || 'none'] = (statuses[answer.status || 'none'] ?? 0) + 1;
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return { bodies: times.length, statuses, p50: percentile(times, 50) };
    },
  };
}

async function cpuNow(services: AbusedService[]): Promise<number[]> {
  const own = process.cpuUsage();
  return [...(await Promise.all(services.map((s) => processCpuSeconds(s.child.pid)))), (own.user + own.system) / 1e6];
}

async function normalRun(o: AbuseOptions): Promise<Run> {
  const latencies: number[] = [];
  const cpuBefore = await cpuNow(o.services);
  const probes = probeHealthz(o.services);
  const errors = await o.normal(o.seconds, (ms) => latencies.push(ms));
  const healthz = await probes.stop();
  const cpu = (await cpuNow(o.services)).map((c, i) => c - cpuBefore[i]!);
  return { latencies, errors, healthz, cpu };
}

/** Runs phase (m): undisturbed, then under abuse, then waits for memory to settle. */
export async function abusePhase(o: AbuseOptions): Promise<AbuseFigures> {
  await o.normal(Math.min(3, o.seconds), () => undefined); // warm-up, not counted
  const undisturbed = await normalRun(o);
  const before = await Promise.all(o.services.map((s) => s.memory()));
  const crowd = stalledCrowd(o.target.url, o.targetKey, o.stalled ?? 300);
  const bodies = bracketStream(o.target.url, o.bodiesAtOnce ?? 6);
  await new Promise((r) => setTimeout(r, 500));
  const abused = await normalRun(o);
  const stalled = crowd.stop();
  const stream = await bodies.stop();
  // The normal calls go on while memory settles (a service at rest collects no garbage), for up to 30 s.
  const settled = performance.now();
  let after = await Promise.all(o.services.map((s) => s.memory()));
  while (performance.now() - settled < 30_000 && after.some((m, i) => m.rss > before[i]!.rss * 1.1)) {
    await o.normal(1, () => undefined);
    after = await Promise.all(o.services.map((s) => s.memory()));
  }
  const afterMs = performance.now() - settled;
  return {
    normalLabel: o.normalLabel,
    undisturbed: { p50: percentile(undisturbed.latencies, 50), errors: undisturbed.errors, calls: undisturbed.latencies.length },
    abused: { p50: percentile(abused.latencies, 50), errors: abused.errors, calls: abused.latencies.length },
    healthzP99: o.services.map((s) => ({ service: s.name, undisturbed: percentile(undisturbed.healthz.get(s.name)!, 99), abused: percentile(abused.healthz.get(s.name)!, 99) })),
    cpu: [...o.services.map((s) => s.name), 'load generator and attacker'].map((who, i) => ({ who, undisturbed: undisturbed.cpu[i]!, abused: abused.cpu[i]! })),
    attack: { stalledOpened: stalled.opened, stalledCut: stalled.cut, bodies: stream.bodies, bodyStatuses: stream.statuses, bodyP50: stream.p50 },
    rss: o.services.map((s, i) => ({ service: s.name, before: before[i]!.rss, after: after[i]!.rss, heapBefore: before[i]!.heap, heapAfter: after[i]!.heap, afterMs })),
  };
}

/** Prints phase (m)'s figures against their targets. */
export function printAbuse(f: AbuseFigures): void {
  const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');
  const ratio = f.abused.p50 / f.undisturbed.p50;
  console.log(`\n(m) under abuse (300 stalled connections and 4 MiB bracket bodies to an unknown path, on the gateway):`);
  console.log(`  attack: ${f.attack.stalledOpened} stalled connections opened (300 at a time, ${f.attack.stalledCut} cut by the gateway and replaced); ${f.attack.bodies} bodies of 4 MiB sent, answered ${Object.entries(f.attack.bodyStatuses).map(([s, n]) => `${s}×${n}`).join(', ')} in ${f.attack.bodyP50.toFixed(0)} ms (p50)`);
  console.log(`  ${f.normalLabel}: p50 ${f.undisturbed.p50.toFixed(2)} ms undisturbed (${f.undisturbed.calls} calls), ${f.abused.p50.toFixed(2)} ms under abuse (${f.abused.calls} calls) = ${ratio.toFixed(2)}× (target ≤ 1.5×: ${verdict(ratio <= 1.5)})`);
  console.log(`  errors of the normal calls under abuse: ${f.abused.errors} (target 0: ${verdict(f.abused.errors === 0)}); undisturbed: ${f.undisturbed.errors}`);
  console.log(`  CPU seconds used, undisturbed → under abuse: ${f.cpu.map((c) => `${c.who} ${c.undisturbed.toFixed(1)} → ${c.abused.toFixed(1)}`).join(', ')}`);
  for (const h of f.healthzP99) console.log(`  /healthz p99 ${h.service}: ${h.abused.toFixed(1)} ms under abuse, ${h.undisturbed.toFixed(1)} ms undisturbed (target ≤ 100 ms: ${verdict(h.abused <= 100)})`);
  for (const r of f.rss) {
    console.log(`  RSS ${r.service}: ${r.before.toFixed(0)} MiB before → ${r.after.toFixed(0)} MiB ${(r.afterMs / 1000).toFixed(0)} s after (target: within 10%: ${verdict(r.after <= r.before * 1.1)}); V8 heap in use ${r.heapBefore.toFixed(0)} → ${r.heapAfter.toFixed(0)} MiB`);
  }
}
