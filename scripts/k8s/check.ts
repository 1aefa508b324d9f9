/**
 * The offline check of the manifests under k8s/: each kustomization rendered
 * with `kubectl kustomize`, its objects complete and unique, valid against the
 * Kubernetes OpenAPI schemas and free of unknown fields. `npm run check:k8s`
 * runs it alone; test/deploy/k8s.test.ts runs the same checks and then checks
 * the objects against each other, the code and the Dockerfile.
 */
import { ref, render, type Render } from './render.js';
import { typeCheckObjects, validateWithOpenApiSchemas } from './schema.js';

/** The kinds every kustomization renders. */
export const REQUIRED_KINDS = ['Deployment', 'Service', 'ConfigMap', 'SecretProviderClass', 'Ingress', 'NetworkPolicy', 'HorizontalPodAutoscaler', 'PodDisruptionBudget'] as const;

/** Problems of the render as a whole: a required kind missing, an object twice. */
export function renderProblems(r: Render): string[] {
  const problems: string[] = [];
  const kinds = new Set(r.objects.map((o) => o.kind));
  for (const kind of REQUIRED_KINDS) if (!kinds.has(kind)) problems.push(`no ${kind} in the render`);
  const seen = new Set<string>();
  for (const o of r.objects) {
    const key = `${o.apiVersion}/${ref(o)}`;
    if (seen.has(key)) problems.push(`${key} appears twice`);
    seen.add(key);
  }
  return problems;
}

/** One kustomization's result: its render (when it rendered) and every problem found. */
export interface KustomizationCheck {
  folder: string;
  render?: Render;
  problems: string[];
}

/** Renders and checks one kustomization; a render that fails is one problem, with kubectl's message. */
export async function checkKustomization(folder: string): Promise<KustomizationCheck> {
  let r: Render;
  try {
    r = render(folder);
  } catch (error) {
    const e = error as Error & { stderr?: string };
    const detail = (e.stderr?.trim() || e.message).split('\n').slice(0, 5).join('\n  ');
    return { folder, problems: [`does not render: ${detail}`] };
  }
  const problems = [...renderProblems(r), ...(await validateWithOpenApiSchemas(r.objects)), ...typeCheckObjects(r.objects)];
  return { folder, render: r, problems };
}
