import type { ServiceName } from '../auth/api-key.js';

/**
 * The Node.js (V8) options each service runs with, wherever it runs: the
 * Kubernetes Deployments' `args` (k8s/base/{service}/deployment.yaml, checked by
 * test/deploy/k8s.test.ts), `npm start` (scripts/start-all.ts), `npm run demo`,
 * the tests' service processes and the benchmarks.
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
 */
export const SERVICE_NODE_FLAGS: Readonly<Record<ServiceName, readonly string[]>> = {
  approval: [],
  metadata: [],
  publish: ['--initial-old-space-size=64'],
};
