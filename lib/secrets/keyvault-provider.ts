import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import type { TokenCredential } from '@azure/core-auth';
import { AppError } from '../errors.js';
import { BoundedCache } from './bounded-cache.js';
import type { SecretProvider } from './provider.js';
import { assertSecretName } from './secret-name.js';

interface RestErrorLike {
  statusCode?: number;
  code?: string;
}

/** How many secrets, and how many bytes of names and values, the cache holds at most. */
const CACHE_MAX_ENTRIES = 256;
const CACHE_MAX_BYTES = 1024 * 1024;

/** What the cache holds for a name: its value, or that the vault has no such secret. */
type Cached = { value: string } | { missing: true };

/**
 * Secrets read straight from Azure Key Vault with `@azure/keyvault-secrets`, for
 * deployments that do not mount them with the CSI driver. Answers (values, and
 * "no such secret") are cached for `cacheTtlMs` so that a burst of calls does
 * not become a burst of vault reads; the cache is bounded (least recently used
 * out), since requests choose the names. Messages name the secret, never the
 * vault: its URL goes to the log through the error's cause.
 */
export class KeyVaultSecretProvider implements SecretProvider {
  readonly description: string;
  private readonly client: SecretClient;
  private readonly cache: BoundedCache<Cached>;
  private readonly inFlight = new Map<string, Promise<string>>();

  constructor(vaultUrl: string, credential: TokenCredential, options: { cacheTtlMs?: number; cacheMaxEntries?: number; clientOptions?: SecretClientOptions } = {}) {
    this.description = `Azure Key Vault ${vaultUrl}`;
    this.cache = new BoundedCache<Cached>(
      { maxEntries: options.cacheMaxEntries ?? CACHE_MAX_ENTRIES, maxBytes: CACHE_MAX_BYTES, ttlMs: options.cacheTtlMs ?? 60_000 },
      (name, cached) => name.length + ('value' in cached ? Buffer.byteLength(cached.value) : 0),
    );
    this.client = new SecretClient(vaultUrl, credential, {
      retryOptions: { maxRetries: 2 },
      ...options.clientOptions,
    });
  }

  async get(name: string): Promise<string> {
    assertSecretName(name);
    const cached = this.cache.get(name);
    if (cached && 'value' in cached) return cached.value;
    if (cached) throw this.notFound(name, 'HTTP 404 (cached)');
    // Concurrent reads of one secret share one vault request.
    let pending = this.inFlight.get(name);
    if (!pending) {
      pending = this.fetch(name).finally(() => this.inFlight.delete(name));
      this.inFlight.set(name, pending);
    }
    return pending;
  }

  /** Entries the cache holds (tests). */
  get cachedEntries(): number {
    return this.cache.size;
  }

  private notFound(name: string, why: string, cause?: unknown): AppError {
    return new AppError('SECRET_NOT_FOUND', `Secret '${name}' not found in the secret store.`, { cause: new Error(`${this.description}: ${why}`, { cause }) });
  }

  private async fetch(name: string): Promise<string> {
    let value: string | undefined;
    try {
      value = (await this.client.getSecret(name)).value;
    } catch (error) {
      const { statusCode, code } = error as RestErrorLike;
      if (statusCode === 404 || code === 'SecretNotFound') {
        this.cache.set(name, { missing: true });
        throw this.notFound(name, 'HTTP 404', error);
      }
      if (statusCode === 400 && (code === 'BadParameter' || code === undefined)) {
        throw new AppError('INVALID_REQUEST', `Secret name '${name}' is not accepted by the secret store (Key Vault names are letters, digits and '-').`, { cause: error });
      }
      const why = statusCode ? `HTTP ${statusCode}` : (code ?? 'no answer');
      throw new AppError('SECRET_STORE_FAILED', `Secret '${name}' could not be read from the secret store (${why}).`, { cause: new Error(`${this.description}: ${why}`, { cause: error }) });
    }
    if (value === undefined) throw this.notFound(name, 'the secret has no value');
    this.cache.set(name, { value });
    return value;
  }

  async check(): Promise<void> {
    try {
      // Listing one page proves the vault answers and the identity may read it.
      await this.client.listPropertiesOfSecrets().byPage({ maxPageSize: 1 }).next();
    } catch (error) {
      const { statusCode, code } = error as RestErrorLike;
      const why = statusCode ? `HTTP ${statusCode}` : (code ?? 'no answer');
      throw new AppError('SECRET_STORE_FAILED', `The secret store cannot be read (${why}).`, { cause: new Error(`${this.description}: ${why}`, { cause: error }) });
    }
  }
}
