/**
 * A PostgreSQL job engine alone in a process, for tests that kill it
 * (test/integration/jobs/crash.test.ts): `node --import tsx job-engine-child.ts
 * <database> <replica>`. It takes jobs with a handler that never finishes, and
 * writes one JSON line on stdout when it is ready (`{"ready":true}`) and when a
 * job reaches its handler (`{"started":"<id>"}`).
 */
import { FAST, openStore, silentLog } from './job-engine.js';
import { createPostgresJobEngine } from '../../lib/jobs/postgres/index.js';

const [database, replica] = process.argv.slice(2);
if (!database || !replica) throw new Error('usage: job-engine-child.ts <database> <replica>');
const store = await openStore(database);
const engine = await createPostgresJobEngine({ store, log: silentLog, replica, settings: { ...FAST, concurrency: 1 } });
const send = (message: unknown) => process.stdout.write(`${JSON.stringify(message)}\n`);
await engine.start(async (_job, context) => {
  send({ started: context.job.id });
  context.progress.plan([{ table: 'person', estimatedRows: 10 }]);
  context.progress.update('person', 3, 300);
  // Works until killed.
  await new Promise(() => undefined);
});
send({ ready: true });
