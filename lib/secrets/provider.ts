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
  /** Throws when the store cannot be read at all (for readiness checks). */
  check(): Promise<void>;
}
