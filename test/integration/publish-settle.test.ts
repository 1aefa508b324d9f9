/**
 * A publish removes its staging folder before it answers, and its last step
 * (removing the receipt beside it) runs only once the answer has reached the
 * caller (issue #17): a process stopped after the bag went into place but
 * before its caller heard leaves a publish that the caller's repeat answers
 * in full, with both job engines.
 *
 * The answer's delivery is the call's `answered` promise (lib/http/call.ts),
 * held here by the test: the window a SIGKILL hits by chance in
 * test/e2e/crash.slow.test.ts is opened and held on purpose. A fresh service on
 * the same mount and store stands for the restarted process.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuditLog } from '../../lib/audit/audit-log.js';
import { publishPayloadSchema, publishRequestSchema, toRestPayload, type PublishResult } from '../../lib/contract/index.js';
import { AppError } from '../../lib/errors.js';
import type { CallContext } from '../../lib/http/service.js';
import type { JobEngine } from '../../lib/jobs/engine.js';
import { MemoryJobEngine } from '../../lib/jobs/memory.js';
import { ServiceMetrics } from '../../lib/metrics/metrics.js';
import { ProjectLog } from '../../lib/project-log.js';
import { FileSecretProvider } from '../../lib/secrets/index.js';
import { MemoryApprovals } from '../../subgraphs/publish/src/approvals/store.js';
import type { PublishDeps } from '../../subgraphs/publish/src/deps.js';
import { filestoreDestination } from '../../subgraphs/publish/src/destinations/filestore/destination.js';
import { StorageMounts } from '../../subgraphs/publish/src/destinations/filestore/mount/mounts.js';
import { NOTHING_TO_PUBLISH_MESSAGE, publishReceipt, RECEIPTS } from '../../subgraphs/publish/src/destinations/filestore/publish.js';
import { readFilestoreSettings } from '../../subgraphs/publish/src/destinations/filestore/settings.js';
import { publishJobHandler } from '../../subgraphs/publish/src/jobs/handler.js';
import { Settlements } from '../../subgraphs/publish/src/jobs/settlements.js';
import { publishAndWait } from '../../subgraphs/publish/src/jobs/sync.js';
import { tempMount } from '../support/filestore-fs.js';
import { openJobStore, silentLog, type JobStore } from '../support/job-engine.js';

const PROJECT = 'SettleProject';
let mount: { root: string; cleanup: () => Promise<void> };
let js: JobStore;
let starts = 0;

before(async () => {
  mount = await tempMount();
  js = await openJobStore('publish_settle');
});

after(async () => {
  await js?.drop();
  await mount?.cleanup();
});

/** One publish service's working parts, as buildPublishApp puts them together (a restart: another one on the same mount and store). */
async function service(engine: 'memory' | 'postgresql', replica: string): Promise<PublishDeps> {
  const jobs: JobEngine = engine === 'memory' ? new MemoryJobEngine({ log: silentLog, replica }) : await js.engine(replica);
  const deps: PublishDeps = {
    secrets: new FileSecretProvider('/nonexistent'),
    connectorOptions: {},
    destinations: { filestore: filestoreDestination(new StorageMounts({ TARGET_STORAGE_ACCOUNT_LSC_SDE_MNT_PATH: mount.root }), readFilestoreSettings({}), { host: replica }) },
    validations: new ProjectLog(),
    approvals: { store: new MemoryApprovals(1024 * 1024), allowDrift: false, requireValidation: false },
    obs: { service: 'publish', audit: new AuditLog(undefined, () => undefined), metrics: new ServiceMetrics('publish') },
    packageDeadlineMs: 60_000,
    jobs,
    settlements: new Settlements(silentLog),
  };
  await jobs.start(publishJobHandler(deps));
  return deps;
}

/** What a package leaves in staging: two CSV files under data/outputs. */
async function staged(startTime: string): Promise<{ staging: string; receipt: string; bag: string }> {
  const staging = path.join(mount.root, 'staging', PROJECT, startTime);
  const receipt = path.join(mount.root, 'staging', RECEIPTS, publishReceipt({ project: PROJECT, startTime }));
  await mkdir(path.join(staging, 'data', 'outputs'), { recursive: true });
  await writeFile(path.join(staging, 'data', 'outputs', 'person.csv'), 'id,name\n1,Ada\n2,Grace\n');
  await writeFile(path.join(staging, 'data', 'outputs', 'visit.csv'), 'id,person_id\n10,1\n');
  return { staging, receipt, bag: path.join(mount.root, 'production', PROJECT, startTime) };
}

const request = (startTime: string) =>
  publishRequestSchema.parse({ project_name: PROJECT, project_start_time: startTime, destination: { name: 'LSC', type: 'filestore', format: 'csv' } });

/** A call whose answer reaches its caller when the test says (`deliver(true)`), or never (`deliver(false)`: it left). */
function heldCall(requestId: string): { call: CallContext; deliver: (reached: boolean) => void } {
  let deliver!: (reached: boolean) => void;
  const answered = new Promise<boolean>((resolve) => (deliver = resolve));
  return { call: { requestId, keyId: 'key-test', log: silentLog, answered }, deliver };
}

const delivered = (requestId: string): CallContext => ({ requestId, keyId: 'key-test', log: silentLog, answered: Promise.resolve(true) });

/** What REST answers of a publication: the payload without its warnings. */
const restPayload = (result: PublishResult) => toRestPayload(publishPayloadSchema, result);

async function nothingToPublish(work: Promise<unknown>): Promise<void> {
  await assert.rejects(work, (e: unknown) => e instanceof AppError && e.code === 'NOTHING_TO_PUBLISH' && e.detail === NOTHING_TO_PUBLISH_MESSAGE);
}

for (const engine of ['memory', 'postgresql'] as const) {
  describe(`a publish's last step follows its answer (${engine} jobs)`, () => {
    const nextStart = () => `20250701_0000${String(starts++).padStart(2, '0')}`;

    test('the answer not yet delivered: the bag is in place and staging keeps its receipt; after a restart the repeat answers the same bag, a further one nothing-to-publish', async () => {
      const start = nextStart();
      const { staging, receipt, bag } = await staged(start);
      const first = await service(engine, `replica-a-${engine}`);
      const held = heldCall('req-first');
      const answer: PublishResult = await publishAndWait(request(start), first, held.call);
      assert.ok(existsSync(path.join(bag, 'bagit.txt')), 'the bag is in place');
      assert.equal(existsSync(staging), false, 'the staging folder went before the answer');
      assert.equal((await readFile(receipt, 'utf8')).trim().length, 128, 'the receipt (a SHA-512) stays');
      // The process dies here, its answer never written: the held promise is never resolved.
      await first.jobs.close();

      const restarted = await service(engine, `replica-b-${engine}`);
      const again = await publishAndWait(request(start), restarted, delivered('req-again'));
      assert.deepEqual(restPayload(again), restPayload(answer), 'the repeat answers what the unheard publish put in place');
      assert.deepEqual([answer.warnings, again.warnings.map((w) => /put its bag in production and stopped before it answered/.test(w))], [[], [true]], 'and says so in its warnings');
      await restarted.settlements.idle(PROJECT, start);
      assert.equal(existsSync(receipt), false, 'heard now: the receipt is removed');
      assert.equal(existsSync(path.dirname(receipt)), false, 'and the receipts folder, now empty');
      await nothingToPublish(publishAndWait(request(start), restarted, delivered('req-further')));
      await restarted.jobs.close();
    });

    test('the staging folder is removed before the answer, its receipt once the answer has reached the caller and not before', async () => {
      const start = nextStart();
      const { staging, receipt, bag } = await staged(start);
      const deps = await service(engine, `replica-c-${engine}`);
      const held = heldCall('req-held');
      await publishAndWait(request(start), deps, held.call);
      // Time for a settle that did not wait to run.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(existsSync(staging), false, 'the staging folder went before the answer');
      assert.ok(existsSync(receipt), 'the receipt stays while the answer is on its way');
      held.deliver(true);
      await deps.settlements.idle(PROJECT, start);
      assert.equal(existsSync(receipt), false);
      assert.ok(existsSync(path.join(bag, 'manifest-sha512.txt')), 'the bag stays');
      await deps.jobs.close();
    });

    test('the caller left before its answer: staging keeps the receipt, and the caller’s repeat answers the bag', async () => {
      const start = nextStart();
      const { receipt } = await staged(start);
      const deps = await service(engine, `replica-d-${engine}`);
      const held = heldCall('req-left');
      const answer = await publishAndWait(request(start), deps, held.call);
      held.deliver(false);
      await deps.settlements.idle(PROJECT, start);
      assert.ok(existsSync(receipt), 'nothing settled for a caller who never heard');
      assert.deepEqual(restPayload(await publishAndWait(request(start), deps, delivered('req-retry'))), restPayload(answer));
      await deps.settlements.idle(PROJECT, start);
      assert.equal(existsSync(receipt), false);
      await deps.jobs.close();
    });

    test('the caller’s next call right after its answer waits for the last step: nothing-to-publish, never a busy lock or a repeat', async () => {
      const start = nextStart();
      await staged(start);
      const deps = await service(engine, `replica-e-${engine}`);
      const held = heldCall('req-first');
      await publishAndWait(request(start), deps, held.call);
      held.deliver(true);
      // Sent in the same tick as the delivery: the settle has not started yet.
      await nothingToPublish(publishAndWait(request(start), deps, delivered('req-next')));
      await deps.jobs.close();
    });

    test('a publish nobody waits on (startPublish): staging is removed once the job’s end is recorded', async () => {
      const start = nextStart();
      const { staging, receipt, bag } = await staged(start);
      const deps = await service(engine, `replica-f-${engine}`);
      const { job } = await deps.jobs.submit({ job: { kind: 'publish', request: request(start) }, startedBy: 'key-test', requestId: 'req-async' });
      const final = await deps.jobs.wait(job.id);
      assert.equal(final.state, 'succeeded', JSON.stringify(final.error));
      await deps.settlements.idle(PROJECT, start);
      assert.equal(existsSync(staging), false, 'the staging folder went before the job ended');
      assert.equal(existsSync(receipt), false, 'the recorded job is the answer: the receipt is removed');
      assert.ok(existsSync(path.join(bag, 'bagit.txt')));
      assert.equal(final.publish_result?.data_published.length, 2);
      await nothingToPublish(publishAndWait(request(start), deps, delivered('req-after')));
      await deps.jobs.close();
    });
  });
}
