import { z } from 'zod';
import { isSecretName } from '../secrets/secret-name.js';

/**
 * A string that must be one of `values` whatever its case ("PostgreSQL",
 * "postgresql", "POSTGRESQL"), with optional aliases ("sqlserver" → "mssql").
 */
export function caseInsensitiveChoice<T extends readonly [string, ...string[]]>(
  values: T,
  aliases: Record<string, T[number]> = {},
) {
  const known = [...values, ...Object.keys(aliases)].join(', ');
  return z
    .string()
    .transform((v) => v.trim().toLowerCase())
    .transform((v) => (aliases[v] ?? v) as string)
    .pipe(z.enum(values, { message: `must be one of ${known} (any case)` }));
}

/** A secret's name, never its value: letters, digits, '-' and '_'. */
export const secretName = z
  .string()
  .refine(isSecretName, { message: "must be a secret name: 1 to 127 letters, digits, '-' or '_'" });

/** Longest table, column or schema name any supported source allows (SQL Server: 128). */
export const IDENTIFIER_MAX_LENGTH = 128;

/**
 * A table, column or schema name as the source spells it. Any characters the
 * source allows are accepted (they are always quoted), but never NUL or control
 * characters, and never longer than any source allows.
 */
export const identifier = z
  .string()
  .min(1, 'must not be empty')
  .max(IDENTIFIER_MAX_LENGTH, `must be at most ${IDENTIFIER_MAX_LENGTH} characters`)
  // eslint-disable-next-line no-control-regex
  .refine((v) => !/[\u0000-\u001f\u007f]/.test(v), { message: 'must not contain control characters' });

/** Free text the CLI may send as null. */
export const optionalText = z.string().nullish();
