import { AppError } from '../errors.js';

/** Secret names are letters, digits, `-` and `_`, at most this long (Key Vault allows 127). */
export const SECRET_NAME_MAX_LENGTH = 127;
const SECRET_NAME = /^[A-Za-z0-9_-]+$/;

/**
 * Checks a secret name before any lookup, so that a name can never become a path,
 * a URL segment or a query. Throws an INVALID_REQUEST error naming the field.
 */
export function assertSecretName(name: string, field = 'secret name'): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > SECRET_NAME_MAX_LENGTH || !SECRET_NAME.test(name)) {
    throw new AppError(
      'INVALID_REQUEST',
      `Invalid ${field}: secret names are 1 to ${SECRET_NAME_MAX_LENGTH} letters, digits, '-' or '_'.`,
    );
  }
  return name;
}

/** Whether a string is a well-formed secret name (for schema refinements). */
export function isSecretName(name: string): boolean {
  return name.length > 0 && name.length <= SECRET_NAME_MAX_LENGTH && SECRET_NAME.test(name);
}
