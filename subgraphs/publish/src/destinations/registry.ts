import { DESTINATION_TYPES } from '../../../../lib/contract/destination.js';
import type { DestinationConfig, DestinationType } from '../../../../lib/contract/index.js';
import { AppError } from '../../../../lib/errors.js';
import type { Destination, Destinations } from './destination.js';
import { unsupportedFormat, type DestinationFactory, type DestinationServices } from './factory.js';
import { filestoreFactory, type FilestoreConfig } from './filestore/factory.js';
import { postgresqlFactory } from './postgresql/factory.js';
import type { PostgresqlSettings } from './postgresql/settings.js';

/** Each destination's settings, by type. */
interface SettingsByType {
  filestore: FilestoreConfig;
  postgresql: PostgresqlSettings;
}

/** Every kind of destination there is, by type: the one place a new destination is registered. */
export const DESTINATION_FACTORIES: { [K in DestinationType]: DestinationFactory<SettingsByType[K]> } = {
  filestore: filestoreFactory,
  postgresql: postgresqlFactory,
};

/** Settings given instead of the environment's: a destination's own, or null for "not configured". */
export type GivenDestinationSettings = { [K in DestinationType]?: SettingsByType[K] | null };

/**
 * Opens every destination the environment (or `given`) configures, importing
 * only their implementations. A bad setting throws a ConfigError naming it.
 */
export async function openDestinations(given: GivenDestinationSettings, services: DestinationServices, env?: NodeJS.ProcessEnv): Promise<Destinations> {
  const destinations: Destinations = {};
  for (const type of DESTINATION_TYPES) {
    const destination = await open(type, given[type], services, env);
    if (destination) destinations[type] = destination;
  }
  return destinations;
}

async function open<K extends DestinationType>(type: K, given: SettingsByType[K] | null | undefined, services: DestinationServices, env?: NodeJS.ProcessEnv): Promise<Destination | undefined> {
  const factory: DestinationFactory<SettingsByType[K]> = DESTINATION_FACTORIES[type];
  const settings = given === undefined ? factory.readSettings(env) : given;
  return settings == null ? undefined : factory.load(settings, services);
}

/**
 * The destination a request chose, by its type and format:
 * DESTINATION_NOT_CONFIGURED naming the configured ones when the type is not
 * configured; INVALID_REQUEST naming the formats it writes when it does not write the format.
 */
export function destinationFor(destinations: Destinations, chosen: DestinationConfig): Destination {
  const found = destinations[chosen.type];
  if (!found) {
    const known = Object.keys(destinations).sort().join(', ') || '(none)';
    throw new AppError('DESTINATION_NOT_CONFIGURED', `Destination type '${chosen.type}' is not configured on this service; configured: ${known}.`);
  }
  const { formats } = DESTINATION_FACTORIES[chosen.type];
  if (!formats.includes(chosen.format)) throw unsupportedFormat(chosen.type, chosen.format, formats);
  return found;
}
