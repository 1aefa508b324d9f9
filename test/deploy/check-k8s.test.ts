/**
 * `npm run check:k8s`: the offline render and validation alone. It passes on
 * the repository's manifests, and the same check (scripts/k8s/check.ts) names
 * each problem of a broken kustomization.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromRoot } from '../../lib/paths.js';
import { checkKustomization } from '../../scripts/k8s/check.js';
import { kustomizations } from '../../scripts/k8s/render.js';
import { tempFolder } from '../support/filestore-fs.js';
import { runToEnd } from '../support/processes.js';

test('npm run check:k8s passes on k8s/base and every overlay, one line each', { timeout: 180_000 }, async () => {
  const run = await runToEnd(process.execPath, ['--import', 'tsx', fromRoot('scripts/check-k8s.ts')], { PATH: process.env.PATH, HOME: process.env.HOME }, 170_000);
  assert.equal(run.code, 0, run.stderr);
  for (const folder of kustomizations()) assert.match(run.stdout, new RegExp(`^ok {3}${folder}: \\d+ objects rendered and valid$`, 'm'));
});

test('a broken kustomization: every problem is named (missing kinds, a misspelt field, a bad value, a render that fails)', { timeout: 120_000 }, async () => {
  const { dir, cleanup } = await tempFolder('cr8tor-k8s-');
  try {
    const deployment = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: "two"
  selector:
    matchLabels: { app: x }
  template:
    metadata:
      labels: { app: x }
    spec:
      containers:
        - name: x
          image: x:1
          imagePullPolicyy: Always
`;
    await writeFile(path.join(dir, 'a.yaml'), deployment('x'));
    await writeFile(path.join(dir, 'kustomization.yaml'), 'resources:\n  - a.yaml\n');
    const result = await checkKustomization(dir);
    const text = result.problems.join('\n');
    assert.match(text, /no ConfigMap in the render/);
    assert.match(text, /Deployment\/x.*imagePullPolicyy/);
    assert.match(text, /Deployment\/x.*replicas/);

    const broken = path.join(dir, 'broken');
    await mkdir(broken);
    await writeFile(path.join(broken, 'kustomization.yaml'), 'resources:\n  - missing.yaml\n');
    const unrendered = await checkKustomization(broken);
    assert.equal(unrendered.problems.length, 1);
    assert.match(unrendered.problems[0]!, /^does not render: .*missing\.yaml/s);
  } finally {
    await cleanup();
  }
});
