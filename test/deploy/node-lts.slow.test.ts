/**
 * The production image runs the current Node.js LTS (Dockerfile NODE_IMAGE);
 * this machine, and CI, run Node.js 20. The tests where the runtime matters
 * most, those of the drivers on the wire, TLS and the native DuckDB module,
 * run here a second time on the LTS: its official build comes from the npm
 * registry (node-<platform>-<arch>, pinned below), cached under var/node-lts.
 * A driver that works on Node.js 20 and not on the LTS (as tedious 19 did for
 * SQL Server sources given by IP address, lib/connectors/mssql/driver.ts)
 * fails here.
 *
 * They run with the dependencies npm installs on the LTS, as the image's build
 * does, not with this machine's node_modules: npm picks by Node.js version
 * (the optional `tedious20`, tedious 20 for Node.js 22 and later, is installed
 * only there). So the repository's files are copied to var/node-lts/project
 * and `npm ci` runs there on the LTS.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fromRoot } from '../../lib/paths.js';
import { assertNodeTakesServiceFlags, runToEnd } from '../support/processes.js';

/** The Node.js LTS release the tests below run on; its major must be the Dockerfile's. */
const NODE_LTS = '26.12.1';

/** The test files run on the LTS: drivers on the wire and their doubles, TLS, native and WebAssembly modules. */
const ON_LTS = [
  'mssql-connector', 'mssql-tls', 'mssql-code-pages', 'mssql-platform', 'databricks-connector', 'databricks-platform', 'secrets', 'four-sources',
  'extract-postgresql', 'extract-mysql', 'filestore-duckdb', 'postgresql-destination', 'postgresql-load-failures', 'postgresql-settings',
  'postgresql-readiness', 'postgresql-publish', 'source-credentials', 'source-hosts', 'pg-text-transform', 'filestore-csv',
].map(testFile);

/** A test file's path by its name, whichever tier folder holds it. */
function testFile(name: string): string {
  const found = readdirSync(fromRoot('test'), { recursive: true, encoding: 'utf8' }).find((f) => path.basename(f) === `${name}.test.ts`);
  if (!found) throw new Error(`No test file ${name}.test.ts under test/`);
  return path.join('test', found);
}

const run = promisify(execFile);

/** The LTS's `node`, downloaded once from the npm registry with `npm pack` (which checks the registry's integrity hash). */
async function ltsNode(): Promise<string> {
  const dir = fromRoot('var', 'node-lts', NODE_LTS);
  const node = path.join(dir, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
  if (existsSync(node)) return node;
  const pkg = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;
  await mkdir(path.dirname(dir), { recursive: true });
  const work = await mkdtemp(path.join(path.dirname(dir), '.download-'));
  try {
    const { stdout } = await run('npm', ['pack', '--silent', `${pkg}@${NODE_LTS}`, '--pack-destination', work], { cwd: work });
    await run('tar', ['xzf', path.join(work, stdout.trim().split('\n').at(-1)!), '-C', work]);
    await rm(dir, { recursive: true, force: true });
    await rename(path.join(work, 'package'), dir);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return node;
}

/** What is not copied into the LTS's project: installed, built, generated or version control. */
const NOT_COPIED = new Set(['node_modules', 'var', 'dist', '.git']);

/**
 * The repository's files, copied afresh to var/node-lts/project, with the
 * dependencies `npm ci` installs there when it runs on the LTS's `node` (this
 * machine's npm, whose `#!/usr/bin/env node` finds the LTS first on the PATH).
 * The install is kept until package.json, package-lock.json or NODE_LTS change.
 */
async function ltsProject(node: string): Promise<string> {
  const project = fromRoot('var', 'node-lts', 'project');
  const stamp = path.join(project, 'node_modules', '.installed-for');
  const installFor = createHash('sha256')
    .update(NODE_LTS)
    .update(readFileSync(fromRoot('package.json')))
    .update(readFileSync(fromRoot('package-lock.json')))
    .digest('hex');
  await mkdir(project, { recursive: true });
  for (const entry of await readdir(project)) if (entry !== 'node_modules') await rm(path.join(project, entry), { recursive: true, force: true });
  // Entry by entry: the project lies inside the repository (var/), which cp refuses to copy whole into itself.
  for (const entry of await readdir(fromRoot())) if (!NOT_COPIED.has(entry)) await cp(fromRoot(entry), path.join(project, entry), { recursive: true });
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== installFor) {
    const PATH = `${path.dirname(node)}${path.delimiter}${process.env.PATH ?? ''}`;
    await run('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: project, env: { ...process.env, PATH }, maxBuffer: 16 * 1024 * 1024 });
    await writeFile(stamp, installFor);
  }
  return project;
}

describe(`the production Node.js LTS (${NODE_LTS})`, () => {
  test('is the line the Dockerfile builds on', () => {
    const image = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(readFileSync(fromRoot('Dockerfile'), 'utf8'))?.[1];
    assert.equal(image, NODE_LTS.split('.')[0], `the Dockerfile's NODE_IMAGE is Node.js ${image}; update NODE_LTS in ${path.basename(import.meta.url)}`);
  });

  test("accepts each service's Node.js options (lib/service/launch.ts)", { timeout: 300_000 }, async () => {
    await assertNodeTakesServiceFlags(await ltsNode(), `Node.js ${NODE_LTS}`);
  });

  const sameLine = process.versions.node.split('.')[0] === NODE_LTS.split('.')[0];
  test('the driver, TLS and DuckDB tests pass on it', { timeout: 900_000, skip: sameLine && 'this run is on that Node.js line already' }, async () => {
    const node = await ltsNode();
    const { stdout: version } = await run(node, ['--version']);
    assert.equal(version.trim(), `v${NODE_LTS}`);
    const project = await ltsProject(node);
    assert.ok(existsSync(path.join(project, 'node_modules', 'tedious20', 'package.json')), `npm ci on Node.js ${NODE_LTS} did not install tedious20`);
    // A runner of its own: without NODE_TEST_CONTEXT, which tells a child it runs inside this test file.
    const { NODE_TEST_CONTEXT: _inside, ...env } = process.env;
    const result = await runToEnd(node, ['--import', 'tsx', '--test', '--test-reporter=spec', ...ON_LTS], env, 590_000, project);
    const output = result.stdout + result.stderr;
    const failures = output.indexOf('✖ failing tests:');
    assert.equal(result.code, 0, `on Node.js ${NODE_LTS}:\n${failures >= 0 ? output.slice(failures) : output.slice(-4000)}`);
    assert.match(output, /^ℹ fail 0$/m);
    assert.match(output, /^ℹ pass [1-9]\d*$/m);
  });
});
