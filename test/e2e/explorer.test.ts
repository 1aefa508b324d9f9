/**
 * The GraphQL explorer (GraphiQL at /explorer), driven as a person drives it,
 * in a real headless Chromium: the page loads without a key and from the
 * gateway alone; run without a key, a query answers the gateway's 403; with
 * the key typed into the Headers tab, the schema is fetched for the docs and
 * the README's cross-subgraph query answers both subgraphs' data; and the key goes nowhere but /graphql.
 * The page's start query, given a running package's id in the Variables tab,
 * shows the package's progress growing.
 * Over a real PostgreSQL source.
 *
 * EXPLORER_SCREENSHOT=1 also writes docs/explorer.png (the page with the answer).
 */
import { readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page, Request } from 'playwright-core';
import { fromRoot } from '../../lib/paths.js';
import { DEFAULT_QUERY } from '../../gateway/src/explorer.js';
import { launchChromium, skipWithoutChromium, type Browser } from '../support/chromium.js';
import { createPgDatabase, pgSettings, type TestPgDatabase } from '../support/databases.js';
import { keys, startPlatform, type Platform } from '../support/platform.js';
import { dataset, graphqlInput, sqlSource, transferRequest, writeSourceSecrets } from '../support/requests.js';

/** The README's example of one query that both subgraphs answer. */
async function readmeQuery(): Promise<string> {
  const readme = await readFile(fromRoot('README.md'), 'utf8');
  const query = /so one query through the gateway spans both:\s*```graphql\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(query, 'README.md has the cross-subgraph query');
  return query;
}

/** Replaces the text of one of GraphiQL's editors as typing would (select all, then the new text as input). */
async function typeInto(page: Page, editor: string, text: string): Promise<void> {
  await page.locator(`${editor} .CodeMirror`).click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
}

const QUERY_EDITOR = 'section[aria-label="Query Editor"]';
const HEADERS_EDITOR = 'section[aria-label="Headers"] .graphiql-editor:not(.hidden)';
const VARIABLES_EDITOR = 'section[aria-label="Variables"] .graphiql-editor:not(.hidden)';

/** Runs the query in the editor and gives the HTTP status of /graphql's answer and the text the result pane shows. */
async function run(page: Page): Promise<{ status: number; shown: string }> {
  const answered = page.waitForResponse((res) => new URL(res.url()).pathname === '/graphql' && res.request().method() === 'POST' && !res.request().postData()?.includes('IntrospectionQuery'));
  await page.locator('button.graphiql-execute-button').click();
  const status = (await answered).status();
  // The pane is a CodeMirror editor that draws only the lines in view: its whole text comes from the editor (run in the page).
  // The predicate is a function, not a string: Playwright evaluates a string again at every poll, and the page's
  // Content-Security-Policy (no 'unsafe-eval') refuses that whenever the pane is not drawn at the first check.
  const shown = await page.waitForFunction(() => {
    const pane = (globalThis as unknown as ResultPage).document.querySelector('section[aria-label="Result Window"] .CodeMirror');
    const text = pane?.CodeMirror?.getValue().trim() ?? '';
    return text.startsWith('{') && text;
  });
  return { status, shown: String(await shown.jsonValue()) };
}

/** What `run` reads of the page (the tests have no DOM types). */
interface ResultPage {
  document: { querySelector(selector: string): { CodeMirror?: { getValue(): string } } | null };
}

const PROJECT = { project_name: 'DemoProject', project_start_time: '20250205_010101' };

let db: TestPgDatabase;
let platform: Platform;

before(async () => {
  db = await createPgDatabase();
  await db.client.query(`
    CREATE SCHEMA research;
    CREATE TABLE research.person (person_id integer PRIMARY KEY, born date);
    COMMENT ON TABLE research.person IS 'People in the cohort';
    -- Rows trickle out for about 30 s (5 ms each): a package of it is seen running.
    CREATE VIEW research.trickle AS SELECT g AS id, pg_sleep(0.005)::text AS pad FROM generate_series(1, 6000) AS g;
  `);
  platform = await startPlatform();
  await writeSourceSecrets(platform, 'postgresql');
  // What the README's query reads: the project validated once, its metadata reported once.
  const validated = await platform.post(platform.gateway, '/project/validate', transferRequest(sqlSource('postgresql', db.database), dataset('research', ['person']), PROJECT));
  assert.equal(validated.status, 200, JSON.stringify(validated.body));
});

after(async () => {
  await platform?.close();
  await db?.drop();
});

describe('the explorer and the SDL over HTTP', () => {
  test('/docs links to the explorer and to the supergraph SDL; both answer without a key, /graphql still needs one', async () => {
    const docs = await (await fetch(`${platform.gateway}/docs`)).text();
    assert.match(docs, /<a href="\/explorer">/);
    assert.match(docs, /<a href="\/supergraph.graphql">/);

    const sdl = await fetch(`${platform.gateway}/supergraph.graphql`);
    assert.equal(sdl.status, 200);
    assert.match(sdl.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(await sdl.text(), await readFile(fromRoot('schema', 'supergraph.graphql'), 'utf8'));

    const page = await fetch(`${platform.gateway}/explorer`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    for (const directive of ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) assert.ok(csp.split('; ').includes(directive), `the policy has ${directive}: ${csp}`);
    const html = await page.text();
    assert.ok(!/<script(?![^>]*\ssrc=)[^>]*>/i.test(html), 'no inline script');
    const loaded = [...html.matchAll(/\s(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((url) => url !== 'data:,');
    assert.ok(loaded.length >= 5, 'the page loads its scripts and styles');
    for (const url of loaded) {
      assert.match(url, /^\/explorer\/assets\//, `${url} is the gateway's own`);
      const asset = await fetch(`${platform.gateway}${url}`);
      assert.equal(asset.status, 200, `${url} answers without a key`);
      const body = await asset.text();
      assert.ok(body.length > 0);
      assert.ok(!body.includes('sourceMappingURL'), `${url} points at no source map (none is served)`);
    }

    const unknown = await fetch(`${platform.gateway}/explorer/assets/other.js`);
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { status: string }).status, 'error');
    const keyless = await platform.graphql(platform.gateway, '{ __typename }', undefined, '');
    assert.equal(keyless.status, 403);
  });
});

describe('the explorer opens on a job query', () => {
  test('the page starts with a query of a job’s state and progress; run through /graphql, it answers them for a package job', async () => {
    const script = await (await fetch(`${platform.gateway}/explorer/assets/explorer.js`)).text();
    assert.ok(script.includes(`defaultQuery: ${JSON.stringify(DEFAULT_QUERY)}`), 'the start script gives GraphiQL the job query');
    assert.match(DEFAULT_QUERY, /job\(id: \$id\)[\s\S]*progress \{\s*table\s*state\s*rows\s*bytes\s*estimatedRows/);

    const body = transferRequest(sqlSource('postgresql', db.database), dataset('research', ['person']), { ...PROJECT, project_start_time: '20250205_010102' });
    const started = await platform.graphql(platform.gateway, 'mutation S($r: ProjectTransferRequest!) { startPackage(request: $r) { id } }', { r: graphqlInput(body) });
    assert.equal(started.body.errors, undefined, started.text);
    const id = started.body.data.startPackage.id as string;
    let job: any;
    for (let i = 0; i < 600; i++) {
      const answer = await platform.graphql(platform.gateway, DEFAULT_QUERY, { id });
      assert.equal(answer.body.errors, undefined, answer.text);
      job = answer.body.data.job;
      if (!['QUEUED', 'RUNNING'].includes(job.state)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(job.state, 'SUCCEEDED', JSON.stringify(job));
    assert.deepEqual([job.kind, job.projectName, job.error], ['PACKAGE', 'DemoProject', null]);
    assert.ok(Array.isArray(job.progress));
    for (const t of job.progress) assert.deepEqual([t.table, t.state], ['person', 'DONE']);
  });
});

describe('the GraphQL explorer in Chromium', { skip: skipWithoutChromium() }, () => {
  let browser: Browser | undefined;
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });

  test('loads without a key, refuses a query without one (403), answers the README query with it, and sends the key only to /graphql', { timeout: 120_000 }, async () => {
    const page = await browser!.context.newPage();
    const requests: Request[] = [];
    page.on('request', (request) => requests.push(request));
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });

    const res = await page.goto(`${platform.gateway}/explorer`);
    assert.equal(res?.status(), 200);
    assert.match(res?.headers()['content-security-policy'] ?? '', /script-src 'self';/);
    await page.locator(QUERY_EDITOR).waitFor();

    const query = await readmeQuery();
    await typeInto(page, QUERY_EDITOR, query);
    const refused = await run(page);
    assert.equal(refused.status, 403);
    assert.deepEqual(JSON.parse(refused.shown), { status: 'error', payload: { detail: 'Could not validate API key. Please provide a valid API key in the x-api-key header.' } });

    // With the key set, the page fetches the schema again (for the docs and completion), and gets it.
    const introspected = page.waitForResponse((r) => new URL(r.url()).pathname === '/graphql' && r.status() === 200 && (r.request().postData() ?? '').includes('IntrospectionQuery'));
    await typeInto(page, HEADERS_EDITOR, JSON.stringify({ 'x-api-key': keys.approval }));
    assert.ok(((await (await introspected).json()) as { data?: { __schema?: unknown } }).data?.__schema, 'the schema is introspected with the key');
    await page.locator('button[aria-label="Show Documentation Explorer"]').click();
    await page.getByText('Query', { exact: true }).first().waitFor();
    const answered = await run(page);
    assert.equal(answered.status, 200, answered.shown);
    const { data, errors } = JSON.parse(answered.shown);
    assert.equal(errors, undefined, answered.shown);
    // metadata subgraph
    assert.equal(data.project.metadataReports.length, 1);
    assert.equal(data.project.metadataReports[0].source, `postgresql source ${pgSettings.host}:${pgSettings.port}/${db.database}`);
    assert.deepEqual(data.project.metadataReports[0].metadata.tables, [{ name: 'person', columns: [{ name: 'person_id', datatype: 'integer' }, { name: 'born', datatype: 'date' }] }]);
    // publish subgraph
    assert.deepEqual(data.project.validations.map((v: { destination: string; outcome: string }) => [v.destination, v.outcome]), [['LSC (filestore, duckdb)', 'success']]);

    if (process.env.EXPLORER_SCREENSHOT) await page.screenshot({ path: fromRoot('docs', 'explorer.png') });

    // Everything came from the gateway; the key went only with calls to its /graphql.
    const gateway = new URL(platform.gateway).origin;
    for (const request of requests) {
      assert.equal(new URL(request.url()).origin, gateway, `${request.url()} is the gateway's`);
      const sent = await request.allHeaders();
      if (sent['x-api-key'] !== undefined) assert.equal(new URL(request.url()).pathname, '/graphql', `${request.url()} carries the key`);
    }
    assert.ok(requests.some((r) => r.url().endsWith('/explorer/assets/graphiql.js')), 'GraphiQL came from the gateway');
    // Nor is it kept by the browser.
    const stored = String(await page.evaluate('JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookies: document.cookie })'));
    assert.ok(!stored.includes(keys.approval), `the key is not in the browser storage: ${stored}`);
    assert.deepEqual(violations, [], 'nothing the page does breaks its Content-Security-Policy');
  });

  test('the job query, run from the page with a running package’s id in the Variables tab, shows its progress growing', { timeout: 120_000 }, async () => {
    const body = transferRequest(sqlSource('postgresql', db.database), dataset('research', ['trickle']), { ...PROJECT, project_start_time: '20250205_010103' });
    const started = await platform.graphql(platform.gateway, 'mutation S($r: ProjectTransferRequest!) { startPackage(request: $r) { id } }', { r: graphqlInput(body) });
    assert.equal(started.body.errors, undefined, started.text);
    const id = started.body.data.startPackage.id as string;
    const page = await browser!.context.newPage();
    try {
      await page.goto(`${platform.gateway}/explorer`);
      await page.locator(QUERY_EDITOR).waitFor();
      // The editor may hold the query of an earlier visit (GraphiQL keeps it): the page's own start query is typed in.
      await typeInto(page, QUERY_EDITOR, DEFAULT_QUERY);
      await typeInto(page, HEADERS_EDITOR, JSON.stringify({ 'x-api-key': keys.approval }));
      await page.getByRole('button', { name: 'Variables' }).click();
      await typeInto(page, VARIABLES_EDITOR, JSON.stringify({ id }));
      const seen: Array<{ state: string; rows: number }> = [];
      for (let i = 0; i < 100 && !(seen.length >= 2 && seen.at(-1)!.rows > seen[0]!.rows); i++) {
        const { status, shown } = await run(page);
        assert.equal(status, 200, shown);
        const job = JSON.parse(shown).data.job;
        assert.deepEqual([job.kind, job.projectName, job.state, job.error], ['PACKAGE', 'DemoProject', 'RUNNING', null], shown);
        const [table] = job.progress;
        assert.equal(job.progress.length, 1, shown);
        assert.equal(table.table, 'trickle');
        assert.equal(table.estimatedRows, null, 'a view has no estimate');
        if (table.state === 'RUNNING' && table.rows > 0) seen.push({ state: table.state, rows: Number(table.rows) });
        await page.waitForTimeout(200);
      }
      assert.ok(seen.length >= 2 && seen.at(-1)!.rows > seen[0]!.rows, `the page showed the rows growing: ${JSON.stringify(seen)}`);
    } finally {
      await page.close();
      const cancelled = await platform.graphql(platform.gateway, 'mutation C($id: ID!) { cancelJob(id: $id) { state } }', { id });
      assert.equal(cancelled.body.data?.cancelJob?.state, 'CANCELLED', cancelled.text);
    }
  });
});
