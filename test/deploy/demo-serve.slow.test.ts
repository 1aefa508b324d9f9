/**
 * `npm run demo -- --serve`, as the README tells a user to try it: after the
 * demo it keeps the services up and prints the explorer's URL, the key, a
 * `curl` for each of the CLI's calls and where the bags are. The printed
 * calls are run as printed, by a shell, in order, and must publish a bag
 * that validates; then Ctrl-C (SIGINT) must stop everything and exit 0.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { validateBag } from '../../scripts/support/bag-validate.js';
import { fromRoot } from '../../lib/paths.js';
import { tempFolder } from '../support/filestore-fs.js';
import { findOnPath, skipWithoutProgram, spawnCollecting, type ServiceProcess } from '../support/processes.js';

const run = promisify(execFile);

/** Waits until the process has written `pattern` to stdout; fails early if it ends first. */
async function waitForOutput(p: ServiceProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = pattern.exec(p.stdout());
    if (found) return found;
    if (p.child.exitCode !== null) throw new Error(`the demo ended (code ${p.child.exitCode}) before printing ${pattern}:\n${p.stdout()}\n${p.stderr()}`);
    if (Date.now() > deadline) throw new Error(`the demo did not print ${pattern} in time:\n${p.stdout()}\n${p.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Processes still running whose command line or environment names `dir` (the demo's database and services do). */
async function processesNaming(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid)) {
    const [cmdline, environ] = await Promise.all(['cmdline', 'environ'].map((f) => readFile(path.join('/proc', pid, f), 'utf8').catch(() => '')));
    if (cmdline!.includes(dir) || environ!.includes(dir)) found.push(`${pid}: ${cmdline!.replaceAll('\0', ' ')}`);
  }
  return found;
}

describe('npm run demo -- --serve', { skip: skipWithoutProgram('curl', findOnPath('curl'), 'apt-get install curl') }, () => {
  test('serves after the demo: the explorer answers, the printed curls publish a third bag as printed, Ctrl-C stops everything and exits 0', { timeout: 240_000 }, async () => {
    const { dir, cleanup } = await tempFolder('cr8tor-demo-serve-');
    // Nothing but what any shell has; DEMO_DIR only keeps the test's run out of the checkout's var/demo.
    const demo = spawnCollecting(process.execPath, ['--import', 'tsx', fromRoot('scripts', 'demo.ts'), '--serve'], { PATH: process.env.PATH, HOME: process.env.HOME, DEMO_DIR: dir });
    try {
      await waitForOutput(demo, /^Ctrl-C stops the services and the database\.$/m, 200_000);
      const out = demo.stdout();
      const explorer = /^GraphQL explorer: (http:\/\/127\.0\.0\.1:\d+\/explorer)$/m.exec(out)?.[1];
      const key = /^Development key: +(\S+)$/m.exec(out)?.[1];
      assert.ok(explorer && key, `the URL and key are printed:\n${out}`);
      const page = await fetch(explorer);
      assert.equal(page.status, 200, 'the explorer opens without a key');
      assert.match(await page.text(), /GraphQL explorer/);
      const bags = [...out.matchAll(/^(?:Bags:)? +(\/\S+) \((csv|duckdb)\)$/gm)].map((m) => m[1]!);
      assert.equal(bags.length, 2, `both bags are named:\n${out}`);
      for (const bag of bags) assert.ok((await validateBag(bag)).valid, `${bag} is a valid bag`);

      // The CLI's calls, run by a shell exactly as printed, in order.
      const curls = out.split('\n').filter((line) => line.startsWith('curl '));
      const routes = curls.map((line) => /^curl -sS 'http:\/\/[^/']+(\/[a-z/]+)'/.exec(line)?.[1]);
      assert.deepEqual(routes, ['/project/validate', '/project/package', '/project/publish', '/graphql']);
      for (const line of curls) assert.ok(line.includes(`x-api-key: ${key}`), 'each curl carries the printed key');
      const answers = [];
      for (const line of curls.slice(0, 3)) answers.push(JSON.parse((await run('sh', ['-c', line])).stdout));
      const [validated, packaged, published] = answers;
      assert.equal(validated.status, 'success', JSON.stringify(validated));
      assert.deepEqual(validated.payload.tables.map((t: { name: string }) => t.name), ['person', 'visit', 'measurement']);
      assert.deepEqual(packaged.payload.data_retrieved.map((f: { file_path: string }) => f.file_path).sort(), ['data/outputs/measurement.csv', 'data/outputs/person.csv', 'data/outputs/visit.csv']);
      assert.equal(published.payload.data_published.length, 3);
      const third = /publish leaves a third bag at\n(\/\S+):$/m.exec(out)?.[1];
      assert.ok(third, 'where the third bag goes is printed');
      const check = await validateBag(third);
      assert.ok(check.valid, check.problems.join('; '));
      const graph = JSON.parse((await run('sh', ['-c', curls[3]!])).stdout);
      assert.equal(graph.data.project.validations.length, 1, JSON.stringify(graph));

      demo.child.kill('SIGINT');
      assert.equal(await demo.exited, 0, `the demo stops cleanly:\n${demo.stdout().slice(-500)}\n${demo.stderr()}`);
      assert.match(demo.stdout(), /SIGINT: stopping the services and the database\nStopped\.\n$/);
      await assert.rejects(fetch(explorer), 'the gateway is down');
      assert.deepEqual(await processesNaming(dir), [], 'no service or database of the demo is left running');
    } finally {
      if (demo.child.exitCode === null) demo.child.kill('SIGKILL');
      await cleanup();
    }
  });
});
