/**
 * No caller can inflate the metrics: GraphQL operations are counted by name
 * only when the name is a known operation (the REST shims', the gateway's
 * fetches for them, the operator's list), otherwise as `other`, and every
 * label of every metric takes values from a bounded set. Many distinct huge
 * operation names, sent through the gateway and straight to each subgraph,
 * leave `/metrics` small and answering 200, and the services' heap does not
 * grow by the names' size.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import * as restOperations from '../../gateway/src/rest/operations.js';
import { ConfigError } from '../../lib/config/env.js';
import { operationLabel, readKnownOperationNames, REST_OPERATION_NAMES } from '../../lib/graphql/operation-names.js';
import { MAX_LABEL_LENGTH } from '../../lib/metrics/label-bounds.js';
import { BoundedCounter, BoundedHistogram, ServiceMetrics } from '../../lib/metrics/metrics.js';
import { startPlatformProcess, type PlatformProcess } from '../support/platform-process.js';

const MiB = 1024 * 1024;

describe('which names are labels', () => {
  test("the REST shims' operations are the known names", () => {
    const names = Object.values(restOperations).map((document) => {
      const operation = parse(document).definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
      return operation?.name?.value;
    });
    assert.deepEqual(names.sort(), [...REST_OPERATION_NAMES].sort());
  });

  test("known names, the gateway's fetches for them, anonymous, and everything else as other", () => {
    const known = readKnownOperationNames({ GRAPHQL_METRICS_OPERATION_NAMES: ' Dashboard , Nightly_Report' });
    const cases: Array<[string | null | undefined, string]> = [
      ['DatasetMetadata', 'DatasetMetadata'],
      ['Dashboard', 'Dashboard'],
      ['Nightly_Report', 'Nightly_Report'],
      ['DatasetMetadata__metadata__0', 'DatasetMetadata'],
      ['ValidateProject__publish__12', 'ValidateProject'],
      ['Dashboard__metadata__1', 'Dashboard'],
      [null, 'anonymous'],
      [undefined, 'anonymous'],
      ['', 'anonymous'],
      ['Evil', 'other'],
      ['Evil__metadata__0', 'other'],
      ['DatasetMetadata__elsewhere__0', 'other'],
      ['DatasetMetadata__metadata__x', 'other'],
      ['__metadata__0', 'other'],
      [`${'A'.repeat(3_500_000)}__metadata__0`, 'other'],
      ['A'.repeat(3_500_000), 'other'],
    ];
    for (const [name, label] of cases) assert.equal(operationLabel(name, known), label, String(name).slice(0, 60));
  });

  test('GRAPHQL_METRICS_OPERATION_NAMES: names only, a bounded list; a bad value names the variable', () => {
    assert.deepEqual([...readKnownOperationNames({})].sort(), [...REST_OPERATION_NAMES].sort());
    for (const value of ['Not-a-name', 'a b', `A${'b'.repeat(MAX_LABEL_LENGTH)}`, Array.from({ length: 51 }, (_, i) => `Op${i}`).join(',')]) {
      assert.throws(
        () => readKnownOperationNames({ GRAPHQL_METRICS_OPERATION_NAMES: value }),
        (e: unknown) => e instanceof ConfigError && e.message.includes('GRAPHQL_METRICS_OPERATION_NAMES'),
        value.slice(0, 40),
      );
    }
  });
});

describe('every label is bounded', () => {
  test('each metric of ours bounds all its labels: 2000 distinct 10 KB values per label become a few series', async () => {
    const metrics = new ServiceMetrics('test');
    const mine = Object.values(metrics).filter((m): m is BoundedCounter<string> | BoundedHistogram<string> => m instanceof BoundedCounter || m instanceof BoundedHistogram);
    // Nothing in the registry escapes the bounds: everything else is Node's process metrics.
    const defaults = new Registry();
    collectDefaultMetrics({ register: defaults, prefix: 'cr8tor_' });
    const defaultNames = new Set(defaults.getMetricsAsArray().map((m) => m.name));
    const unbounded = metrics.registry.getMetricsAsArray().filter((m) => !defaultNames.has(m.name));
    assert.equal(unbounded.length, mine.length, 'every metric beyond the process metrics is a bounded one');
    assert.equal(mine.length, 7);

    const before = (await metrics.text()).body.length;
    for (let i = 0; i < 2000; i++) {
      for (const metric of mine) {
        const labels = Object.fromEntries(Object.keys(metric.labelBounds).map((name) => [name, `${i}-${'x'.repeat(10_000)}`]));
        if (metric instanceof BoundedCounter) metric.inc(labels);
        else metric.observe(labels, 1);
      }
    }
    for (const metric of mine) {
      for (const [name, bound] of Object.entries(metric.labelBounds)) assert.ok(bound.maxValues <= 501, `${name}: at most ${bound.maxValues} values`);
    }
    const text = (await metrics.text()).body;
    assert.ok(text.length - before < 64 * 1024, `/metrics grew by ${text.length - before} bytes`);
    assert.ok(!text.includes('xxxxxxxxxx'), 'no hostile value is exported');
  });

  test('the enumerated labels keep their real values', async () => {
    const metrics = new ServiceMetrics('test');
    metrics.httpRequests.inc({ route: '/project/package', method: 'POST', status: 200 });
    metrics.httpRequests.inc({ route: '/project/package', method: 'BREW', status: 999 });
    metrics.rowsExtracted.inc({ source_type: 'databrickssql', destination_type: 'postgresql' }, 3);
    metrics.operationFailures.inc({ operation: 'package', destination_type: 'none', code: 'PROJECT_BUSY' });
    metrics.operationFailures.inc({ operation: 'drop', destination_type: 'tape', code: 'EVIL' });
    const text = (await metrics.text()).body;
    assert.match(text, /cr8tor_http_requests_total\{route="\/project\/package",method="POST",status="200",service="test"\} 1/);
    assert.match(text, /cr8tor_http_requests_total\{route="\/project\/package",method="other",status="other",service="test"\} 1/);
    assert.match(text, /cr8tor_rows_extracted_total\{source_type="databrickssql",destination_type="postgresql",service="test"\} 3/);
    assert.match(text, /cr8tor_operation_failures_total\{operation="package",destination_type="none",code="PROJECT_BUSY",service="test"\} 1/);
    assert.match(text, /cr8tor_operation_failures_total\{operation="other",destination_type="other",code="other",service="test"\} 1/);
  });
});

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
