/**
 * The Kubernetes manifests under k8s/: every kustomization (the base and each
 * overlay) is rendered with `kubectl kustomize`, every object is validated
 * offline against the Kubernetes OpenAPI schemas (and the SecretProviderClass
 * against its CRD's fields), and the objects are checked against each other,
 * against the code (settings it reads, entry points it has) and against the
 * Dockerfile.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { readSettings } from '../../lib/config/env.js';
import { loggingSettings, processSettings, settingOf } from '../../lib/config/settings/index.js';
import { connectorOptionsFromEnv } from '../../lib/config/connector-settings.js';
import { fromRoot } from '../../lib/paths.js';
import { isSecretName, secretProviderFromEnv } from '../../lib/secrets/index.js';
import { StorageMounts } from '../../subgraphs/publish/src/destinations/filestore/mount/mounts.js';
import { readFilestoreSettings } from '../../subgraphs/publish/src/destinations/filestore/settings.js';
import { readPostgresqlSettings } from '../../subgraphs/publish/src/destinations/postgresql/settings.js';
import type { ISecretProviderClass } from '../../scripts/k8s/crd-types.js';
import { RUNTIME_VARIABLES } from '../support/k8s-env.js';
import { runtimeStage } from '../support/k8s-image.js';
import { SourceHosts } from '../../lib/connectors/index.js';
import { sourceSecretPolicyFromEnv, normaliseSecretName } from '../../lib/secrets/source-credentials.js';
import { connectionAllowed, egressAllowsAddress, egressBlocks, policiesSelecting, selects, type PodEndpoint } from '../support/k8s-network.js';
import { containerEnvironment, containerPorts, expansionOnlyNames, keyVaultObjects, mountHolding, mountsWithVolumes, namespaceOf, onlyContainer, podLabels, podSpec, resolvePort, type Deployment } from '../support/k8s-pods.js';
import { renderProblems } from '../../scripts/k8s/check.js';
import { find, kubectlPath, kustomizations, ofKind, ref, render, type Render } from '../../scripts/k8s/render.js';
import { typeCheckObjects, validateWithOpenApiSchemas } from '../../scripts/k8s/schema.js';
import { SERVICE_NODE_FLAGS, SERVICE_SOURCES, compiledEntry } from '../../lib/service/launch.js';

/** The three services: their Deployment, Service, the variable naming their port, their entry point. */
const SERVICES = {
  approval: { name: 'cr8tor-publisher-approval', portVariable: 'APPROVAL_PORT', source: SERVICE_SOURCES.approval, apiKey: 'approvalserviceapikey' },
  metadata: { name: 'cr8tor-publisher-metadata', portVariable: 'METADATA_CONTAINER_PORT', source: SERVICE_SOURCES.metadata, apiKey: 'metadataserviceapikey' },
  publish: { name: 'cr8tor-publisher-publish', portVariable: 'PUBLISH_CONTAINER_PORT', source: SERVICE_SOURCES.publish, apiKey: 'publishserviceapikey' },
} as const;
type Component = keyof typeof SERVICES;
const COMPONENTS = Object.keys(SERVICES) as Component[];

/** The PostgreSQL destination's and OPAL's settings as the wire contract names them (CONTRACT.md, "PostgreSQL destination and OPAL"). */
const CONTRACT_DESTINATION_SETTINGS = [
  'DESTINATION_POSTGRESQL_HOST',
  'DESTINATION_POSTGRESQL_PORT',
  'DESTINATION_POSTGRESQL_DATABASE',
  'DESTINATION_POSTGRESQL_USERNAME',
  'DESTINATION_POSTGRESQL_PASSWORD_SECRET_NAME',
  'DESTINATION_POSTGRESQL_OPAL_READONLY_USERNAME',
  'DESTINATION_POSTGRESQL_OPAL_READONLY_PASSWORD_SECRET_NAME',
  'DESTINATION_OPAL_HOST',
  'DESTINATION_OPAL_USERNAME',
  'DESTINATION_OPAL_PASSWORD_SECRET_NAME',
  'DESTINATION_OPAL_NO_SSL_VERIFY',
];

const image = runtimeStage();

function deploymentOf(r: Render, component: Component): Deployment {
  return find<IDeployment>(r, 'Deployment', SERVICES[component].name);
}

test('kubectl with kustomize is installed (the manifests are rendered with it)', () => {
  assert.ok(kubectlPath());
});

test('the image: built from the lockfile, production dependencies only, no secrets or local files in the build context', () => {
  const dockerfile = readFileSync(fromRoot('Dockerfile'), 'utf8');
  assert.match(dockerfile, /npm ci --omit=dev/, 'the runtime dependencies are installed with npm ci --omit=dev');
  assert.match(dockerfile, /npm run build/, 'dist/ is built with the project\'s build script');
  assert.ok(Number.isInteger(image.uid) && image.uid >= 10000, `the image runs as a fixed non-root uid (got USER ${image.uid})`);
  const ignored = readFileSync(fromRoot('.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const entry of ['.git', 'node_modules', 'dist', 'var', 'secrets', '.env']) {
    assert.ok(ignored.includes(entry), `.dockerignore leaves out ${entry}`);
  }
});

for (const folder of kustomizations()) {
  describe(folder, () => {
    let r: Render;
    const rendered = (): Render => (r ??= render(folder));

    // The first three are what `npm run check:k8s` runs (scripts/k8s/check.ts).
    test('renders with kubectl kustomize: every required kind, no object twice', () => {
      assert.deepEqual(renderProblems(rendered()), []);
    });

    test('every object is valid against the Kubernetes OpenAPI schemas', async () => {
      assert.deepEqual(await validateWithOpenApiSchemas(rendered().objects), []);
    });

    test('no object has an unknown or misspelt field (strict, as kubeconform -strict)', () => {
      assert.deepEqual(typeCheckObjects(rendered().objects), []);
    });

    test('namespaced objects share one namespace', () => {
      const namespaces = new Set(rendered().objects.filter((o) => o.kind !== 'Namespace').map((o) => o.metadata.namespace ?? '(none)'));
      assert.equal(namespaces.size, 1, `namespaces: ${[...namespaces].join(', ')}`);
    });

    test('each Deployment runs one image, selects its own pods and starts its service entry point', () => {
      const images = new Set<string>();
      for (const component of COMPONENTS) {
        const d = deploymentOf(rendered(), component);
        assert.ok(selects(d.spec?.selector, podLabels(d)), `${ref(d)}: its selector does not select its own pod template`);
        for (const other of COMPONENTS.filter((c) => c !== component)) {
          assert.ok(!selects(d.spec?.selector, podLabels(deploymentOf(rendered(), other))), `${ref(d)}: its selector also selects the ${other} pods`);
        }
        const c = onlyContainer(d);
        images.add(c.image ?? '');
        const source = SERVICES[component].source;
        assert.equal(c.command, undefined, `${ref(d)}: the image's ENTRYPOINT (node) runs the service; set args, not command`);
        assert.deepEqual(c.args, [...SERVICE_NODE_FLAGS[component], compiledEntry(component)], `${ref(d)}: args must be the service's Node.js options (lib/service/launch.ts), then the compiled entry point of ${source}`);
        const text = readFileSync(fromRoot(source), 'utf8');
        assert.match(text, new RegExp(`runService\\(\\s*'${component}'`), `${source} is not the ${component} service's entry point`);
      }
      assert.equal(images.size, 1, `one image for all services, got: ${[...images].join(', ')}`);
      const [only] = images;
      if (folder !== 'k8s/base') {
        assert.match(only!, /(:[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})$/, 'overlays pin an image tag or digest');
        assert.doesNotMatch(only!, /:latest$/, 'overlays do not deploy :latest');
      }
    });

    test('the Deployments match the image: entry points exist in dist/, user, working folder', () => {
      assert.deepEqual(image.entrypoint, ['node'], 'Dockerfile ENTRYPOINT is ["node"]');
      assert.equal(image.workdir, '/app');
      for (const dir of ['/app/dist/lib', '/app/dist/gateway', '/app/dist/subgraphs', '/app/schema', '/app/package.json']) {
        assert.ok(image.copied.includes(dir), `the image copies ${dir} (lib/paths.ts finds the root by package.json; schema/ is read at start)`);
      }
      const build = JSON.parse(readFileSync(fromRoot('tsconfig.build.json'), 'utf8')) as { include: string[] };
      const base = JSON.parse(readFileSync(fromRoot('tsconfig.json'), 'utf8')) as { compilerOptions: { outDir: string; rootDir: string } };
      assert.equal(base.compilerOptions.outDir, 'dist');
      assert.equal(base.compilerOptions.rootDir, '.');
      for (const component of COMPONENTS) {
        const source = SERVICES[component].source;
        assert.ok(existsSync(fromRoot(source)), `${source} exists`);
        const included = build.include.some((inc) => new RegExp(`^${inc.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]+')}/`).test(source));
        assert.ok(included, `tsconfig.build.json compiles ${source}`);
        const arg = onlyContainer(deploymentOf(rendered(), component)).args!.at(-1)!;
        assert.ok(image.copied.some((dir) => path.posix.join(image.workdir, arg).startsWith(`${dir}/`)), `${arg} is inside a folder the image copies`);
        const pod = podSpec(deploymentOf(rendered(), component));
        assert.equal(pod.securityContext?.runAsUser, image.uid, `${component}: runAsUser is the image's USER`);
        if (image.gid !== undefined) assert.equal(pod.securityContext?.runAsGroup, image.gid, `${component}: runAsGroup is the image's group`);
      }
      assert.deepEqual(image.cmd, [compiledEntry('approval')], 'the image starts the gateway by default');
    });

    test('Services select exactly their Deployment, on a port the container listens on', () => {
      const deployments = ofKind<IDeployment>(rendered(), 'Deployment');
      for (const service of ofKind<IService>(rendered(), 'Service')) {
        assert.equal(service.spec?.type ?? 'ClusterIP', 'ClusterIP', `${ref(service)} stays inside the cluster (the Ingress is the way in)`);
        const selected = deployments.filter((d) => selects({ matchLabels: service.spec?.selector ?? {} }, podLabels(d)));
        assert.equal(selected.length, 1, `${ref(service)} selects ${selected.map(ref).join(', ') || 'no Deployment'}`);
        const c = onlyContainer(selected[0]!);
        for (const port of service.spec?.ports ?? []) {
          assert.ok(resolvePort(c, port.targetPort ?? port.port), `${ref(service)} port ${port.port} → targetPort ${port.targetPort} is not a port of ${ref(selected[0]!)}`);
        }
      }
      for (const component of COMPONENTS) find<IService>(rendered(), 'Service', SERVICES[component].name);
    });

    test('probes: startup and liveness on /healthz, readiness on /readyz, on the container port', () => {
      for (const component of COMPONENTS) {
        const d = deploymentOf(rendered(), component);
        const c = onlyContainer(d);
        const expected = { startupProbe: '/healthz', livenessProbe: '/healthz', readinessProbe: '/readyz' } as const;
        for (const [probe, pathName] of Object.entries(expected) as Array<[keyof typeof expected, string]>) {
          const get = c[probe]?.httpGet;
          assert.ok(get, `${ref(d)}: ${probe} is an HTTP GET`);
          assert.equal(get.path, pathName, `${ref(d)}: ${probe} path`);
          assert.ok(resolvePort(c, get.port), `${ref(d)}: ${probe} port ${get.port} is not a container port`);
        }
        // The gateway's /readyz asks both subgraphs in turn, 2 s each at most.
        if (component === 'approval') assert.ok((c.readinessProbe?.timeoutSeconds ?? 1) > 4, 'the gateway readiness probe waits for both subgraph checks');
      }
    });

    test('every reference names an object in the render (claims, ConfigMaps, SecretProviderClasses, service accounts)', () => {
      for (const d of ofKind<IDeployment>(rendered(), 'Deployment')) {
        const pod = podSpec(d);
        if (pod.serviceAccountName) find(rendered(), 'ServiceAccount', pod.serviceAccountName);
        for (const v of pod.volumes ?? []) {
          if (v.persistentVolumeClaim) find(rendered(), 'PersistentVolumeClaim', v.persistentVolumeClaim.claimName);
          if (v.configMap) find(rendered(), 'ConfigMap', v.configMap.name!);
          if (v.csi) {
            assert.equal(v.csi.driver, 'secrets-store.csi.k8s.io', `${ref(d)}: volume ${v.name} uses the Secrets Store CSI driver`);
            find(rendered(), 'SecretProviderClass', v.csi.volumeAttributes?.secretProviderClass ?? '(none)');
          }
        }
        for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
          for (const from of c.envFrom ?? []) if (from.configMapRef) find(rendered(), 'ConfigMap', from.configMapRef.name!);
          mountsWithVolumes(d, c);
        }
      }
    });

    test('security: non-root, read-only root filesystem, no privilege escalation, no capabilities, RuntimeDefault seccomp', () => {
      for (const component of COMPONENTS) {
        const d = deploymentOf(rendered(), component);
        const pod = podSpec(d);
        assert.equal(pod.securityContext?.runAsNonRoot, true, `${ref(d)}: pod runAsNonRoot`);
        assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${ref(d)}: pod seccompProfile`);
        assert.equal(pod.automountServiceAccountToken, false, `${ref(d)}: no Kubernetes API token in the pod`);
        assert.equal(pod.hostNetwork ?? false, false);
        const c = onlyContainer(d);
        const sc = c.securityContext;
        assert.equal(sc?.readOnlyRootFilesystem, true, `${ref(d)}: readOnlyRootFilesystem`);
        assert.equal(sc?.allowPrivilegeEscalation, false, `${ref(d)}: allowPrivilegeEscalation`);
        assert.equal(sc?.privileged ?? false, false, `${ref(d)}: not privileged`);
        assert.deepEqual(sc?.capabilities?.drop, ['ALL'], `${ref(d)}: capabilities drop ALL`);
        assert.deepEqual(sc?.capabilities?.add ?? [], [], `${ref(d)}: no capabilities added`);
        assert.ok(sc?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, `${ref(d)}: runAsNonRoot`);
        for (const resource of ['cpu', 'memory']) {
          assert.ok(c.resources?.requests?.[resource] !== undefined, `${ref(d)}: requests.${resource}`);
          assert.ok(c.resources?.limits?.[resource] !== undefined, `${ref(d)}: limits.${resource}`);
        }
        // With a read-only root, every folder the service writes must be a volume.
        const env = containerEnvironment(rendered(), c);
        const tmp = mountHolding(d, c, env.TMPDIR ?? image.env.TMPDIR ?? '/tmp');
        assert.ok(tmp?.volume.emptyDir, `${ref(d)}: TMPDIR is on an emptyDir`);
        const working = mountHolding(d, c, env.DLTHUB_PIPELINE_WORKING_DIR ?? image.env.DLTHUB_PIPELINE_WORKING_DIR ?? '/tmp');
        assert.ok(working?.volume.emptyDir, `${ref(d)}: DLTHUB_PIPELINE_WORKING_DIR is on an emptyDir`);
        if (env.AUDIT_LOG_PATH) {
          const audit = mountHolding(d, c, env.AUDIT_LOG_PATH);
          assert.ok(audit?.volume.persistentVolumeClaim && !audit.mount.readOnly, `${ref(d)}: AUDIT_LOG_PATH is on a writable claim`);
          const claim = find<IPersistentVolumeClaim>(rendered(), 'PersistentVolumeClaim', audit.volume.persistentVolumeClaim.claimName);
          assert.ok(claim.spec?.accessModes?.includes('ReadWriteMany'), `${ref(claim)}: every pod appends to it, so ReadWriteMany`);
          assert.match(env.AUDIT_LOG_PATH, /<metadata\.name>/, `${ref(d)}: one audit file per pod (the pod name is in AUDIT_LOG_PATH)`);
        }
      }
    });

    test('terminationGracePeriodSeconds covers the preStop pause, SHUTDOWN_GRACE_MS and a margin', () => {
      for (const component of COMPONENTS) {
        const d = deploymentOf(rendered(), component);
        const c = onlyContainer(d);
        const env = containerEnvironment(rendered(), c);
        const grace = readSettings(processSettings, env).SHUTDOWN_GRACE_MS / 1000;
        const preStop = c.lifecycle?.preStop?.sleep?.seconds ?? 0;
        const period = podSpec(d).terminationGracePeriodSeconds ?? 30;
        assert.ok(period >= preStop + grace + 5, `${ref(d)}: terminationGracePeriodSeconds ${period} < preStop ${preStop} + SHUTDOWN_GRACE_MS ${grace} s + 5 s`);
        assert.ok(period <= preStop + grace + 60, `${ref(d)}: terminationGracePeriodSeconds ${period} is far above what the service waits (${preStop + grace} s)`);
      }
    });

    test('environment: every variable is a registered setting (so one the code reads and docs/configuration.md documents), and parses', async () => {
      for (const component of COMPONENTS) {
        const d = deploymentOf(rendered(), component);
        const c = onlyContainer(d);
        const env = containerEnvironment(rendered(), c);
        const expansionOnly = expansionOnlyNames(c);
        const ownEnv = new Set((c.env ?? []).map((v) => v.name));
        for (const name of Object.keys(env)) {
          if (RUNTIME_VARIABLES.has(name) || expansionOnly.has(name)) continue;
          const spec = settingOf(name);
          assert.ok(spec, `${ref(d)}: ${name} is not a setting of lib/config/settings (misspelt, or a setting of the original the rebuild dropped?)`);
          // The shared ConfigMap reaches every service; a container's own env must be for that service.
          if (ownEnv.has(name)) assert.ok(spec.services.includes(component), `${ref(d)}: ${name} is read by ${spec.services.join(', ')}, not the ${component} service`);
        }
        // The real readers accept the values.
        await secretProviderFromEnv(env);
        readSettings({ ...processSettings, ...loggingSettings }, env);
        if (component !== 'approval') connectorOptionsFromEnv(env);
        if (component === 'publish') readFilestoreSettings(env);
        const port = Number(env[SERVICES[component].portVariable]);
        assert.equal(port, resolvePort(c, 'http'), `${ref(d)}: ${SERVICES[component].portVariable} is the container port named http`);
      }
    });

    test('the gateway finds each subgraph through its Service name and port', () => {
      const env = containerEnvironment(rendered(), onlyContainer(deploymentOf(rendered(), 'approval')));
      for (const [component, prefix] of [['metadata', 'METADATA'], ['publish', 'PUBLISH']] as const) {
        const service = find<IService>(rendered(), 'Service', env[`${prefix}_CONTAINER_NAME`] ?? '(unset)');
        assert.equal(service.metadata.name, SERVICES[component].name);
        const port = Number(env[`${prefix}_CONTAINER_PORT`]);
        assert.ok((service.spec?.ports ?? []).some((p) => p.port === port), `${ref(service)} has no port ${port} (${prefix}_CONTAINER_PORT)`);
        const subgraphEnv = containerEnvironment(rendered(), onlyContainer(deploymentOf(rendered(), component)));
        assert.equal(Number(subgraphEnv[`${prefix}_CONTAINER_PORT`]), port, `the ${component} service listens where the gateway calls it`);
      }
    });

    test('secrets: Key Vault objects mounted at SECRETS_MNT_PATH, each service with its own key', () => {
      for (const component of COMPONENTS) {
        const d = deploymentOf(rendered(), component);
        const c = onlyContainer(d);
        const env = containerEnvironment(rendered(), c);
        assert.equal(env.SECRETS_PROVIDER ?? 'files', 'files');
        const mount = mountHolding(d, c, env.SECRETS_MNT_PATH ?? image.env.SECRETS_MNT_PATH ?? './secrets');
        assert.ok(mount?.volume.csi && mount.mount.mountPath === env.SECRETS_MNT_PATH, `${ref(d)}: the Key Vault CSI volume is mounted at SECRETS_MNT_PATH`);
        assert.equal(mount.mount.readOnly, true, `${ref(d)}: secrets are mounted read-only`);
        const spc = find<ISecretProviderClass>(rendered(), 'SecretProviderClass', mount.volume.csi.volumeAttributes!.secretProviderClass!);
        const files = keyVaultObjects(spc).map((o) => o.objectAlias ?? o.objectName);
        const needed = component === 'approval' ? COMPONENTS.map((s) => SERVICES[s].apiKey) : [SERVICES[component].apiKey];
        for (const key of needed) assert.ok(files.includes(key), `${ref(spc)} does not mount ${key} for the ${component} service`);
        if (component !== 'approval') {
          for (const other of COMPONENTS.filter((s) => s !== component)) {
            assert.ok(!files.includes(SERVICES[other].apiKey), `${ref(spc)} gives the ${component} service the ${other} service's key`);
          }
        }
      }
      for (const spc of ofKind<ISecretProviderClass>(rendered(), 'SecretProviderClass')) {
        const p = spc.spec.parameters;
        assert.match(p.keyvaultName, /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/, `${ref(spc)}: keyvaultName is a Key Vault name`);
        assert.match(p.tenantId, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, `${ref(spc)}: tenantId is a GUID`);
        const objects = keyVaultObjects(spc);
        const files = new Set<string>();
        for (const o of objects) {
          assert.equal(o.objectType, 'secret', `${ref(spc)}: ${o.objectName} is a secret`);
          assert.match(o.objectName, /^[0-9a-zA-Z-]{1,127}$/, `${ref(spc)}: ${o.objectName} is a Key Vault secret name (letters, digits, '-')`);
          const file = o.objectAlias ?? o.objectName;
          assert.ok(isSecretName(file), `${ref(spc)}: the services cannot read a secret file named '${file}'`);
          assert.ok(!files.has(file), `${ref(spc)}: two objects write the file ${file}`);
          files.add(file);
        }
      }
    });

    test('the PostgreSQL destination and OPAL: the publish service reads its settings, and every secret they name is mounted in its pod', () => {
      const d = deploymentOf(rendered(), 'publish');
      const c = onlyContainer(d);
      const env = containerEnvironment(rendered(), c);
      for (const name of CONTRACT_DESTINATION_SETTINGS) {
        assert.ok(settingOf(name)?.services.includes('publish'), `${name} (the contract's) is a setting of the publish service`);
      }
      // All or none, with valid values: the service's own reader throws naming the first problem.
      const settings = readPostgresqlSettings(env);
      if (folder === 'k8s/overlays/example') {
        assert.ok(settings, 'the example overlay configures the PostgreSQL destination');
        const missing = CONTRACT_DESTINATION_SETTINGS.filter((name) => env[name] === undefined);
        assert.deepEqual(missing, [], `the example overlay sets every setting of the contract's PostgreSQL destination and OPAL`);
      }
      if (!settings) return;
      const mount = mountHolding(d, c, env.SECRETS_MNT_PATH ?? image.env.SECRETS_MNT_PATH ?? './secrets');
      assert.ok(mount?.volume.csi, `${ref(d)}: secrets come from the Key Vault CSI volume`);
      const spc = find<ISecretProviderClass>(rendered(), 'SecretProviderClass', mount.volume.csi.volumeAttributes!.secretProviderClass!);
      const files = keyVaultObjects(spc).map((o) => o.objectAlias ?? o.objectName);
      const named = Object.keys(env).filter((name) => /^DESTINATION_.*_SECRET_NAME$/.test(name));
      assert.deepEqual(named.sort(), ['DESTINATION_OPAL_PASSWORD_SECRET_NAME', 'DESTINATION_POSTGRESQL_OPAL_READONLY_PASSWORD_SECRET_NAME', 'DESTINATION_POSTGRESQL_PASSWORD_SECRET_NAME']);
      for (const name of named) {
        const secret = env[name]!;
        assert.ok(isSecretName(secret), `${name}=${secret} is a secret name the services can read`);
        assert.ok(files.includes(secret), `${ref(spc)} does not mount the secret '${secret}' that ${name} names`);
      }
    });

    test('filestore destinations: only the publish service mounts {mount}/staging and {mount}/production, each a claim of its own', () => {
      const claimsMountedBy = new Map<string, string[]>();
      for (const component of COMPONENTS) {
        const d = deploymentOf(rendered(), component);
        const c = onlyContainer(d);
        for (const { volume } of mountsWithVolumes(d, c)) {
          if (volume.persistentVolumeClaim) claimsMountedBy.set(volume.persistentVolumeClaim.claimName, [...(claimsMountedBy.get(volume.persistentVolumeClaim.claimName) ?? []), component]);
        }
        const env = containerEnvironment(rendered(), c);
        const mounts = new StorageMounts(env);
        if (component !== 'publish') {
          assert.deepEqual(mounts.names(), [], `${ref(d)}: only the publish service has filestore destinations`);
          continue;
        }
        const destinationClaims = new Set<string>();
        for (const name of mounts.names()) {
          const root = mounts.root(name);
          for (const area of ['staging', 'production']) {
            const at = path.posix.join(root, area);
            const held = mountsWithVolumes(d, c).filter(({ mount }) => mount.mountPath.replace(/\/$/, '') === at);
            assert.equal(held.length, 1, `${ref(d)}: destination ${name} needs one volume mounted at ${at}`);
            const { mount, volume } = held[0]!;
            assert.equal(mount.subPath ?? mount.subPathExpr, undefined, `${ref(d)}: ${at} mounts the whole volume, no subPath`);
            assert.ok(!mount.readOnly, `${ref(d)}: ${at} is writable`);
            assert.ok(volume.persistentVolumeClaim, `${ref(d)}: ${at} is a PersistentVolumeClaim`);
            const claim = find<IPersistentVolumeClaim>(rendered(), 'PersistentVolumeClaim', volume.persistentVolumeClaim.claimName);
            assert.ok(!destinationClaims.has(claim.metadata.name), `${ref(claim)} is mounted for two areas or destinations`);
            destinationClaims.add(claim.metadata.name);
          }
        }
        for (const claim of destinationClaims) assert.deepEqual(claimsMountedBy.get(claim), ['publish'], `PersistentVolumeClaim/${claim} is mounted by ${claimsMountedBy.get(claim)?.join(', ')}`);
        if (folder !== 'k8s/base') assert.ok(mounts.names().length > 0, `${folder}: the publish service has no filestore destination`);
      }
    });

    test('the Ingress exposes only the gateway, over TLS', () => {
      const ingresses = ofKind<IIngress>(rendered(), 'Ingress');
      assert.ok(ingresses.length > 0);
      const approval = find<IService>(rendered(), 'Service', SERVICES.approval.name);
      for (const ingress of ingresses) {
        assert.equal(ingress.spec?.ingressClassName, 'nginx', `${ref(ingress)}: ingressClassName`);
        assert.equal(ingress.spec?.defaultBackend, undefined, `${ref(ingress)}: no default backend`);
        const tlsHosts = new Set((ingress.spec?.tls ?? []).flatMap((t) => {
          assert.ok(t.secretName, `${ref(ingress)}: every TLS entry names its certificate secret`);
          return t.hosts ?? [];
        }));
        for (const rule of ingress.spec?.rules ?? []) {
          assert.ok(rule.host && tlsHosts.has(rule.host), `${ref(ingress)}: host ${rule.host} is not covered by TLS`);
          for (const p of rule.http?.paths ?? []) {
            const backend = p.backend.service;
            assert.equal(backend?.name, approval.metadata.name, `${ref(ingress)}: ${p.path} routes to ${backend?.name}, not the gateway`);
            assert.ok(
              (approval.spec?.ports ?? []).some((sp) => (backend?.port?.name !== undefined ? sp.name === backend.port.name : sp.port === backend?.port?.number)),
              `${ref(ingress)}: ${p.path} names a port the gateway Service does not have`,
            );
          }
        }
      }
    });

    test('NetworkPolicies: only the ingress controller reaches the gateway, only the gateway reaches the subgraphs', () => {
      const policies = ofKind<INetworkPolicy>(rendered(), 'NetworkPolicy');
      const namespace = namespaceOf(rendered());
      const own = { namespace, namespaceLabels: { 'kubernetes.io/metadata.name': namespace } };
      const pod = (component: Component): PodEndpoint => {
        const d = deploymentOf(rendered(), component);
        return { name: component, labels: podLabels(d), ports: containerPorts(onlyContainer(d)), ...own };
      };
      const approval = pod('approval');
      const metadata = pod('metadata');
      const publish = pod('publish');
      const stranger: PodEndpoint = { name: 'another pod of the namespace', labels: { app: 'stranger' }, ports: {}, ...own };
      const elsewhere: PodEndpoint = { name: 'a pod of another namespace', labels: { app: 'elsewhere' }, ports: {}, namespace: 'elsewhere', namespaceLabels: { 'kubernetes.io/metadata.name': 'elsewhere' } };
      const dns: PodEndpoint = { name: 'cluster DNS', labels: { 'k8s-app': 'kube-dns' }, ports: {}, namespace: 'kube-system', namespaceLabels: { 'kubernetes.io/metadata.name': 'kube-system' } };

      // The ingress controller is whatever other namespace the gateway admits.
      const controllerSelectors = policies
        .filter((p) => selects(p.spec?.podSelector, approval.labels))
        .flatMap((p) => (p.spec?.ingress ?? []).flatMap((rule) => rule.from ?? []))
        .filter((peer) => peer.namespaceSelector)
        .map((peer) => peer.namespaceSelector!.matchLabels ?? {});
      assert.equal(controllerSelectors.length, 1, 'one namespace (the ingress controller) may reach the gateway');
      const controllerNamespace = controllerSelectors[0]!['kubernetes.io/metadata.name'] ?? 'ingress-controller';
      const controller: PodEndpoint = { name: 'the ingress controller', labels: { 'app.kubernetes.io/name': 'ingress-nginx' }, ports: {}, namespace: controllerNamespace, namespaceLabels: controllerSelectors[0]! };

      const allowed = (from: PodEndpoint, to: PodEndpoint) => connectionAllowed(policies, { from, to, port: to.ports.http! });
      const expectations: Array<[PodEndpoint, PodEndpoint, boolean]> = [
        [controller, approval, true],
        [approval, metadata, true],
        [approval, publish, true],
        [controller, metadata, false],
        [controller, publish, false],
        [metadata, publish, false],
        [publish, metadata, false],
        [metadata, approval, false],
        [stranger, approval, false],
        [stranger, metadata, false],
        [stranger, publish, false],
        [elsewhere, approval, false],
        [elsewhere, metadata, false],
        [elsewhere, publish, false],
      ];
      for (const [from, to, expected] of expectations) {
        assert.equal(allowed(from, to), expected, `${from.name} → ${to.name}:${to.ports.http} should be ${expected ? 'allowed' : 'denied'}`);
      }
      for (const protocol of ['UDP', 'TCP'] as const) {
        assert.ok(connectionAllowed(policies, { from: approval, to: dns, port: 53, protocol }), `the gateway resolves names (DNS ${protocol})`);
      }
      assert.ok(!connectionAllowed(policies, { from: approval, to: elsewhere, port: 443 }), 'the gateway talks to nothing but the subgraphs and DNS');
    });

    test('NetworkPolicies: metadata and publish reach DNS and, by address, only the site\'s ranges (those of SOURCE_ALLOWED_HOSTS among them); nothing allows every address', () => {
      const policies = ofKind<INetworkPolicy>(rendered(), 'NetworkPolicy');
      const namespace = namespaceOf(rendered());
      const dns: PodEndpoint = { name: 'cluster DNS', labels: { 'k8s-app': 'kube-dns' }, ports: {}, namespace: 'kube-system', namespaceLabels: { 'kubernetes.io/metadata.name': 'kube-system' } };
      for (const component of ['metadata', 'publish'] as const) {
        const d = deploymentOf(rendered(), component);
        const from: PodEndpoint = { name: component, labels: podLabels(d), ports: containerPorts(onlyContainer(d)), namespace, namespaceLabels: { 'kubernetes.io/metadata.name': namespace } };
        assert.ok(policiesSelecting(policies, from, 'Egress').length > 0, `${component}: an egress policy selects its pods`);
        for (const protocol of ['UDP', 'TCP'] as const) assert.ok(connectionAllowed(policies, { from, to: dns, port: 53, protocol }), `${component} resolves names (DNS ${protocol})`);
        const { cidrs, unrestrictedRule } = egressBlocks(policies, from);
        assert.ok(!unrestrictedRule, `${component}: no egress rule without peers (that would allow every destination)`);
        for (const cidr of cidrs) assert.ok(Number(cidr.split('/')[1]) > 0, `${component}: ${cidr} allows every address`);
        for (const [address, port] of [['8.8.8.8', 443], ['1.1.1.1', 5432], ['169.254.169.254', 80], ['2001:4860:4860::8888', 443]] as const) {
          assert.ok(!egressAllowsAddress(policies, from, address, port), `${component} must not reach ${address}:${port}`);
        }
        const env = containerEnvironment(rendered(), onlyContainer(d));
        for (const range of SourceHosts.parse(env.SOURCE_ALLOWED_HOSTS).ranges) {
          const address = range.cidr.split('/')[0]!;
          for (const port of new Set([range.from, range.to])) {
            assert.ok(egressAllowsAddress(policies, from, address, port), `${component}: SOURCE_ALLOWED_HOSTS allows ${range.cidr}:${port}, which no egress policy does`);
          }
        }
      }
    });

    test('source credentials: every source secret mounted matches SOURCE_SECRET_NAME_PATTERN, and no platform secret does', () => {
      for (const component of ['metadata', 'publish'] as const) {
        const d = deploymentOf(rendered(), component);
        const env = containerEnvironment(rendered(), onlyContainer(d));
        const policy = sourceSecretPolicyFromEnv(env);
        if (!policy.pattern) continue;
        const platform = new Set(policy.platformSecrets.map(normaliseSecretName));
        const mount = mountHolding(d, onlyContainer(d), env.SECRETS_MNT_PATH ?? '');
        const spc = find<ISecretProviderClass>(rendered(), 'SecretProviderClass', mount!.volume.csi!.volumeAttributes!.secretProviderClass!);
        for (const file of keyVaultObjects(spc).map((o) => o.objectAlias ?? o.objectName)) {
          if (platform.has(normaliseSecretName(file))) assert.ok(!policy.pattern.test(file), `${component}: the platform secret ${file} matches SOURCE_SECRET_NAME_PATTERN`);
          else assert.ok(policy.pattern.test(file), `${component}: ${file} is neither a platform secret nor a name SOURCE_SECRET_NAME_PATTERN allows (a request could never use it)`);
        }
      }
    });

    test('the HorizontalPodAutoscaler and PodDisruptionBudget target the gateway', () => {
      const approval = deploymentOf(rendered(), 'approval');
      const hpas = ofKind<IHorizontalPodAutoscaler>(rendered(), 'HorizontalPodAutoscaler');
      assert.equal(hpas.length, 1);
      const hpa = hpas[0]!;
      assert.deepEqual(hpa.spec?.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: approval.metadata.name });
      assert.equal(approval.spec?.replicas, undefined, `${ref(approval)}: no replicas field, the autoscaler owns the count`);
      const minReplicas = hpa.spec?.minReplicas ?? 1;
      assert.ok(minReplicas >= 2, 'at least two gateways, so one can be drained');
      for (const metric of hpa.spec?.metrics ?? []) {
        if (metric.type === 'Resource') assert.ok(onlyContainer(approval).resources?.requests?.[metric.resource!.name], `utilisation of ${metric.resource!.name} needs a request`);
      }
      const pdbs = ofKind<IPodDisruptionBudget>(rendered(), 'PodDisruptionBudget');
      assert.equal(pdbs.length, 1);
      const pdb = pdbs[0]!;
      for (const component of COMPONENTS) {
        assert.equal(selects(pdb.spec?.selector, podLabels(deploymentOf(rendered(), component))), component === 'approval', `${ref(pdb)} selects the ${component} pods`);
      }
      const minAvailable = pdb.spec?.minAvailable;
      assert.ok(typeof minAvailable === 'number' && minAvailable < minReplicas, `${ref(pdb)}: minAvailable ${minAvailable} must be below the autoscaler's minReplicas ${minReplicas}, or nodes cannot drain`);
    });
  });
}
