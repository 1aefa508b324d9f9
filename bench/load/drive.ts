/**
 * Running load phases for `npm run bench:load` and summing up what they
 * measured: throughput, latency percentiles, errors, and each service's memory.
 */
import { fire, type Phase } from './fire.js';
import type { Memory, Service } from './services.js';

/** One phase's figures. */
export interface Figures {
  label: string;
  connections: number;
  seconds: number;
  requests: number;
  throughput: number;
  p50: number;
  p99: number;
  errors: number;
  detail: string;
  /** Memory per service at the start, middle and end of the phase. */
  memory: Record<string, [Memory, Memory, Memory]>;
  /** CPU milliseconds each service spent per answered request during the phase (its warm-up left out). */
  cpuPerRequest: Record<string, number>;
}

/** The p-th percentile (nearest rank) of `values`; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Tally {
  latencies: number[];
  bad: string[];
  errors: number;
  timeouts: number;
  mismatches: number;
  duration: number;
  statuses: Map<string, number>;
  cpu: number[];
}

/**
 * Runs `phases` for their `seconds` each, cut in `slices` that alternate
 * between them (so a slow drift of the machine weighs on each alike), after a
 * warm-up of each (not counted: JIT, connection set-up, caches). RSS of every
 * service is read at the start, the middle and the end; the CPU time each
 * spends (and each of `alsoCpu`, services some phases call that are not among
 * `services`), around every slice.
 */
export async function drive(phases: Phase[], services: Service[], warmupSeconds: number, slices = 1, alsoCpu: readonly Pick<Service, 'name' | 'cpuSeconds'>[] = []): Promise<Figures[]> {
  const measured = [...services, ...alsoCpu];
  for (const phase of phases) await fire(phase, warmupSeconds, () => undefined, () => undefined);
  const tallies: Tally[] = phases.map(() => ({ latencies: [], bad: [], errors: 0, timeouts: 0, mismatches: 0, duration: 0, statuses: new Map(), cpu: measured.map(() => 0) }));
  const cpu = () => Promise.all(measured.map((s) => s.cpuSeconds()));
  const sample = async () => Promise.all(services.map((s) => s.memory()));
  const atStart = await sample();
  let atMiddle: Memory[] = [];
  const total = phases.reduce((n, p) => n + p.seconds, 0);
  const middle = setTimeout(() => void sample().then((r) => (atMiddle = r)), (total * 1000) / 2);
  for (let slice = 0; slice < slices; slice++) {
    for (const [i, phase] of phases.entries()) {
      const tally = tallies[i]!;
      const cpuBefore = await cpu();
      const result = await fire(phase, phase.seconds / slices, (_status, ms) => tally.latencies.push(ms), (body) => void (tally.bad.length < 3 && tally.bad.push(body.slice(0, 300))));
      const cpuAfter = await cpu();
      cpuAfter.forEach((seconds, k) => (tally.cpu[k]! += seconds - cpuBefore[k]!));
      tally.errors += result.errors;
      tally.timeouts += result.timeouts;
      tally.mismatches += result.mismatches;
      tally.duration += result.duration;
      for (const [code, { count }] of Object.entries(result.statusCodeStats)) tally.statuses.set(code, (tally.statuses.get(code) ?? 0) + count);
    }
  }
  clearTimeout(middle);
  const atEnd = await sample();
  const memory: Figures['memory'] = {};
  services.forEach((s, i) => (memory[s.name] = [atStart[i]!, atMiddle[i] ?? { rss: NaN, heap: NaN }, atEnd[i]!]));
  return phases.map((phase, i) => {
    const t = tallies[i]!;
    const statuses = [...t.statuses].map(([code, count]) => `${code}×${count}`).join(', ');
    const detail = [`statuses ${statuses || 'none'}`, `connection errors ${t.errors} (timeouts ${t.timeouts})`, `not a success ${t.mismatches}`, ...t.bad.map((b) => `e.g. ${b}`)].join('; ');
    return {
      label: phase.label,
      connections: phase.connections,
      seconds: t.duration,
      requests: t.latencies.length,
      throughput: t.latencies.length / t.duration,
      p50: percentile(t.latencies, 50),
      p99: percentile(t.latencies, 99),
      errors: t.errors + t.mismatches,
      detail,
      memory,
      cpuPerRequest: Object.fromEntries(measured.map((s, k) => [s.name, (t.cpu[k]! * 1000) / t.latencies.length])),
    };
  });
}
