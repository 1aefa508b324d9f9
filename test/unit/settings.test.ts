/**
 * The settings registry (lib/config/settings) and the documentation generated
 * from it: docs/configuration.md's table is what `npm run docs:settings` writes,
 * docs/deployment.md links to it rather than repeating it, and every setting
 * reads as its definition says (defaults, and one line naming a bad value).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, readSettings } from '../../lib/config/env.js';
import { configuredSecretNames, defaultOf, SETTING_FAMILIES, SETTINGS } from '../../lib/config/settings/index.js';
import { fromRoot } from '../../lib/paths.js';
import { BEGIN_MARKER, CONFIGURATION_DOC, END_MARKER, withSettingsSection } from '../../scripts/docs-settings.js';

test('docs/configuration.md holds the table `npm run docs:settings` generates', () => {
  const committed = readFileSync(CONFIGURATION_DOC, 'utf8');
  assert.ok(committed.includes(BEGIN_MARKER) && committed.includes(END_MARKER), 'docs/configuration.md has the settings markers');
  const generated = withSettingsSection(committed);
  const differing = generated.split('\n').filter((line, i) => committed.split('\n')[i] !== line);
  assert.ok(
    generated === committed,
    `docs/configuration.md's settings table differs from lib/config/settings: run \`npm run docs:settings\` and commit the result. First differing generated line:\n${differing[0] ?? '(lines removed)'}`,
  );
  for (const { name } of SETTINGS) assert.ok(committed.includes(`| \`${name}\` |`), `${name} is in the table`);
});

test('docs/deployment.md links to the configuration table and repeats no setting in a table', () => {
  const deployment = readFileSync(fromRoot('docs', 'deployment.md'), 'utf8');
  assert.match(deployment, /\]\(configuration\.md\)/);
  const names = new Set(SETTINGS.map((s) => s.name));
  for (const line of deployment.split('\n')) {
    const first = /^\|\s*`([A-Z][A-Z0-9_]+)`/.exec(line);
    assert.ok(!first || !names.has(first[1]!), `docs/deployment.md repeats the setting ${first?.[1]} in a table: link to docs/configuration.md instead`);
  }
});

test('every setting is defined once, upper case, described, with services and a default that parses', () => {
  const seen = new Set<string>();
  for (const { name, spec } of [...SETTINGS, ...SETTING_FAMILIES.map((f) => ({ name: f.name, spec: f }))]) {
    assert.match(name, /^[A-Z][A-Z0-9_{}]*[A-Z0-9]$/, name);
    assert.ok(!seen.has(name), `${name} twice`);
    seen.add(name);
    assert.ok(spec.description.trim().length > 10, `${name} has a description`);
    assert.ok(spec.services.length > 0, `${name} names the services that read it`);
    assert.ok(spec.schema.safeParse(undefined).success, `${name}: unset parses (a default or optional)`);
    assert.ok(defaultOf(spec).length > 0);
    // A setting holding a secret's name ends in _SECRET_NAME, and the reverse: the trust boundary reserves their values.
    assert.equal(Boolean(spec.secretName), name.endsWith('_SECRET_NAME'), `${name}: secretName iff …_SECRET_NAME`);
  }
});

test('defaults apply to unset and empty variables; values are trimmed', () => {
  for (const { name, spec } of SETTINGS) {
    const unset = readSettings({ [name]: spec }, {})[name];
    assert.deepEqual(readSettings({ [name]: spec }, { [name]: '   ' })[name], unset, `${name}: empty is unset`);
  }
  const port = SETTINGS.find((s) => s.name === 'APPROVAL_PORT')!.spec;
  assert.equal(readSettings({ APPROVAL_PORT: port }, {}).APPROVAL_PORT, 8000);
  assert.equal(readSettings({ APPROVAL_PORT: port }, { APPROVAL_PORT: ' 9000 ' }).APPROVAL_PORT, 9000);
});

test('a bad value is one ConfigError line naming the setting and the value', () => {
  const bad: Record<string, string> = {
    APPROVAL_PORT: '70000',
    LOG_LEVEL: 'loud',
    SECRETS_PROVIDER: 'vault',
    HTTP_MAX_CONNECTIONS: '-1',
    GRAPHQL_MAX_DEPTH: '2',
    SOURCE_MSSQL_ENCRYPT: 'maybe',
    DUCKDB_MEMORY_LIMIT: 'lots',
    DUCKDB_THREADS: '0',
    DESTINATION_OPAL_HOST: 'not a url',
  };
  for (const [name, value] of Object.entries(bad)) {
    const spec = SETTINGS.find((s) => s.name === name)!.spec;
    assert.throws(
      () => readSettings({ [name]: spec }, { [name]: value }),
      (e: unknown) => e instanceof ConfigError && e.message.startsWith(`Invalid setting ${name}: `) && e.message.includes(JSON.stringify(value)) && !e.message.includes('\n'),
      name,
    );
  }
});

test('the platform secrets the …_SECRET_NAME settings name are read from the registry', () => {
  assert.deepEqual(configuredSecretNames({ DESTINATION_OPAL_PASSWORD_SECRET_NAME: ' opal-password ', DESTINATION_POSTGRESQL_PASSWORD_SECRET_NAME: '', UNRELATED: 'x' }), ['opal-password']);
});

/** The services' TypeScript sources outside the registry itself. */
function serviceSources(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (full.endsWith('.ts') && !full.startsWith(fromRoot('lib', 'config', 'settings'))) out.push(full);
    }
  };
  for (const folder of ['lib', 'gateway/src', 'subgraphs']) walk(fromRoot(folder));
  return out;
}

test('every registered setting is used: the code reads its value (`.NAME`) outside the registry', () => {
  const code = serviceSources().map((file) => readFileSync(file, 'utf8')).join('\n');
  for (const { name } of SETTINGS) assert.match(code, new RegExp(`\\.${name}\\b`), `${name} is registered but no service code reads it: remove it, or use it`);
});

test('no service code reads the environment but through lib/config', () => {
  for (const file of serviceSources()) {
    if (file.startsWith(fromRoot('lib', 'config'))) continue;
    const text = readFileSync(file, 'utf8');
    // The one use outside lib/config writes (switches Apollo's telemetry off), never reads.
    const reads = [...text.matchAll(/process\.env\b(?!\.APOLLO_TELEMETRY_DISABLED = )/g)];
    assert.equal(reads.length, 0, `${path.relative(fromRoot(), file)} reads process.env: define the setting in lib/config/settings and read it with readSettings`);
  }
});
