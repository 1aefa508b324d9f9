/**
 * Runs the tests (the npm scripts `test`, `test:all` and `test:<tier>` call this).
 *
 *   tsx scripts/test.ts                 every tier, without the slow files (`npm test`)
 *   tsx scripts/test.ts --all           every test file (`npm run test:all`, what .ci/run runs)
 *   tsx scripts/test.ts test/e2e …      the files under these folders (or these files), slow ones included
 *
 * A slow file is named `*.slow.test.ts`: slow by nature (big data, a downloaded
 * Node.js, the demo and the benchmarks run whole), not by waiting. Files run
 * in parallel (TEST_CONCURRENCY, default 4: most of a test's time is spent
 * waiting on a database, a service or a socket, not on the CPU; on a machine
 * busy with other work, TEST_CONCURRENCY=1 keeps the tests that bound
 * latencies or deadlines from competing with each other); each creates its
 * own databases and ports. The reporter is scripts/test-reporter.ts.
 * One file or one test: `node --import tsx --test [--test-name-pattern=…] <file>`.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { run } from 'node:test';
import { pathToFileURL } from 'node:url';
import { fromRoot } from '../lib/paths.js';
import { reporter } from './test-reporter.js';

/**
 * The tier folders, in the order their files start. Starting with e2e (the
 * longest files) was tried: four e2e files at once, each starting three
 * services, made the tests that bound latencies fail on a busy machine.
 */
export const TIERS = ['test/unit', 'test/integration', 'test/e2e', 'test/deploy'] as const;

/** Test files (`*.test.ts`) under a folder of the repository (or that one file), sorted, as paths relative to the root. */
export function testFiles(folder: string): string[] {
  if (folder.endsWith('.test.ts')) return [folder];
  return readdirSync(fromRoot(folder), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.join(folder, f))
    .sort();
}

/**
 * Warnings of third-party code this repository cannot change, hidden in test
 * runs only, each for one documented reason:
 * - DEP0123 (a TLS server name that is an IP address): tedious 19, the SQL
 *   Server driver on Node.js 20 (lib/connectors/mssql/driver.ts), passes the
 *   server's address as the TLS server name; Node.js 20 ignores it with this
 *   warning. On Node.js 22 and later tedious 20 is loaded, which does not.
 */
const HIDDEN_WARNINGS = ['DEP0123'];

/** A file `npm test` leaves to `npm run test:all`. */
export const isSlow = (file: string): boolean => file.endsWith('.slow.test.ts');

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const all = args.includes('--all');
  const folders = args.filter((a) => a !== '--all');
  const files = folders.length > 0 ? folders.flatMap(testFiles) : TIERS.flatMap(testFiles).filter((f) => all || !isSlow(f));
  if (files.length === 0) throw new Error(`No test files under ${folders.join(', ')}`);

  // Test files run as child processes with this process's options (tsx's loader) and environment.
  process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, ...HIDDEN_WARNINGS.map((code) => `--disable-warning=${code}`)].filter(Boolean).join(' ');
  const concurrency = Number(process.env.TEST_CONCURRENCY ?? 4);
  const stream = run({ files: files.map((f) => fromRoot(f)), concurrency });
  stream.on('test:fail', (data: { todo?: string | boolean }) => {
    if (!data.todo) process.exitCode = 1;
  });
  await pipeline(stream, (source) => reporter(source, files.length), process.stdout);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
