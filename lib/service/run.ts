import type { FastifyInstance } from 'fastify';
import { ApiKeyVerifier, apiKeySecretNames, type ServiceName } from '../auth/api-key.js';
import { ConfigError, readSettings, type SettingValues } from '../config/env.js';
import { loggingSettings, processSettings } from '../config/settings/index.js';
import { isAppError } from '../errors.js';
import { createLogger, type Logger } from '../logging/logger.js';
import { secretProviderFromEnv, type SecretProvider } from '../secrets/index.js';

/** What a service's builder is given once configuration and secrets are loaded. */
export interface ServiceBase {
  log: Logger;
  secrets: SecretProvider;
  apiKey: ApiKeyVerifier;
}

/**
 * Reads a service's API key from the secret store. A missing or empty key is a
 * ConfigError: a service without its key refuses to start (there is no default).
 */
export async function readApiKey(secrets: SecretProvider, service: ServiceName): Promise<string> {
  const name = apiKeySecretNames[service];
  let key: string;
  try {
    key = await secrets.get(name);
  } catch (error) {
    const why = isAppError(error) ? error.detail : String(error);
    // The operator reads this at start-up: name the store (a folder or a vault), which callers never see.
    throw new ConfigError(`The ${service} service has no API key: ${why} (${secrets.description})`);
  }
  if (key.trim().length === 0) throw new ConfigError(`The ${service} service has no API key: secret '${name}' is empty.`);
  return key;
}

/**
 * Starts a service process: reads and checks configuration, loads the API key,
 * builds the app, listens, and closes gracefully on SIGTERM/SIGINT. Any
 * configuration problem stops the process with one line naming it.
 */
export async function runService(
  service: ServiceName,
  portOf: () => number,
  build: (base: ServiceBase) => Promise<FastifyInstance>,
): Promise<void> {
  let log: Logger;
  let app: FastifyInstance;
  let port: number;
  let common: SettingValues<typeof processSettings>;
  try {
    log = createLogger(service, readSettings(loggingSettings).LOG_LEVEL);
    common = readSettings(processSettings);
    port = portOf();
    const secrets = await secretProviderFromEnv();
    const apiKey = new ApiKeyVerifier(await readApiKey(secrets, service));
    app = await build({ log, secrets, apiKey });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`${service}: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
  try {
    await app.listen({ port, host: common.BIND_HOST });
  } catch (error) {
    console.error(`${service}: cannot listen on ${common.BIND_HOST}:${port}: ${(error as Error).message}`);
    process.exit(1);
  }
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error('grace period over; exiting with calls still running');
      process.exit(1);
    }, common.SHUTDOWN_GRACE_MS);
    timer.unref();
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
