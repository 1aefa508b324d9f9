/**
 * The test scripts anyone can run: every folder of tests has an npm script
 * that runs exactly it (scripts/test.ts), every test file lies in a tier that
 * `npm test` or `npm run test:all` runs, and CI (.ci/run) runs the checks and
 * every test.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fromRoot } from '../../lib/paths.js';
import { isSlow, testFiles, TIERS } from '../../scripts/test.js';

const scripts = (JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const RUNNER = 'tsx scripts/test.ts';

/** Every folder under test/ that holds test files, at any depth (test/support holds none). */
function testFolders(): string[] {
  const folders = new Set<string>();
  for (const file of testFiles('test')) {
    for (let dir = path.dirname(file); dir !== 'test'; dir = path.dirname(dir)) folders.add(dir);
  }
  return [...folders].sort();
}

describe('npm scripts for the tests', () => {
  test('every folder of tests has a script that runs exactly that folder', () => {
    const runs = new Map(Object.entries(scripts).filter(([, command]) => command.startsWith(`${RUNNER} test/`)).map(([name, command]) => [command.slice(RUNNER.length + 1), name]));
    const missing = testFolders().filter((folder) => !runs.has(folder));
    assert.deepEqual(missing, [], `folders without a "${RUNNER} <folder>" script in package.json`);
    const stale = [...runs].filter(([folder]) => !testFolders().includes(folder)).map(([, name]) => name);
    assert.deepEqual(stale, [], 'scripts naming a folder that holds no tests');
  });

  test('npm test runs every tier without the slow files; test:all runs them too', () => {
    assert.equal(scripts.test, RUNNER);
    assert.equal(scripts['test:all'], `${RUNNER} --all`);
    const inTiers = TIERS.flatMap(testFiles);
    assert.deepEqual(inTiers.slice().sort(), testFiles('test'), 'every test file lies in a tier folder');
    assert.ok(inTiers.some(isSlow) && inTiers.some((f) => !isSlow(f)));
  });

  test('a test file is named *.test.ts, a slow one *.slow.test.ts', () => {
    const stray = readdirSync(fromRoot('test'), { recursive: true, encoding: 'utf8' })
      .filter((f) => !f.startsWith(`support${path.sep}`) && /\.(test|spec)\.|\.test$/.test(f) && !f.endsWith('.test.ts'));
    assert.deepEqual(stray, [], 'files that look like tests but no script runs');
  });

  test('.ci/run type-checks, lints, runs the cycle and duplicate checks and every test', () => {
    const ci = readFileSync(fromRoot('.ci', 'run'), 'utf8');
    for (const step of ['npx tsc --noEmit', 'npx eslint .', 'npm run check:cycles', 'npm run check:duplicates', 'npm run test:all']) {
      assert.match(ci, new RegExp(`^${step.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), `.ci/run runs ${step}`);
    }
  });
});
