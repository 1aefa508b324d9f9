/**
 * Renders the Kustomize trees under k8s/ with `kubectl kustomize` (the kustomize
 * that ships in kubectl, as operators run `kubectl apply -k`) and reads the
 * result as plain objects.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { fromRoot } from '../../lib/paths.js';

/** A rendered Kubernetes object; fields are read through the typed helpers below. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** One rendered kustomization: its folder relative to the project root and its objects. */
export interface Render {
  name: string;
  objects: K8sObject[];
}

export const K8S_ROOT = fromRoot('k8s');

/** k8s/base and every folder under k8s/overlays, as paths relative to the project root. */
export function kustomizations(): string[] {
  const overlays = path.join(K8S_ROOT, 'overlays');
  const names = existsSync(overlays) ? readdirSync(overlays, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => `k8s/overlays/${d.name}`) : [];
  return ['k8s/base', ...names.sort()];
}

/** The kubectl this machine and CI have; fails with what to install when there is none. */
export function kubectlPath(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'kubectl');
    if (dir && existsSync(candidate)) return candidate;
  }
  throw new Error('kubectl is not on PATH: the manifests are rendered with `kubectl kustomize` (install kubectl >= 1.27, which ships kustomize v5).');
}

/** Runs `kubectl kustomize` on a folder (relative to the project root, or absolute) and parses every document. */
export function render(folder: string): Render {
  const out = execFileSync(kubectlPath(), ['kustomize', path.resolve(fromRoot(), folder)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 32 * 1024 * 1024 });
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(out)) {
    if (doc.errors.length > 0) throw new Error(`${folder}: kustomize printed invalid YAML: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    if (value == null) continue;
    const object = value as K8sObject;
    if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string' || typeof object.metadata?.name !== 'string') {
      throw new Error(`${folder}: a rendered document has no apiVersion, kind or metadata.name: ${JSON.stringify(value).slice(0, 200)}`);
    }
    objects.push(object);
  }
  return { name: folder, objects };
}

/** `Kind/name` for messages. */
export function ref(object: K8sObject): string {
  return `${object.kind}/${object.metadata.name}`;
}

/** The objects of one kind. */
export function ofKind<T = K8sObject>(render: Render, kind: string): Array<K8sObject & T> {
  return render.objects.filter((o) => o.kind === kind) as Array<K8sObject & T>;
}

/** The one object of a kind and name; throws naming the ones there are. */
export function find<T = K8sObject>(render: Render, kind: string, name: string): K8sObject & T {
  const found = render.objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${render.name}: no ${kind}/${name}; there are: ${ofKind(render, kind).map((o) => o.metadata.name).join(', ') || '(none)'}`);
  return found as K8sObject & T;
}
