/** Databricks settings from the environment (lib/config/connector-settings.ts). */
export interface DatabricksSettings {
  /**
   * How long to keep asking a stopped SQL warehouse for a session while it
   * starts (it answers HTTP 503 meanwhile); default 5 minutes.
   */
  warehouseStartTimeoutMs?: number;
  /** Rows asked for per FetchResults call; at most this many are held in memory per table. */
  fetchRows?: number;
}

export const DEFAULT_WAREHOUSE_START_TIMEOUT_MS = 300_000;
export const DEFAULT_FETCH_ROWS = 10_000;
