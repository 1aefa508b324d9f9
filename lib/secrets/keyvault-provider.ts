import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import type { TokenCredential } from '@azure/core-auth';
import { AppError } from '../errors.js';
import type { SecretProvider } from './provider.js';
import { assertSecretName } from './secret-name.js';

interface RestErrorLike {
  statusCode?: number;
  code?: string;
}

/**
 * Secrets read straight from Azure Key Vault with `@azure/keyvault-secrets`, for
 * deployments that do not mount them with the CSI driver. Values are cached for
 * `cacheTtlMs` so that a burst of calls does not become a burst of vault reads.
 */
export class KeyVaultSecretProvider implements SecretProvider {
  readonly description: string;
  private readonly client: SecretClient;
  private readonly cache = new Map<string, { value: string; expires: number }>();
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly cacheTtlMs: number;

  constructor(vaultUrl: string, credential: TokenCredential, options: { cacheTtlMs?: number; clientOptions?: SecretClientOptions } = {}) {
    this.description = `Azure Key Vault ${vaultUrl}`;
    this.cacheTtlMs = options.cacheTtlMs ?? 60_000;
    this.client = new SecretClient(vaultUrl, credential, {
      retryOptions: { maxRetries: 2 },
      ...options.clientOptions,
    });
  }

  async get(name: string): Promise<string> {
    assertSecretName(name);
    const cached = this.cache.get(name);
    if (cached && cached.expires > Date.now()) return cached.value;
    // Concurrent reads of one secret share one vault request.
    let pending = this.inFlight.get(name);
    if (!pending) {
      pending = this.fetch(name).finally(() => this.inFlight.delete(name));
      this.inFlight.set(name, pending);
    }
    return pending;
  }

  private async fetch(name: string): Promise<string> {
    let value: string | undefined;
    try {
      value = (await this.client.getSecret(name)).value;
    } catch (error) {
      const { statusCode, code } = error as RestErrorLike;
      if (statusCode === 404 || code === 'SecretNotFound') {
        throw new AppError('SECRET_NOT_FOUND', `Secret '${name}' not found in ${this.description}.`);
      }
      if (statusCode === 400 && (code === 'BadParameter' || code === undefined)) {
        throw new AppError('INVALID_REQUEST', `Secret name '${name}' is not accepted by ${this.description} (Key Vault names are letters, digits and '-').`);
      }
      const why = statusCode ? `HTTP ${statusCode}` : (code ?? 'no answer');
      throw new AppError('SECRET_STORE_FAILED', `Secret '${name}' could not be read from ${this.description} (${why}).`, { cause: error });
    }
    if (value === undefined) throw new AppError('SECRET_NOT_FOUND', `Secret '${name}' in ${this.description} has no value.`);
    this.cache.set(name, { value, expires: Date.now() + this.cacheTtlMs });
    return value;
  }

  async check(): Promise<void> {
    try {
      // Listing one page proves the vault answers and the identity may read it.
      await this.client.listPropertiesOfSecrets().byPage({ maxPageSize: 1 }).next();
    } catch (error) {
      const { statusCode, code } = error as RestErrorLike;
      throw new AppError('SECRET_STORE_FAILED', `${this.description} cannot be read (${statusCode ? `HTTP ${statusCode}` : (code ?? 'no answer')}).`, { cause: error });
    }
  }
}
