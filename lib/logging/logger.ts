import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * The JSON logger every service writes with. Header values that carry keys and
 * any field named like a password or token are redacted, so a careless log call
 * cannot leak a secret. Services pass LOG_LEVEL (lib/config/settings/service.ts).
 */
export function createLogger(service: string, level: string, destination?: DestinationStream): Logger {
  const options = {
    name: service,
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'req.headers["x-api-key"]',
        'req.headers.authorization',
        'headers["x-api-key"]',
        'headers.authorization',
        '*.password',
        '*.token',
        '*.apiKey',
        '*.secret',
      ],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
