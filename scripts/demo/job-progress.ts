/**
 * The demo's package as an admin tool runs it: `Mutation.startPackage` answers
 * a job at once, and `Query.job` is polled while it runs, printing a line for
 * a table whenever its state changes, and at most every
 * {@link LINE_INTERVAL_MS} while it is read.
 */
import { toGraphQL } from '../../lib/contract/index.js';

const POLL_MS = 100;
const LINE_INTERVAL_MS = 500;

interface Progress {
  table: string;
  state: 'WAITING' | 'RUNNING' | 'DONE';
  rows: number;
  bytes: number;
  estimatedRows: number | null;
}

interface JobView {
  id: string;
  state: 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  replica: string | null;
  progress: Progress[];
  packageResult: { dataRetrieved: Array<{ filePath: string | null }> } | null;
  error: { code: string; detail: string } | null;
}

const JOB_FIELDS = 'id state replica progress { table state rows bytes estimatedRows } packageResult { dataRetrieved { filePath } } error { code detail }';

/** Starts the package as a job, prints its progress per table until it ends, and answers the staged files. */
export async function packageAsJob(gateway: string, apiKey: string, request: unknown): Promise<string[]> {
  const graphql = async (query: string, variables: Record<string, unknown>): Promise<Record<string, JobView>> => {
    const res = await fetch(`${gateway}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': apiKey },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: Record<string, JobView>; errors?: Array<{ message: string }> };
    if (!body.data || body.errors) throw new Error(`GraphQL answered ${res.status}: ${JSON.stringify(body.errors)}`);
    return body.data;
  };
  const started = (await graphql(`mutation Start($r: ProjectTransferRequest!) { startPackage(request: $r) { ${JOB_FIELDS} } }`, { r: toGraphQL(request) })).startPackage!;
  console.log(`  job ${started.id}: ${started.state.toLowerCase()} (Mutation.startPackage; progress from Query.job)`);
  const printed = new Map<string, { state: string; at: number }>();
  let job = started;
  for (;;) {
    const now = Date.now();
    for (const p of job.progress) {
      const last = printed.get(p.table);
      const changed = !last || last.state !== p.state;
      if (changed || (p.state === 'RUNNING' && now - last.at >= LINE_INTERVAL_MS)) {
        console.log(`  ${p.table.padEnd(12)} ${p.state.toLowerCase().padEnd(8)} ${describe(p)}`);
        printed.set(p.table, { state: p.state, at: now });
      }
    }
    if (job.state === 'SUCCEEDED' || job.state === 'FAILED' || job.state === 'CANCELLED') break;
    await new Promise((r) => setTimeout(r, POLL_MS));
    const next = (await graphql(`query Job($id: ID!) { job(id: $id) { ${JOB_FIELDS} } }`, { id: started.id })).job;
    if (!next) throw new Error(`job ${started.id} is gone`);
    job = next;
  }
  if (job.state !== 'SUCCEEDED') throw new Error(`the package job ${job.id} ended ${job.state}: ${job.error?.code} ${job.error?.detail}`);
  console.log(`  job ${job.id}: succeeded on ${job.replica}`);
  return (job.packageResult?.dataRetrieved ?? []).flatMap((d) => (d.filePath ? [d.filePath] : []));
}

function describe(p: Progress): string {
  const estimate = p.estimatedRows !== null && p.state !== 'DONE' ? ` of ~${p.estimatedRows}` : '';
  const percent = p.estimatedRows && p.state === 'RUNNING' ? ` (${Math.min(100, Math.floor((100 * p.rows) / p.estimatedRows))}%)` : '';
  return `${p.rows}${estimate} rows${percent}, ${(p.bytes / 1024).toFixed(1)} KiB`;
}
