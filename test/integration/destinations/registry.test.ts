/**
 * The destination registry: each destination folder's factory declares the
 * formats it writes, the contract accepts exactly those, and a format a
 * destination does not write is refused where the destination is chosen —
 * INVALID_REQUEST (422) naming the formats there are, never a fallback to CSV.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { destinationSchema, FILESTORE_FORMATS } from '../../../lib/contract/destination.js';
import type { DestinationConfig } from '../../../lib/contract/index.js';
import type { SourceSnapshot } from '../../../lib/connectors/connector.js';
import { AuditLog } from '../../../lib/audit/audit-log.js';
import { ApiKeyVerifier } from '../../../lib/auth/api-key.js';
import { transferRequestExample } from '../../../lib/contract/examples.js';
import { AppError } from '../../../lib/errors.js';
import { createLogger } from '../../../lib/logging/logger.js';
import { FileSecretProvider } from '../../../lib/secrets/index.js';
import { buildPublishApp } from '../../../subgraphs/publish/src/app.js';
import { readFilestoreSettings } from '../../../subgraphs/publish/src/destinations/filestore/settings.js';
import { StorageMounts } from '../../../subgraphs/publish/src/destinations/filestore/mount/mounts.js';
import { DESTINATION_FACTORIES, destinationFor, openDestinations } from '../../../subgraphs/publish/src/destinations/registry.js';
import { chunkedStream } from '../../support/csv-text.js';
import { columns, listTree, tempMount } from '../../support/filestore-fs.js';

/** A request's destination as a caller could send it, past the contract (as a direct call would be). */
function chosen(type: string, format: string): DestinationConfig {
  return { name: 'LSC', type, format } as unknown as DestinationConfig;
}

function refusedFormat(format: string, type: string, formats: string) {
  return (error: unknown) => {
    assert.ok(error instanceof AppError);
    assert.equal(error.code, 'INVALID_REQUEST');
    assert.equal(error.status, 422);
    assert.equal(error.detail, `destination.format: '${format}' is not a format of the ${type} destination; it writes ${formats}.`);
    return true;
  };
}

describe('destination registry', () => {
  let mount: { root: string; cleanup: () => Promise<void> };
  const services = { secrets: new FileSecretProvider(path.join('/nonexistent', 'secrets')), log: createLogger('test', 'silent') };

  before(async () => {
    mount = await tempMount();
  });
  after(() => mount.cleanup());

  test('each factory declares the formats the contract accepts for its type', () => {
    assert.deepEqual([...DESTINATION_FACTORIES.filestore.formats], [...FILESTORE_FORMATS]);
    assert.deepEqual([...DESTINATION_FACTORIES.postgresql.formats], ['sql']);
    for (const [type, factory] of Object.entries(DESTINATION_FACTORIES)) {
      assert.equal(factory.type, type);
      for (const format of factory.formats) assert.equal(destinationSchema.parse({ name: 'LSC', type, format }).format, format);
    }
  });

  test('each factory names the settings it reads', () => {
    assert.ok(DESTINATION_FACTORIES.filestore.settings.includes('TARGET_STORAGE_ACCOUNT_{NAME}_SDE_MNT_PATH'));
    assert.ok(DESTINATION_FACTORIES.filestore.settings.includes('DATA_WRITER__FILE_MAX_BYTES'));
    assert.ok(DESTINATION_FACTORIES.postgresql.settings.includes('DESTINATION_POSTGRESQL_HOST'));
    assert.ok(DESTINATION_FACTORIES.postgresql.settings.includes('DESTINATION_OPAL_HOST'));
  });

  test('only what the environment configures is opened: no DESTINATION_POSTGRESQL_HOST, no PostgreSQL destination', async () => {
    const destinations = await openDestinations({}, services, { TARGET_STORAGE_ACCOUNT_LSC_SDE_MNT_PATH: mount.root });
    assert.deepEqual(Object.keys(destinations), ['filestore']);
    assert.throws(
      () => destinationFor(destinations, chosen('postgresql', 'sql')),
      (error: unknown) => error instanceof AppError && error.code === 'DESTINATION_NOT_CONFIGURED' && error.detail === "Destination type 'postgresql' is not configured on this service; configured: filestore.",
    );
  });

  test('a format the destination does not write is refused where it is chosen, naming the formats it writes', async () => {
    const destinations = await openDestinations({ postgresql: null }, services, { TARGET_STORAGE_ACCOUNT_LSC_SDE_MNT_PATH: mount.root });
    assert.equal(destinationFor(destinations, chosen('filestore', 'duckdb')), destinations.filestore);
    assert.throws(() => destinationFor(destinations, chosen('filestore', 'parquet')), refusedFormat('parquet', 'filestore', 'csv, duckdb'));
    assert.throws(() => destinationFor(destinations, chosen('filestore', 'sql')), refusedFormat('sql', 'filestore', 'csv, duckdb'));
  });

  test('the filestore packages nothing for a format it does not write (no fallback to CSV)', async () => {
    const destinations = await openDestinations(
      { filestore: { mounts: new StorageMounts({ TARGET_STORAGE_ACCOUNT_LSC_SDE_MNT_PATH: mount.root }), settings: readFilestoreSettings({}) } },
      services,
      {},
    );
    const cols = columns({ id: { kind: 'int32' } });
    let opened = 0;
    const snapshot: SourceSnapshot = {
      csv: () => {
        opened += 1;
        return chunkedStream('id\n1\n2\n');
      },
      rowsRead: () => null,
      close: async () => undefined,
    };
    await assert.rejects(
      destinations.filestore!.package({
        project: 'RegistryProject',
        startTime: '20250101_000000',
        destination: chosen('filestore', 'parquet'),
        dataset: { catalog: 'c', schema: 'research', tables: [{ name: 'person', description: null, columns: cols, primaryKey: [] }] },
        snapshot,
      }),
      refusedFormat('parquet', 'filestore', 'csv, duckdb'),
    );
    assert.equal(opened, 0, 'no table was read');
    assert.deepEqual(await listTree(path.join(mount.root, 'staging')), []);
  });

  test('over HTTP, an unknown format answers the 422 envelope naming the formats, and nothing is written', async () => {
    const app = await buildPublishApp({
      log: createLogger('test', 'silent'),
      secrets: services.secrets,
      apiKey: new ApiKeyVerifier('registry-test-key'),
      mounts: new StorageMounts({ TARGET_STORAGE_ACCOUNT_LSC_SDE_MNT_PATH: mount.root }),
      audit: new AuditLog(undefined, () => undefined),
      postgresql: null,
    });
    try {
      const res = await app.inject({
        method: 'POST',
        url: '/data-publish/package',
        headers: { 'content-type': 'application/json', 'x-api-key': 'registry-test-key' },
        payload: { ...transferRequestExample, destination: { name: 'LSC', type: 'filestore', format: 'Parquet' } },
      });
      assert.equal(res.statusCode, 422);
      const body = res.json() as { status: string; payload: { detail: string } };
      assert.equal(body.status, 'error');
      assert.match(body.payload.detail, /destination\.format: must be one of csv, duckdb for a filestore destination/);
      assert.deepEqual(await listTree(path.join(mount.root, 'staging')), []);
    } finally {
      await app.close();
    }
  });
});
