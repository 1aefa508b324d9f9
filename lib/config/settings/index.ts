/**
 * The registry of every environment variable the services read, each defined
 * once (lib/config/settings/*.ts). The services read them through these groups
 * (readSettings), docs/configuration.md's table is generated from them
 * (`npm run docs:settings`), and the deployment tests check the manifests
 * against them.
 */
import type { SettingFamily, SettingGroup, SettingSpec } from '../env.js';
import { postgresqlDestinationSettings } from './destination-postgresql.js';
import { graphqlLimitSettings, operationNameSettings } from './graphql.js';
import { connectionLimitSettings } from './http.js';
import { catalogApprovalSettings, destinationMounts, filestoreSettings, jobObservabilitySettings, packageDeadlineSettings } from './publish.js';
import { auditSettings, projectLogSettings } from './records.js';
import { platformStoreSettings } from './store.js';
import { jobSettings } from './jobs.js';
import { azureIdentitySettings, secretStoreSettings } from './secrets.js';
import { gatewaySettings, loggingSettings, metadataSettings, processSettings, publishPortSettings } from './service.js';
import { catalogPoolSettings, connectorSettings, sourceSecretSettings } from './sources.js';

/** The groups, in the order the documentation lists them. */
const GROUPS: readonly SettingGroup[] = [
  gatewaySettings,
  metadataSettings,
  publishPortSettings,
  processSettings,
  loggingSettings,
  secretStoreSettings,
  azureIdentitySettings,
  connectionLimitSettings,
  graphqlLimitSettings,
  operationNameSettings,
  auditSettings,
  projectLogSettings,
  platformStoreSettings,
  jobSettings,
  connectorSettings,
  catalogPoolSettings,
  sourceSecretSettings,
  packageDeadlineSettings,
  jobObservabilitySettings,
  catalogApprovalSettings,
  filestoreSettings,
  postgresqlDestinationSettings,
];

/** One registered variable. */
export interface RegisteredSetting {
  name: string;
  spec: SettingSpec;
}

/** Every single variable, once each; a name defined twice differently is a programming error. */
export const SETTINGS: readonly RegisteredSetting[] = (() => {
  const byName = new Map<string, SettingSpec>();
  for (const group of GROUPS) {
    for (const [name, spec] of Object.entries(group)) {
      const known = byName.get(name);
      if (known && known !== spec) throw new Error(`The setting ${name} is defined twice.`);
      byName.set(name, spec);
    }
  }
  return [...byName].map(([name, spec]) => ({ name, spec }));
})();

/** The families of variables (one per destination name, …). */
export const SETTING_FAMILIES: readonly SettingFamily[] = [destinationMounts];

/** The registered setting or family a variable belongs to; undefined for a name no service reads. */
export function settingOf(variable: string): SettingSpec | undefined {
  return SETTINGS.find((s) => s.name === variable)?.spec ?? SETTING_FAMILIES.find((f) => f.pattern.test(variable));
}

/**
 * The secret names the `…_SECRET_NAME` settings hold in this environment (set
 * ones only): the platform's own secrets, besides the API keys.
 */
export function configuredSecretNames(env: NodeJS.ProcessEnv = process.env): string[] {
  const names: string[] = [];
  for (const { name, spec } of SETTINGS) {
    const value = spec.secretName ? env[name]?.trim() : undefined;
    if (value) names.push(value);
  }
  return names;
}

/** A setting's default as the documentation shows it: its words, its value, or `—` when it has none. */
export function defaultOf(spec: SettingSpec): string {
  if (spec.defaultText !== undefined) return spec.defaultText;
  const parsed = spec.schema.safeParse(undefined);
  if (!parsed.success || parsed.data === undefined) return '—';
  if (Array.isArray(parsed.data)) return parsed.data.length === 0 ? '—' : parsed.data.join(', ');
  return String(parsed.data);
}

export { catalogPoolSettings, connectorSettings, sourceSecretSettings } from './sources.js';
export { gatewaySettings, loggingSettings, metadataSettings, processSettings, publishPortSettings } from './service.js';
export { azureIdentitySettings, secretStoreSettings } from './secrets.js';
export { connectionLimitSettings } from './http.js';
export { graphqlLimitSettings, operationNameSettings } from './graphql.js';
export { auditSettings, projectLogSettings } from './records.js';
export { platformStoreSettings } from './store.js';
export { packageDeadlineSettings, jobObservabilitySettings, catalogApprovalSettings, filestoreSettings, destinationMounts, DEFAULT_PACKAGE_DEADLINE_MS, DEFAULT_FILE_MAX_BYTES, DEFAULT_DUCKDB_MEMORY_LIMIT, DEFAULT_DUCKDB_THREADS, DUCKDB_SIZE } from './publish.js';
export { jobSettings, DEFAULT_JOBS_CONCURRENCY, DEFAULT_JOB_HEARTBEAT_MS, DEFAULT_JOB_ABANDONED_AFTER_MS, DEFAULT_JOBS_SHUTDOWN_GRACE_MS } from './jobs.js';
export { postgresqlDestinationSettings } from './destination-postgresql.js';
