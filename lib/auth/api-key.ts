import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The header every REST and GraphQL call carries its key in. */
export const API_KEY_HEADER = 'x-api-key';

/** The secret names holding each service's key, as the contract names them. */
export const apiKeySecretNames = {
  approval: 'approvalserviceapikey',
  metadata: 'metadataserviceapikey',
  publish: 'publishserviceapikey',
} as const;

export type ServiceName = keyof typeof apiKeySecretNames;

/** Random bytes in a new API key: 256 bits. */
export const API_KEY_BYTES = 32;

/** A fresh API key: {@link API_KEY_BYTES} random bytes, base64url (safe in a header and a file). */
export function newApiKey(): string {
  return randomBytes(API_KEY_BYTES).toString('base64url');
}

/**
 * Checks presented keys against the expected one in constant time: both sides are
 * hashed first, so neither the content nor the length of the key leaks through timing.
 */
export class ApiKeyVerifier {
  private readonly expectedDigest: Buffer;
  /** A short, non-reversible identifier of the key, for audit records and logs. */
  readonly keyId: string;

  constructor(expectedKey: string) {
    if (expectedKey.length === 0) throw new Error('An API key must not be empty.');
    this.expectedDigest = createHash('sha256').update(expectedKey, 'utf8').digest();
    this.keyId = `key-${this.expectedDigest.subarray(0, 6).toString('hex')}`;
  }

  /** Whether the presented header value is the expected key. */
  verify(presented: string | string[] | undefined): boolean {
    if (typeof presented !== 'string') return false;
    const digest = createHash('sha256').update(presented, 'utf8').digest();
    return timingSafeEqual(digest, this.expectedDigest);
  }
}
