/** Databricks settings from the environment (lib/config/connector-settings.ts). */
export interface DatabricksSettings {
  /**
   * How long to keep asking a stopped SQL warehouse for a session while it
   * starts (it answers HTTP 503 meanwhile); default 5 minutes.
   */
  warehouseStartTimeoutMs?: number;
  /** Rows asked for per FetchResults call; at most this many rows are held as values per table. */
  fetchRows?: number;
  /** Ask for Arrow results (servers of protocol V5 and later); off: column-based Thrift rows. */
  arrow?: boolean;
  /** Ask for LZ4-compressed Arrow, inline and in CloudFetch files (protocol V6 and later). */
  lz4?: boolean;
  /** Let the warehouse answer large results with CloudFetch links to cloud storage (protocol V3 and later). */
  cloudFetch?: boolean;
  /** CloudFetch files downloaded ahead at once (each is held whole until read). */
  cloudFetchConcurrency?: number;
}

export const DEFAULT_WAREHOUSE_START_TIMEOUT_MS = 300_000;
export const DEFAULT_FETCH_ROWS = 10_000;

/** Every setting with its default: the driver's own defaults are never relied on. */
export function databricksSettings(settings: DatabricksSettings = {}): Required<DatabricksSettings> {
  return {
    warehouseStartTimeoutMs: settings.warehouseStartTimeoutMs ?? DEFAULT_WAREHOUSE_START_TIMEOUT_MS,
    fetchRows: settings.fetchRows ?? DEFAULT_FETCH_ROWS,
    arrow: settings.arrow ?? true,
    lz4: settings.lz4 ?? true,
    cloudFetch: settings.cloudFetch ?? true,
    cloudFetchConcurrency: settings.cloudFetchConcurrency ?? 2,
  };
}
