/**
 * Where secret values come from. Requests and settings carry secret *names*;
 * a provider turns a checked name into its value.
 */
export interface SecretProvider {
  /** A human description for logs and errors ("files in /mnt/secrets", "Key Vault https://…"). */
  readonly description: string;
  /**
   * The value of the named secret. Throws SECRET_NOT_FOUND (naming the secret,
   * never a value) when it does not exist, INVALID_REQUEST when the name is malformed.
   */
  get(name: string): Promise<string>;
  /**
   * Readiness: reads the named secret from the store now (not from a cache)
   * and throws SECRET_STORE_FAILED, saying why and never the value, when it
   * cannot. The name is one the service must read anyway (its API key), so the
   * check needs no permission beyond reading that secret: a Key Vault access
   * policy with Get alone (no List) is enough.
   */
  check(name: string): Promise<void>;
}
