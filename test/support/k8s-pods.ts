/**
 * Reading pods out of rendered Deployments the way the kubelet sees them: the
 * container, its environment (ConfigMaps, env, $(VAR) expansion), its ports,
 * its mounts with the volumes behind them, and the Key Vault objects of a
 * SecretProviderClass.
 */
import assert from 'node:assert/strict';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import { parse as parseYaml } from 'yaml';
import type { ISecretProviderClass, KeyVaultObject } from '../../scripts/k8s/crd-types.js';
import { find, ref, type K8sObject, type Render } from '../../scripts/k8s/render.js';

/** A rendered Deployment, typed by the Kubernetes models. */
export type Deployment = K8sObject & IDeployment;
export type Container = IContainer;

/** The pod spec of a Deployment's template. */
export function podSpec(d: Deployment) {
  const spec = d.spec?.template.spec;
  assert.ok(spec, `${ref(d)} has no pod spec`);
  return spec;
}

/** The one container of a service's pod. */
export function onlyContainer(d: Deployment): Container {
  const containers = podSpec(d).containers;
  assert.equal(containers.length, 1, `${ref(d)}: one container per service`);
  return containers[0]!;
}

/** The labels of a Deployment's pods. */
export function podLabels(d: Deployment): Record<string, string> {
  return (d.spec?.template.metadata?.labels ?? {}) as Record<string, string>;
}

/**
 * A container's environment as the kubelet builds it: ConfigMaps from envFrom,
 * then env in order, with $(NAME) expanded from what is defined before it.
 * Values from the downward API are stood in for by `<fieldPath>`.
 */
export function containerEnvironment(r: Render, c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of c.envFrom ?? []) {
    assert.ok(source.configMapRef, `container ${c.name}: envFrom uses only ConfigMaps`);
    const cm = find<IConfigMap>(r, 'ConfigMap', source.configMapRef.name!);
    Object.assign(env, cm.data ?? {});
  }
  for (const v of c.env ?? []) {
    if (v.valueFrom) {
      assert.ok(v.valueFrom.fieldRef, `container ${c.name}: ${v.name} comes from the downward API only`);
      env[v.name] = `<${v.valueFrom.fieldRef.fieldPath}>`;
      continue;
    }
    env[v.name] = (v.value ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => {
      assert.ok(name in env, `container ${c.name}: ${v.name} refers to $(${name}), which is not defined before it (the kubelet would leave it as is)`);
      return env[name]!;
    });
  }
  return env;
}

/** Names used only inside $(…) of other variables of the same container (e.g. POD_NAME). */
export function expansionOnlyNames(c: Container): Set<string> {
  const used = new Set<string>();
  for (const v of c.env ?? []) for (const m of (v.value ?? '').matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)) used.add(m[1]!);
  return used;
}

/** A container's named ports → numbers. */
export function containerPorts(c: Container): Record<string, number> {
  return Object.fromEntries((c.ports ?? []).filter((p) => p.name).map((p) => [p.name!, p.containerPort]));
}

/** A container port given by number or name, as probes and Services give it. */
export function resolvePort(c: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return (c.ports ?? []).some((p) => p.containerPort === port) ? port : undefined;
  return port === undefined ? undefined : containerPorts(c)[port];
}

/** The mounts of a container with the volume behind each. */
export function mountsWithVolumes(d: Deployment, c: Container) {
  const volumes = podSpec(d).volumes ?? [];
  return (c.volumeMounts ?? []).map((m) => {
    const volume = volumes.find((v) => v.name === m.name);
    assert.ok(volume, `${ref(d)}: volumeMount ${m.mountPath} names volume '${m.name}', which the pod does not have`);
    return { mount: m, volume };
  });
}

/** The volume mounted at the folder holding a path (the longest mount path that contains it). */
export function mountHolding(d: Deployment, c: Container, file: string) {
  return mountsWithVolumes(d, c)
    .filter(({ mount }) => file === mount.mountPath || file.startsWith(`${mount.mountPath.replace(/\/$/, '')}/`))
    .sort((a, b) => b.mount.mountPath.length - a.mount.mountPath.length)[0];
}

/** The Key Vault objects a SecretProviderClass mounts (its `objects` YAML, parsed as the Azure provider parses it). */
export function keyVaultObjects(spc: ISecretProviderClass): KeyVaultObject[] {
  const parsed = parseYaml(spc.spec.parameters.objects) as { array?: unknown };
  assert.ok(Array.isArray(parsed?.array), `SecretProviderClass/${spc.metadata.name}: parameters.objects has no 'array' list`);
  return (parsed.array as unknown[]).map((entry) => {
    assert.equal(typeof entry, 'string', `SecretProviderClass/${spc.metadata.name}: each objects entry is a YAML string, as the Azure provider reads it`);
    return parseYaml(entry as string) as KeyVaultObject;
  });
}

/** The namespace of a render's namespaced objects (`default` when none is set). */
export function namespaceOf(r: Render): string {
  return r.objects.find((o) => o.metadata.namespace)?.metadata.namespace ?? 'default';
}
