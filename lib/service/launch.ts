import type { ServiceName } from '../auth/api-key.js';
import { fromRoot } from '../paths.js';

/** Each service's entry point, from the repository's root (compiled to the same path under dist/, with .js). */
export const SERVICE_SOURCES: Readonly<Record<ServiceName, string>> = {
  approval: 'gateway/src/main.ts',
  metadata: 'subgraphs/metadata/src/main.ts',
  publish: 'subgraphs/publish/src/main.ts',
};

/**
 * The Node.js (V8) options each service runs with, wherever it runs: the
 * Kubernetes Deployments' `args` (k8s/base/{service}/deployment.yaml, checked by
 * test/deploy/k8s.test.ts), and, through {@link sourceServiceArgs} and
 * {@link compiledServiceArgs}, `npm start`, `npm run demo`, the tests' service
 * processes and the benchmarks.
 *
 * publish, `--initial-old-space-size=64`: a package streams gigabytes through
 * buffers outside V8's heap while the heap itself hardly grows. After the
 * service had sat idle, V8's memory reducer had shrunk the old generation's
 * limit to a few MiB above the live heap, and from then on every young
 * collection of the package reached that limit and started a full one: 210–226
 * full collections in a 10,000,000-row CSV package, 14.6–14.8 s and 15.3–15.9 s
 * of CPU, against 1–3 collections and 11.3–13.1 s with this floor on the limit
 * (docs/performance.md, 2026-12-06). The heap may hold up to 64 MiB before its
 * first full collection; the publish service's own is about 25 MiB.
 *
 * publish, `--max-semi-space-size=4`: what a package allocates on the heap
 * dies young (the rows' bytes are in buffers outside it), yet V8 grew the young
 * generation to its full 2 × 16 MiB during every package, about 16 MiB of peak
 * RSS that held nothing live. At 4 MiB the young collections are more frequent
 * but as cheap in all (their cost follows what survives, not how often), and
 * the peak RSS of a CSV package is 141–146 MiB instead of 157–161 (MySQL
 * 137–142 instead of 167–172), at the same speed (docs/performance.md,
 * 2026-12-06, a fourth session).
 */
export const SERVICE_NODE_FLAGS: Readonly<Record<ServiceName, readonly string[]>> = {
  approval: [],
  metadata: [],
  publish: ['--initial-old-space-size=64', '--max-semi-space-size=4'],
};

/** `node`'s arguments to run a service from its TypeScript source (`npm start`, the demo, the tests): its options, then tsx's loader and the entry point. */
export function sourceServiceArgs(name: ServiceName): string[] {
  return [...SERVICE_NODE_FLAGS[name], '--import', 'tsx', fromRoot(SERVICE_SOURCES[name])];
}

/** A service's compiled entry point from the repository's root (`dist/…/main.js`), as the image's `args` name it. */
export function compiledEntry(name: ServiceName): string {
  return `dist/${SERVICE_SOURCES[name].replace(/\.ts$/, '.js')}`;
}

/** `node`'s arguments to run a service compiled (`npm run build`), as the image does: its options, then its {@link compiledEntry}. */
export function compiledServiceArgs(name: ServiceName): string[] {
  return [...SERVICE_NODE_FLAGS[name], fromRoot(compiledEntry(name))];
}
