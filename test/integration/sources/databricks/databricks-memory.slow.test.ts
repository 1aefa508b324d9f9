/**
 * "At most SOURCE_DATABRICKS_FETCH_ROWS rows held per table" on the path real
 * warehouses use for large results: a wide table (16 text columns of 64
 * characters, 24,000 rows) comes as CloudFetch files of 8,000 rows, each one
 * LZ4-compressed Arrow record batch 20 times larger than fetchRows (400). A
 * child process (its own heap, nothing of the double in it) reads it through
 * the connector and reports the most heap and Buffer memory it held during
 * the read, after a full collection every few milliseconds. The bound: the
 * heap never holds more than a few fetches' worth of rows, far less than one
 * file's rows as values (8,000 rows × 16 strings is about 16 MB); the
 * buffers hold at most the downloaded files (concurrency 2, plus the one
 * being read, decompressed).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DatabricksDouble, SERVICE_PRINCIPAL } from '../../../support/databricks/index.js';
import { runToEnd } from '../../../support/processes.js';

const ROWS = 24_000;
const WIDTH = 16;
const FILE_ROWS = 8_000;
const FETCH_ROWS = 400;

let double: DatabricksDouble;

before(async () => {
  const text = (r: number, c: number) => `${String(r).padStart(8, '0')}:${String(c).padStart(2, '0')}:${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(2).slice((r * 7 + c) % 36, ((r * 7 + c) % 36) + 52)}`;
  double = await new DatabricksDouble({
    clients: { [SERVICE_PRINCIPAL.clientId]: SERVICE_PRINCIPAL.clientSecret },
    catalogs: [{
      name: 'research',
      schemas: {
        cohort: {
          tables: [{
            name: 'wide',
            columns: Array.from({ length: WIDTH }, (_, c) => ({ name: `t${c}`, typeName: 'STRING', typeText: 'string' })),
            rows: function* () {
              for (let r = 0; r < ROWS; r++) yield Array.from({ length: WIDTH }, (_, c) => text(r, c));
            },
          }],
        },
      },
    }],
    cloudFetch: { minRows: 0, fileRows: FILE_ROWS, linksPerPage: 2 },
  }).start();
});

after(async () => {
  assert.deepEqual(double.unexpected, []);
  assert.deepEqual(double.warehouse.unexpected, []);
  await double.close();
});

test('a wide CloudFetch result in files far larger than fetchRows is read holding a few fetches of rows at a time', async () => {
  const input = { port: double.port, ca: double.ca, warehousePath: double.warehousePath, table: 'wide', fetchRows: FETCH_ROWS, concurrency: 2 };
  const run = await runToEnd(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/support/databricks/memory-child.ts'], { ...process.env, DBX_MEMORY: JSON.stringify(input) }, 240_000);
  assert.equal(run.code, 0, run.stderr);
  const report = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { rows: number; bytes: number; peakHeap: number; peakBuffers: number };
  assert.equal(report.rows, ROWS);
  const select = double.warehouse.calls.find((c) => c.statement?.startsWith('SELECT') && c.statement.includes('`wide`'))!;
  assert.deepEqual([select.format, select.lz4], ['url', true]);
  assert.equal(double.storage.requests.filter((r) => r.status === 200).length, ROWS / FILE_ROWS);
  const MB = 1024 * 1024;
  const fileBytes = ROWS / FILE_ROWS > 0 ? (report.bytes / ROWS) * FILE_ROWS : 0;
  // One file's rows as values would be about 16 MB of heap; a few fetches of 400 rows stay under 8 MB.
  assert.ok(report.peakHeap < 8 * MB, `heap held ${(report.peakHeap / MB).toFixed(1)} MB`);
  // Downloaded files (2 ahead) and the one being read, decompressed: about 3 files' bytes.
  assert.ok(report.peakBuffers < 4 * fileBytes + 4 * MB, `buffers held ${(report.peakBuffers / MB).toFixed(1)} MB (a file is about ${(fileBytes / MB).toFixed(1)} MB)`);
});
