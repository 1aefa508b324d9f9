/**
 * The services' Node.js options (lib/service/launch.ts) are options this
 * Node.js accepts: a misspelt or removed V8 option stops `node` before the
 * service starts ("bad option", exit code 9). The production LTS is checked by
 * test/deploy/node-lts.slow.test.ts.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { assertNodeTakesServiceFlags } from '../support/processes.js';

const run = promisify(execFile);

test("each service's Node.js options start this Node.js", async () => {
  await assertNodeTakesServiceFlags(process.execPath, `Node.js ${process.versions.node}`);
});

test('a misspelt option is refused, so the test above can fail', async () => {
  await assert.rejects(run(process.execPath, ['--initial-old-space-sise=64', '-e', '0']), (error: { code?: number; stderr?: string }) => error.code === 9 && /bad option/.test(error.stderr ?? ''));
});
