import type { DestinationType } from '../../../../lib/contract/index.js';
import { AppError } from '../../../../lib/errors.js';
import type { Logger } from '../../../../lib/logging/logger.js';
import type { SecretProvider } from '../../../../lib/secrets/index.js';
import type { Destination } from './destination.js';

/** What the service lends every destination it opens. */
export interface DestinationServices {
  secrets: SecretProvider;
  log: Logger;
}

/**
 * One kind of destination, as its folder declares it (`filestore/factory.ts`,
 * `postgresql/factory.ts`; registered in registry.ts): the settings it reads,
 * the formats a request may ask of it, and its implementation, imported only
 * when the service is configured with it.
 */
export interface DestinationFactory<Settings> {
  readonly type: DestinationType;
  /** The environment variables it reads (`{NAME}` stands for a destination's name). */
  readonly settings: readonly string[];
  /** The formats it writes; a request asking for another is refused where the destination is chosen. */
  readonly formats: readonly string[];
  /** Its settings from the environment; undefined when the environment does not configure it. */
  readSettings(env?: NodeJS.ProcessEnv): Settings | undefined;
  /** Imports the implementation and opens the destination with these settings. */
  load(settings: Settings, services: DestinationServices): Promise<Destination>;
}

/** INVALID_REQUEST (422): the destination does not write this format. Never a fallback to another format. */
export function unsupportedFormat(type: DestinationType, format: string, supported: readonly string[]): AppError {
  return new AppError('INVALID_REQUEST', `destination.format: '${format}' is not a format of the ${type} destination; it writes ${supported.join(', ')}.`);
}
