import { z } from 'zod';

/** A configuration problem found at start-up; its message is one line naming the setting. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Settings read from the environment: each key is the variable's name. */
export type EnvShape = Record<string, z.ZodType>;

/**
 * Reads and checks settings from the environment. Empty variables count as unset,
 * so defaults apply. The first bad or missing setting throws a {@link ConfigError}
 * whose message names the variable and what it must be.
 */
export function readEnv<S extends EnvShape>(shape: S, env: NodeJS.ProcessEnv = process.env): { [K in keyof S]: z.output<S[K]> } {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(shape)) {
    const value = env[key];
    input[key] = value === undefined || value.trim() === '' ? undefined : value.trim();
  }
  const result = z.object(shape).safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const name = String(issue.path[0] ?? '?');
    const got = input[name];
    const shown = got === undefined ? 'it is not set' : `got ${JSON.stringify(got.length > 80 ? `${got.slice(0, 80)}…` : got)}`;
    throw new ConfigError(`Invalid setting ${name}: ${issue.message} (${shown}).`);
  }
  return result.data as { [K in keyof S]: z.output<S[K]> };
}

/** Reusable setting kinds. */
export const setting = {
  port: (fallback: number) =>
    z.coerce.number({ message: 'must be a port number' }).int('must be a whole number').min(1, 'must be a port number from 1 to 65535').max(65535, 'must be a port number from 1 to 65535').default(fallback),
  string: (fallback: string) => z.string().default(fallback),
  requiredString: () => z.string({ message: 'is required' }),
  optionalString: () => z.string().optional(),
  positiveInt: (fallback: number) => z.coerce.number({ message: 'must be a number' }).int('must be a whole number').positive('must be positive').default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no', 'TRUE', 'FALSE', 'True', 'False'], { message: 'must be true or false' })
      .transform((v) => ['true', '1', 'yes'].includes(v.toLowerCase()))
      .default(fallback),
  url: () => z.url({ message: 'must be an absolute URL' }),
  choice: <T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
    z.enum(values, { message: `must be one of ${values.join(', ')}` }).default(fallback as never),
};
