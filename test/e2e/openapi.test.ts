/**
 * The API docs: every service serves an OpenAPI 3.1 document of its REST
 * endpoints, generated from the same schemas that check the bodies, and a
 * readable page. The contract's own examples validate against the document,
 * and real answers validate against its response schemas.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { accessRequestExample, publishRequestExample, transferRequestExample } from '../../lib/contract/examples.js';
import { accessRequestSchema, publishRequestSchema, transferRequestSchema } from '../../lib/contract/index.js';
import { fromRoot } from '../../lib/paths.js';
import { createPgDatabase, type TestPgDatabase } from '../support/databases.js';
import { startPlatform, type Platform } from '../support/platform.js';
import { dataset, sqlSource, transferRequest, writeSourceSecrets } from '../support/requests.js';

let platform: Platform;
let db: TestPgDatabase;

before(async () => {
  platform = await startPlatform();
  db = await createPgDatabase('oas');
  await db.client.query(`CREATE TABLE person (person_id bigint PRIMARY KEY); COMMENT ON TABLE person IS 'People'`);
  await writeSourceSecrets(platform, 'postgresql');
});

after(async () => {
  await platform?.close();
  await db?.drop();
});

async function documentOf(base: string): Promise<any> {
  const res = await fetch(`${base}/openapi.json`);
  assert.equal(res.status, 200);
  return res.json();
}

/** A JSON Schema 2020-12 validator that checks `format` (date-time, uuid, …) as the documents declare it. */
function ajv() {
  const validator = new Ajv2020({ strict: false, allErrors: true });
  ajvFormats.default(validator);
  return validator;
}

const SERVICES = () =>
  [
    ['approval', platform.gateway, ['/project/validate', '/project/package', '/project/publish']],
    ['metadata', platform.metadata, ['/metadata/project']],
    ['publish', platform.publish, ['/data-publish/validate', '/data-publish/package', '/data-publish/publish']],
  ] as const;

describe('documents', () => {
  test('each service documents exactly its REST endpoints as OpenAPI 3.1, without a key', async () => {
    for (const [name, base, paths] of SERVICES()) {
      const doc = await documentOf(base);
      assert.equal(doc.openapi, '3.1.0');
      assert.match(doc.info.title, new RegExp(name));
      assert.deepEqual(Object.keys(doc.paths).sort(), [...paths].sort());
      for (const path of paths) {
        const op = doc.paths[path].post;
        assert.ok(op.summary.length > 10, `${path} has a summary`);
        assert.deepEqual(op.security, [{ apiKey: [] }]);
        for (const status of ['200', '403', '422', '500']) assert.ok(op.responses[status], `${path} documents ${status}`);
      }
    }
  });

  test('each service serves a readable page listing its endpoints', async () => {
    for (const [, base, paths] of SERVICES()) {
      const res = await fetch(`${base}/docs`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/);
      const html = await res.text();
      for (const path of paths) assert.ok(html.includes(`POST ${path}`), `the page lists ${path}`);
      assert.ok(!/<script/i.test(html), 'the page loads no scripts');
    }
  });
});

describe('the contract’s examples', () => {
  /** The JSON blocks of docs/contract.md (the wire contract), in order: publish request, access additions, transfer additions, metadata payload. */
  function contractBlocks(): any[] {
    const file = fromRoot('docs', 'contract.md');
    assert.ok(existsSync(file), 'docs/contract.md is in the repository');
    const text = readFileSync(file, 'utf8');
    return [...text.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!));
  }

  test('the documented examples are the contract’s examples', () => {
    const [publish, access, transfer] = contractBlocks();
    assert.deepEqual(publishRequestExample, publish);
    assert.deepEqual(accessRequestExample, { ...publish, ...access });
    assert.deepEqual(transferRequestExample, { ...publish, ...access, ...transfer });
  });

  test('each example validates against the OpenAPI request schema and the contract schema', async () => {
    const approval = await documentOf(platform.gateway);
    const publish = await documentOf(platform.publish);
    const cases = [
      [approval.paths['/project/validate'], transferRequestSchema],
      [approval.paths['/project/publish'], publishRequestSchema],
      [publish.paths['/data-publish/validate'], accessRequestSchema],
      [publish.paths['/data-publish/package'], transferRequestSchema],
    ] as const;
    for (const [path, schema] of cases) {
      const content = path.post.requestBody.content['application/json'];
      const validate = ajv().compile(content.schema);
      assert.ok(validate(content.example), JSON.stringify(validate.errors));
      assert.ok(schema.safeParse(content.example).success);
    }
  });

  test('the documented source schema rejects what the service rejects', async () => {
    const doc = await documentOf(platform.publish);
    const validate = ajv().compile(doc.paths['/data-publish/validate'].post.requestBody.content['application/json'].schema);
    const noHost = structuredClone(accessRequestExample) as any;
    delete noHost.source.host_url;
    assert.equal(validate(noHost), false);
    assert.equal(accessRequestSchema.safeParse(noHost).success, false);
  });

  test('the metadata payload shape of the contract validates against the documented response', async () => {
    const [, , , metadata] = contractBlocks();
    const doc = await documentOf(platform.metadata);
    const validate = ajv().compile(doc.paths['/metadata/project'].post.responses['200'].content['application/json'].schema);
    assert.ok(validate({ status: 'success', payload: metadata }), JSON.stringify(validate.errors));
  });
});

describe('real answers', () => {
  test('a success and an error answer validate against their documented schemas', async () => {
    const doc = await documentOf(platform.gateway);
    const op = doc.paths['/project/validate'].post;
    const body = { ...transferRequest(sqlSource('postgresql', db.database), dataset('public', ['person'])), destination: { name: 'LSC', type: 'filestore', format: 'csv' } };
    const ok = await platform.post(platform.gateway, '/project/validate', body);
    assert.equal(ok.status, 200);
    const okSchema = ajv().compile(op.responses['200'].content['application/json'].schema);
    assert.ok(okSchema(ok.body), JSON.stringify(okSchema.errors));
    const denied = await platform.post(platform.gateway, '/project/validate', body, 'wrong-key');
    assert.equal(denied.status, 403);
    const errSchema = ajv().compile(op.responses['403'].content['application/json'].schema);
    assert.ok(errSchema(denied.body), JSON.stringify(errSchema.errors));
  });
});
