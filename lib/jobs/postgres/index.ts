/** Jobs in the platform database, with pg-boss as the queue (docs/state-store.md, "Jobs"). */
export { createPostgresJobEngine, type PostgresJobEngineOptions } from './engine.js';
export { postgresJobSettings, type PostgresJobSettings } from './settings.js';
export { QUEUE_SCHEMA, QUEUE_NAME, PG_BOSS_VERSION } from './queue-schema.js';
