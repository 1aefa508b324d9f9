/**
 * The bounded labels of graphql-metrics.test.ts against the real services
 * (slow by nature: 120 MiB of names, so in `npm run test:all` only): known
 * names are counted by name at the gateway and each subgraph; many distinct
 * huge operation names, sent through the gateway and straight to each
 * subgraph, leave `/metrics` small and answering 200, and the services' heap
 * does not grow by the names' size.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startPlatformProcess, type PlatformProcess } from '../support/platform-process.js';

const MiB = 1024 * 1024;

describe('huge operation names against the real services', () => {
  const NAMES = 40;
  const NAME_BYTES = MiB;
  let platform: PlatformProcess;

  before(async () => {
    platform = await startPlatformProcess({ GRAPHQL_METRICS_OPERATION_NAMES: 'OperatorDashboard' });
  });

  after(async () => {
    await platform?.close();
  });

  async function scrape(base: string): Promise<string> {
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200, `${base}/metrics`);
    return res.text();
  }

  function count(text: string, operation: string): number {
    const line = text.split('\n').find((l) => l.startsWith('cr8tor_graphql_operations_total{') && l.includes(`operation="${operation}"`) && l.includes('outcome="success"'));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }

  /** A query through the gateway that fetches from both subgraphs, so each sees `{name}__{subgraph}__0`. */
  const spanning = (name: string) => `query ${name} { project(projectName: "Pr004", projectStartTime: "20250205_010101") { metadataReports { reportedAt } validations { outcome } } }`;

  test('known names are counted by name at the gateway and, for its fetches, at each subgraph', async () => {
    for (const name of ['DatasetMetadata', 'OperatorDashboard']) {
      const res = await platform.graphql(platform.gateway, spanning(name));
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.errors, undefined, JSON.stringify(res.body));
    }
    for (const base of [platform.gateway, platform.metadata, platform.publish]) {
      const text = await scrape(base);
      assert.equal(count(text, 'DatasetMetadata'), 1, base);
      assert.equal(count(text, 'OperatorDashboard'), 1, base);
    }
  });

  test(`${NAMES} distinct names of 1 MiB through the gateway and to each subgraph: /metrics stays small, the heap does not grow by the names`, async () => {
    const sizes = await Promise.all([platform.gateway, platform.metadata, platform.publish].map(async (b) => (await scrape(b)).length));
    const heapBefore = await platform.heapUsed();
    for (let i = 0; i < NAMES; i++) {
      const name = `N${i}_${'x'.repeat(NAME_BYTES)}`;
      const through = await platform.graphql(platform.gateway, spanning(name));
      assert.equal(through.status, 200, JSON.stringify(through.body).slice(0, 300));
      for (const base of [platform.metadata, platform.publish]) {
        const direct = await platform.graphql(base, `query ${name} { __typename }`);
        assert.equal(direct.status, 200, JSON.stringify(direct.body).slice(0, 300));
      }
    }
    const heapAfter = await platform.heapUsed();
    const sent = 3 * NAMES * NAME_BYTES;
    for (const [i, base] of [platform.gateway, platform.metadata, platform.publish].entries()) {
      const text = await scrape(base);
      assert.ok(text.length - sizes[i]! < 16 * 1024, `${base}/metrics grew by ${text.length - sizes[i]!} bytes`);
      // The gateway's and the direct calls: NAMES each at a subgraph (NAMES fetches plus NAMES direct calls).
      assert.equal(count(text, 'other'), base === platform.gateway ? NAMES : 2 * NAMES, base);
    }
    // The caches of parsed documents and query plans are bounded (lib/graphql/caches.ts: 4 MiB of JSON
    // each, four of them in this process: about 18 MiB of heap once full); the labels alone would keep 200 MiB.
    const grown = heapAfter - heapBefore;
    assert.ok(grown < 32 * MiB, `the heap grew by ${(grown / MiB).toFixed(1)} MiB after ${(sent / MiB).toFixed(0)} MiB of names`);
  });
});
