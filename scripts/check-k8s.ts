/**
 * `npm run check:k8s`: renders k8s/base and every overlay with `kubectl
 * kustomize` and validates every object offline (Kubernetes OpenAPI schemas,
 * strict about unknown fields; the SecretProviderClass against the CSI
 * driver's fields). No cluster and no network. Exit 1 with one line per
 * problem when anything fails.
 */
import { checkKustomization } from './k8s/check.js';
import { kubectlPath, kustomizations } from './k8s/render.js';

try {
  kubectlPath();
} catch (error) {
  console.error(`check:k8s: ${(error as Error).message}`);
  process.exit(1);
}

let failed = 0;
for (const folder of kustomizations()) {
  const { render, problems } = await checkKustomization(folder);
  if (problems.length === 0) {
    console.log(`ok   ${folder}: ${render!.objects.length} objects rendered and valid`);
  } else {
    failed++;
    console.error(`FAIL ${folder}:`);
    for (const problem of problems) console.error(`  ${problem}`);
  }
}
if (failed > 0) {
  console.error(`check:k8s: ${failed} kustomization(s) failed; the full checks against the code and the Dockerfile are in test/deploy/k8s.test.ts.`);
  process.exit(1);
}
