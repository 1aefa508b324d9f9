/**
 * The filestore destination: package tables into staging as CSV files or one
 * DuckDB database, publish them to production as a BagIt bag.
 */
export type { FilestoreFormat, FilestoreWriter, TableExtract, WriterOutput, WrittenFile } from './extract.js';
export { packageToStaging, writerFor, OUTPUTS_PATH, type PackageOptions, type PackageResult, type PackagedFile } from './staging.js';
export { publishToProduction, NOTHING_TO_PUBLISH_MESSAGE, type PublishOptions, type PublishResult, type PublishedFile } from './publish.js';
export { readFilestoreSettings, DEFAULT_FILE_MAX_BYTES, DEFAULT_DUCKDB_MEMORY_LIMIT, type FilestoreSettings, type CsvWriterOptions } from './settings.js';
export type { BagInfoFields } from './bagit.js';
export { CsvWriter } from './csv-writer.js';
export { duckdbType } from './duckdb-types.js';
export { StorageMounts, mountVariable } from './mounts.js';
