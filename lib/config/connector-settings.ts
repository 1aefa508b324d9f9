import type { ConnectorOptions } from '../connectors/connector.js';
import { readEnv, setting } from './env.js';

/** Source connection settings shared by both subgraphs. */
export const connectorSettings = {
  SOURCE_CONNECT_TIMEOUT_MS: setting.positiveInt(10_000),
  SOURCE_STATEMENT_TIMEOUT_MS: setting.positiveInt(3_600_000),
};

export function connectorOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): ConnectorOptions {
  const s = readEnv(connectorSettings, env);
  return { connectTimeoutMs: s.SOURCE_CONNECT_TIMEOUT_MS, statementTimeoutMs: s.SOURCE_STATEMENT_TIMEOUT_MS };
}
