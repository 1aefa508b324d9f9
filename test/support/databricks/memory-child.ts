/**
 * Run in a child process by test/integration/sources/databricks/databricks-memory.slow.test.ts (node
 * --expose-gc): reads one table of the Databricks double through the
 * connector, as a package does, and reports the most heap and Arrow/Buffer
 * memory it held above what it held before the read, sampled after a full
 * collection every few milliseconds. Input: DBX_MEMORY (JSON) in the
 * environment; output: one JSON line on stdout.
 */
import { sourceSchema, type DatabricksSourceConfig } from '../../../lib/contract/index.js';
import { DatabricksConnector } from '../../../lib/connectors/databricks/connector.js';
import { databricksSource, SERVICE_PRINCIPAL } from './index.js';
import type { DatabricksDouble } from './server.js';

const input = JSON.parse(process.env.DBX_MEMORY ?? '{}') as { port: number; ca: string; warehousePath: string; table: string; fetchRows: number; concurrency: number };
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const double = { port: input.port, warehousePath: input.warehousePath } as DatabricksDouble;
const connector = new DatabricksConnector(sourceSchema.parse(databricksSource(double, 'research')) as DatabricksSourceConfig, SERVICE_PRINCIPAL, {}, {
  fetchRows: input.fetchRows,
  cloudFetchConcurrency: input.concurrency,
}, input.ca);

function sample(): { heap: number; buffers: number } {
  gc!();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers };
}

await connector.schemaTables('cohort');
const columns = (await connector.getColumns('cohort', [input.table])).get(input.table)!;
await connector.ping();
const snapshot = await connector.snapshot();
const base = sample();
let peak = { heap: 0, buffers: 0 };
const timer = setInterval(() => {
  const s = sample();
  peak = { heap: Math.max(peak.heap, s.heap - base.heap), buffers: Math.max(peak.buffers, s.buffers - base.buffers) };
}, 20);
let bytes = 0;
for await (const chunk of snapshot.csv('cohort', input.table, columns)) bytes += (chunk as Buffer).length;
clearInterval(timer);
const rows = snapshot.rowsRead('cohort', input.table);
await snapshot.close();
await connector.close();
process.stdout.write(`${JSON.stringify({ rows, bytes, peakHeap: peak.heap, peakBuffers: peak.buffers })}\n`);
