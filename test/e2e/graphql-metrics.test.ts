/**
 * No caller can inflate the metrics: GraphQL operations are counted by name
 * only when the name is a known operation (the REST shims', the gateway's
 * fetches for them, the operator's list), otherwise as `other`, and every
 * label of every metric takes values from a bounded set. Against the real
 * services, with many distinct huge operation names:
 * graphql-metrics-heap.slow.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import * as restOperations from '../../gateway/src/rest/operations.js';
import { ConfigError } from '../../lib/config/env.js';
import { operationLabel, readKnownOperationNames, REST_OPERATION_NAMES } from '../../lib/graphql/operation-names.js';
import { MAX_LABEL_LENGTH } from '../../lib/metrics/label-bounds.js';
import { BoundedCounter, BoundedHistogram, ServiceMetrics } from '../../lib/metrics/metrics.js';

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
