import { z } from 'zod';
import type { ServiceName } from '../auth/api-key.js';

/** A configuration problem found at start-up; its message is one line naming the setting. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** How a setting's value is written and parsed. */
export interface SettingKind<S extends z.ZodType = z.ZodType> {
  /** Parses the trimmed value (undefined when unset or empty) into what the code uses, default included. */
  readonly schema: S;
  /** How the value is written, for the documentation (`port`, `true or false`, …). */
  readonly type: string;
}

/**
 * One environment variable a service reads: its definition, once, for the code
 * (the parse and the default) and for the documentation (docs/configuration.md
 * is generated from these by `npm run docs:settings`).
 */
export interface SettingSpec<S extends z.ZodType = z.ZodType> extends SettingKind<S> {
  /** The services that read it. */
  readonly services: readonly ServiceName[];
  /** What it does, one Markdown paragraph. */
  readonly description: string;
  /** The value is the name of a secret in the secret store, never a secret value. */
  readonly secretName?: boolean;
  /** The default in words, when it is not a constant (a folder of the machine) or needs saying. */
  readonly defaultText?: string;
}

/** Settings read together: each key is the variable's name. */
export type SettingGroup = Record<string, SettingSpec>;

/** What a group of settings reads as. */
export type SettingValues<G extends SettingGroup> = { [K in keyof G]: z.output<G[K]['schema']> };

/** A family of variables, one per name: `TARGET_STORAGE_ACCOUNT_{NAME}_SDE_MNT_PATH`. */
export interface SettingFamily extends SettingSpec {
  /** The documented name, with `{NAME}` where the member's name goes. */
  readonly name: string;
  /** Matches a member's variable; group 1 is the member's name. */
  readonly pattern: RegExp;
}

/** The services that read a setting every service reads. */
export const ALL_SERVICES: readonly ServiceName[] = ['approval', 'metadata', 'publish'];

/**
 * Reads and checks a group of settings from the environment. Empty variables
 * count as unset, so defaults apply. The first bad or missing setting throws a
 * {@link ConfigError} whose message names the variable and what it must be.
 */
export function readSettings<G extends SettingGroup>(group: G, env: NodeJS.ProcessEnv = process.env): SettingValues<G> {
  const input: Record<string, string | undefined> = {};
  const shape: Record<string, z.ZodType> = {};
  for (const [key, spec] of Object.entries(group)) {
    const value = env[key];
    input[key] = value === undefined || value.trim() === '' ? undefined : value.trim();
    shape[key] = spec.schema;
  }
  const result = z.object(shape).safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const name = String(issue.path[0] ?? '?');
    const got = input[name];
    const shown = got === undefined ? 'it is not set' : `got ${JSON.stringify(got.length > 80 ? `${got.slice(0, 80)}…` : got)}`;
    throw new ConfigError(`Invalid setting ${name}: ${issue.message} (${shown}).`);
  }
  return result.data as SettingValues<G>;
}

/** The members of a family that are set (not empty), by upper-cased member name, values trimmed. */
export function readSettingFamily(family: SettingFamily, env: NodeJS.ProcessEnv = process.env): Map<string, string> {
  const members = new Map<string, string>();
  for (const [key, value] of Object.entries(env)) {
    const match = family.pattern.exec(key);
    if (match && value !== undefined && value.trim() !== '') members.set(match[1]!.toUpperCase(), value.trim());
  }
  return members;
}

/** A group of settings, checked as one and typed as written. */
export function defineSettings<G extends SettingGroup>(group: G): G {
  return group;
}

const wholeNumber = (message: string) => z.coerce.number({ message }).int('must be a whole number');

/** Reusable setting kinds. */
export const setting = {
  port: (fallback: number) => ({
    schema: z.coerce.number({ message: 'must be a port number' }).int('must be a whole number').min(1, 'must be a port number from 1 to 65535').max(65535, 'must be a port number from 1 to 65535').default(fallback),
    type: 'port',
  }),
  string: (fallback: string) => ({ schema: z.string().default(fallback), type: 'text' }),
  optionalString: () => ({ schema: z.string().optional(), type: 'text' }),
  positiveInt: (fallback: number) => ({ schema: wholeNumber('must be a number').positive('must be positive').default(fallback), type: 'positive whole number' }),
  /** A whole number from `min` up, with why the floor is there. */
  intAtLeast: (fallback: number, min: number, why: string) => ({
    schema: z.coerce.number({ message: 'must be a number' }).int('must be a whole number').min(min, `must be at least ${min} (${why})`).default(fallback),
    type: `whole number ≥ ${min}`,
  }),
  bool: (fallback: boolean) => ({
    schema: z
      .enum(['true', 'false', '1', '0', 'yes', 'no', 'TRUE', 'FALSE', 'True', 'False'], { message: 'must be true or false' })
      .transform((v) => ['true', '1', 'yes'].includes(v.toLowerCase()))
      .default(fallback),
    type: 'true or false',
  }),
  url: () => ({ schema: z.url({ message: 'must be an absolute URL' }), type: 'URL' }),
  optionalUrl: () => ({ schema: z.url({ message: 'must be an absolute URL' }).optional(), type: 'URL' }),
  choice: <T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) => ({
    schema: z.enum(values, { message: `must be one of ${values.join(', ')}` }).default(fallback as never),
    type: values.map((v) => `\`${v}\``).join(', '),
  }),
} satisfies Record<string, (...args: never[]) => SettingKind>;
