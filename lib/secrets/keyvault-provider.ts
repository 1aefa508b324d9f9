import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import type { TokenCredential } from '@azure/core-auth';
import { AppError } from '../errors.js';
import { BoundedCache } from './bounded-cache.js';
import type { SecretProvider } from './provider.js';
import { assertSecretName } from './secret-name.js';

interface RestErrorLike {
  statusCode?: number;
  code?: string;
  /** The error body as the client deserialises it (`innererror` arrives as `innerError`). */
  details?: { error?: { innerError?: { code?: unknown }; innererror?: { code?: unknown } } };
}

/** The errors `@azure/identity` throws when it cannot get a token. */
const CREDENTIAL_ERRORS = new Set(['AuthenticationError', 'AuthenticationRequiredError', 'AggregateAuthenticationError', 'CredentialUnavailableError']);

/**
 * Why the vault refused, for messages: the status, and for a refusal Key
 * Vault's inner code with what it means (`AccessDenied`: the identity lacks the
 * permission; `ForbiddenByRbac`: no role grants it). Never the vault's message,
 * which names the identity and the vault.
 */
function refusal(error: unknown): string {
  const name = (error as Error | undefined)?.name;
  if (name !== undefined && CREDENTIAL_ERRORS.has(name)) {
    // Entra's answer: its AADSTS code and OAuth error say what is wrong (the description, in the log, says more).
    const message = String((error as Error).message);
    const aadsts = /AADSTS(\d+)/.exec(message)?.[1];
    const oauth = /^(invalid_\w+|unauthorized_client|unsupported_grant_type)\b/.exec(message)?.[1];
    // Or a local cause, such as the federated token file (ENOENT, EACCES).
    const errno = /\b(E[A-Z]+): /.exec(message)?.[1];
    return `the service's Azure identity could not get a token: ${aadsts ? `AADSTS${aadsts}${oauth ? ` (${oauth})` : ''}` : `${name}${errno ? ` (${errno})` : ''}`}`;
  }
  const { statusCode, code, details } = error as RestErrorLike;
  if (!statusCode) return code ?? 'no answer';
  const inner = (details?.error?.innerError ?? details?.error?.innererror)?.code;
  if (statusCode === 403 && (inner === 'AccessDenied' || inner === 'ForbiddenByRbac')) {
    return `HTTP 403 ${inner}: the service's identity may not get secrets from this vault; it needs the Get permission on secrets (an access policy with Get, or the role Key Vault Secrets User)`;
  }
  if (statusCode === 403 && typeof inner === 'string') return `HTTP 403 ${inner}`;
  if (statusCode === 401) return "HTTP 401: the vault did not accept the service's token";
  return `HTTP ${statusCode}`;
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
      const why = refusal(error);
      throw new AppError('SECRET_STORE_FAILED', `Secret '${name}' could not be read from the secret store (${why}).`, { cause: new Error(`${this.description}: ${why}`, { cause: error }) });
    }
    if (value === undefined) throw this.notFound(name, 'the secret has no value');
    this.cache.set(name, { value });
    return value;
  }

  /**
   * Readiness: reads `name` from the vault now, past the cache (and refreshes
   * it), so only the Get permission is needed: no List. A secret the vault does
   * not have makes the store not ready too, since the service reads it.
   */
  async check(name: string): Promise<void> {
    assertSecretName(name);
    try {
      await this.fetch(name);
    } catch (error) {
      if (error instanceof AppError && error.code === 'SECRET_NOT_FOUND') {
        throw new AppError('SECRET_STORE_FAILED', `Secret '${name}', which this service reads, is not in the secret store (HTTP 404).`, { cause: error });
      }
      throw error;
    }
  }
}
