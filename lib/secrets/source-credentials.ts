import { createHash, timingSafeEqual } from 'node:crypto';
import { apiKeySecretNames } from '../auth/api-key.js';
import { ConfigError, readSettings } from '../config/env.js';
import { configuredSecretNames, sourceSecretSettings } from '../config/settings/index.js';
import { AppError } from '../errors.js';
import type { SecretProvider } from './provider.js';
import { assertSecretName } from './secret-name.js';

/**
 * Which secret names a request may use as source credentials. The platform's
 * own secrets never: a request names the secret AND the host its value is sent
 * to, so a platform secret named there would be handed to whoever the caller
 * points the platform at.
 */
export interface SourceSecretPolicy {
  /** The platform's secret names, as configured (read for the value check). */
  readonly platformSecrets: readonly string[];
  /** When set, a source credential's name must match it whole (SOURCE_SECRET_NAME_PATTERN). */
  readonly pattern?: RegExp | undefined;
}

/** A secret a request names, with the request field that names it (for messages). */
export interface NamedSecret {
  field: string;
  name: string;
}

/**
 * A secret name reduced to what identifies it whatever the spelling: Key Vault
 * names are case-insensitive, and the CSI driver can alias a vault object to any
 * file name, so `PublishServiceApiKey`, `publish-service-api-key` and
 * `publishserviceapikey` are one secret here.
 */
export function normaliseSecretName(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '');
}

/**
 * The policy the environment gives: the three API key names, the value of
 * every setting that names a secret (`…_SECRET_NAME`), and SOURCE_SECRET_NAME_PATTERN when set (an
 * invalid expression is a ConfigError naming the setting).
 */
export function sourceSecretPolicyFromEnv(env?: NodeJS.ProcessEnv): SourceSecretPolicy {
  const platformSecrets = [...new Set([...Object.values(apiKeySecretNames), ...configuredSecretNames(env)])];
  const raw = readSettings(sourceSecretSettings, env).SOURCE_SECRET_NAME_PATTERN;
  if (raw === undefined) return { platformSecrets };
  let pattern: RegExp;
  try {
    pattern = new RegExp(`^(?:${raw})$`, 'u');
  } catch (error) {
    throw new ConfigError(`Invalid setting SOURCE_SECRET_NAME_PATTERN: not a valid regular expression (${(error as Error).message}).`);
  }
  const clash = platformSecrets.find((name) => pattern.test(name));
  if (clash) throw new ConfigError(`Invalid setting SOURCE_SECRET_NAME_PATTERN: it matches the platform's own secret '${clash}'; choose a pattern no platform secret matches.`);
  return { platformSecrets, pattern };
}

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * The one gate every source credential passes through (openConnector, for
 * every source type). A name that is a platform secret's (in any spelling) or
 * outside SOURCE_SECRET_NAME_PATTERN is refused before any lookup; a value
 * equal to a platform secret's value (an alias, a copy, a link in the secrets
 * folder) is refused after. Both refusals read the same, naming the field and
 * the setting, never whether the secret exists; the reason goes to the log.
 */
export class SourceCredentials {
  private readonly reserved: Set<string>;

  constructor(
    private readonly secrets: SecretProvider,
    private readonly policy: SourceSecretPolicy,
  ) {
    this.reserved = new Set(policy.platformSecrets.map(normaliseSecretName));
  }

  /** The values of the named secrets, in order, once every name and value has passed. */
  async resolve(named: readonly NamedSecret[]): Promise<string[]> {
    for (const { field, name } of named) {
      assertSecretName(name, field);
      if (this.reserved.has(normaliseSecretName(name))) throw refused({ field, name }, 'the name is a platform secret\'s');
      if (this.policy.pattern && !this.policy.pattern.test(name)) throw refused({ field, name }, 'the name does not match SOURCE_SECRET_NAME_PATTERN');
    }
    const [values, platform] = await Promise.all([Promise.all(named.map((n) => this.secrets.get(n.name))), this.platformDigests()]);
    values.forEach((value, i) => {
      const digest = sha256(value);
      // Every comparison runs, so the time taken says nothing about which one matched.
      let same = false;
      for (const p of platform) same = timingSafeEqual(digest, p) || same;
      if (same) throw refused(named[i]!, 'the value is a platform secret\'s value');
    });
    return values;
  }

  /**
   * Digests of the platform secrets this service can read, read afresh each
   * time (a rotated secret counts at once; the providers cache). One it cannot
   * read is not in the set, nor is an empty one (an empty value is no secret).
   */
  private async platformDigests(): Promise<Buffer[]> {
    const read = await Promise.all(this.policy.platformSecrets.map((name) => this.secrets.get(name).catch(() => '')));
    return read.filter((value) => value !== '').map(sha256);
  }
}

function refused({ field, name }: NamedSecret, reason: string): AppError {
  return new AppError(
    'SECRET_NOT_ALLOWED',
    `Secret '${name}' (${field}) may not be used as a source credential: the platform's own secrets never may, and SOURCE_SECRET_NAME_PATTERN limits which names can.`,
    { cause: new Error(`source credential refused: ${reason}`) },
  );
}
