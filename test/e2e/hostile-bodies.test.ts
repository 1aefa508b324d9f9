/**
 * Malformed bodies and HTTP cannot make the product answer 500: wrong JSON
 * types, deep nesting, oversized bodies and headers, prototype keys and broken
 * request lines all answer the contract's envelope with a 4xx status.
 *
 * Duplicated keys in a JSON body: the last one wins, as with JSON.parse (and
 * Python's json, which the CLI uses). The body is parsed once, at the service
 * that receives it, and only the parsed value travels further, so no two
 * components can read two different values.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { keyFor } from '../support/platform.js';
import { accessRequest, graphqlInput } from '../support/requests.js';
import { M, body, envelope, graphqlError, pgSource, platform, postRaw, restEndpoints, setUpHostile, tearDownHostile, touchesNothing, type Answer } from '../support/hostile-platform.js';

before(() => setUpHostile());
after(() => tearDownHostile());

describe('malformed bodies', () => {
  test('wrong JSON types (numbers for strings, arrays for objects, …) are a 422 naming each field, on every endpoint and through GraphQL', async () => {
    const wrong: Array<[string, (b: any) => any]> = [
      ['project_name', (b) => ({ ...b, project_name: 123 })],
      ['project_start_time', (b) => ({ ...b, project_start_time: 20250205010101 })],
      ['destination', (b) => ({ ...b, destination: ['LSC'] })],
      ['destination.name', (b) => ({ ...b, destination: { name: 7, type: 'filestore' } })],
      ['destination.type', (b) => ({ ...b, destination: { name: 'LSC', type: { filestore: true } } })],
      ['source', (b) => ({ ...b, source: 'postgresql://db' })],
      ['source.port', (b) => ({ ...b, source: { ...b.source, port: '5432' } })],
      ['source.credentials', (b) => ({ ...b, source: { ...b.source, credentials: [] } })],
      ['dataset', (b) => ({ ...b, dataset: [] })],
      ['dataset.tables', (b) => ({ ...b, dataset: { ...b.dataset, tables: { name: 'person' } } })],
      ['dataset.tables[0].columns', (b) => ({ ...b, dataset: { ...b.dataset, tables: [{ name: 'person', columns: 'person_id' }] } })],
      ['dataset.tables[0].name', (b) => ({ ...b, dataset: { ...b.dataset, tables: [{ name: ['person'] }] } })],
      ['project_name', (b) => ({ ...b, project_name: null })],
      ['project_name', (b) => ({ ...b, project_name: true })],
    ];
    await touchesNothing(async () => {
      for (const [field, spoil] of wrong) {
        for (const e of restEndpoints(platform)) {
          const sent = spoil(e.shape(body()));
          const top = field.split(/[.[]/)[0]!;
          if (!(top in e.shape(body()))) continue;
          const detail = envelope(await platform.post(e.base, e.route, sent), 422, `${e.name} ${field}`);
          assert.ok(detail.includes(field), `${e.name}: the detail names ${field}: ${detail}`);
        }
        // GraphQL coerces a single value where a list is expected into a list of one (as its spec says): not an error there.
        if (field === 'dataset.tables') continue;
        const res = await platform.graphql(platform.gateway, 'mutation ($r: ProjectTransferRequest!) { packageProject(request: $r) { destinationType } }', { r: spoil(graphqlInput(body())) });
        graphqlError(res, [400, 422], `GraphQL ${field}`);
      }
    });
  });

  test('duplicated keys: the last one wins, as with JSON.parse', async () => {
    const valid = JSON.stringify(accessRequest(pgSource));
    await touchesNothing(async () => {
      for (const base of [platform.gateway, platform.publish]) {
        const route = base === platform.gateway ? '/project/validate' : '/data-publish/validate';
        const text = base === platform.gateway ? JSON.stringify(body()) : valid;
        const hostileFirst = `{"project_name": "../${M}", "destination": {"name": "/tmp/${M}"},${text.slice(1)}`;
        const answer = await postRaw(base, route, hostileFirst);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        const hostileLast = `${text.slice(0, -1)}, "project_name": "../${M}"}`;
        assert.match(envelope(await postRaw(base, route, hostileLast), 422, route), /project_name/);
      }
    });
  });

  test('deeply nested bodies (100000 levels) are a 422, not a crash', async () => {
    const deep = {
      arrays: `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
      objects: `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`,
      inside: JSON.stringify(body()).replace('"tables":', `"deep": ${'['.repeat(100_000)}${']'.repeat(100_000)}, "tables":`),
      inDataset: JSON.stringify(body()).replace('"tables":[', `"tables":[${'['.repeat(100_000)}${']'.repeat(100_000)},`),
    };
    await touchesNothing(async () => {
      for (const e of restEndpoints(platform)) {
        for (const name of ['arrays', 'objects'] as const) envelope(await postRaw(e.base, e.route, deep[name]), 422, `${e.name} ${name}`);
        // Where the dataset is read and nothing is written: deep in a field that is read is a 422; in an unknown field, ignored.
        if (!['/project/validate', '/metadata/project'].includes(e.route)) continue;
        envelope(await postRaw(e.base, e.route, deep.inDataset), 422, `${e.name} inDataset`);
        assert.equal((await postRaw(e.base, e.route, deep.inside)).status, 200, `${e.name}: an unknown field is ignored, as the contract says`);
      }
      for (const base of [platform.gateway, platform.metadata, platform.publish]) {
        const variables = `{"query": "query ($r: MetadataRequest!) { datasetMetadata(request: $r) { catalog } }", "variables": {"r": ${deep.arrays}}}`;
        const answer = await postRaw(base, '/graphql', variables);
        assert.ok(answer.status < 500, `${base}: ${answer.status}`);
        assert.ok(answer.body.errors?.length > 0);
      }
    });
    // The services are still up.
    for (const base of [platform.gateway, platform.metadata, platform.publish]) assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });

  test('bodies over the limit are a 413 with the envelope, with or without Content-Length', async () => {
    const huge = JSON.stringify({ ...body(), padding: 'x'.repeat(5 * 1024 * 1024) });
    await touchesNothing(async () => {
      for (const e of restEndpoints(platform)) {
        assert.equal(envelope(await postRaw(e.base, e.route, huge), 413, e.name), 'Request body too large.');
        const chunked = await new Promise<Answer>((resolve, reject) => {
          const url = new URL(`${e.base}${e.route}`);
          const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': keyFor(e.base, platform), 'transfer-encoding': 'chunked' } }, (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
          });
          req.on('error', reject);
          for (let i = 0; i < 5; i++) req.write(Buffer.alloc(1024 * 1024, 0x20));
          req.end();
        });
        assert.equal(envelope(chunked, 413, `${e.name} chunked`), 'Request body too large.');
      }
    });
  });

  test('__proto__ and constructor.prototype keys are refused by the JSON parser: a 422', async () => {
    const text = JSON.stringify(body());
    for (const e of restEndpoints(platform)) {
      for (const poison of ['"__proto__": {"isAdmin": true}', '"constructor": {"prototype": {"isAdmin": true}}']) {
        assert.match(envelope(await postRaw(e.base, e.route, `{${poison},${text.slice(1)}`), 422, e.name), /not valid JSON/);
      }
    }
    assert.equal(({} as any).isAdmin, undefined);
  });
});

describe('malformed HTTP', () => {
  async function rawHttp(base: string, text: string): Promise<{ status: number; body: any }> {
    const url = new URL(base);
    const socket = net.connect(Number(url.port), url.hostname);
    socket.write(text);
    let out = '';
    socket.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise((resolve) => socket.on('close', resolve));
    const [head, ...rest] = out.split('\r\n\r\n');
    return { status: Number(head!.split(' ')[1]), body: JSON.parse(rest.join('\r\n\r\n')) };
  }

  test('oversized headers, a broken request line or Content-Length answer the envelope (431, 400)', async () => {
    for (const base of [platform.gateway, platform.metadata, platform.publish]) {
      envelope(await rawHttp(base, `POST /project/publish HTTP/1.1\r\nHost: x\r\nx-api-key: ${'k'.repeat(20_000)}\r\n\r\n`), 431, `${base} big header`);
      envelope(await rawHttp(base, 'GARBAGE\r\n\r\n'), 400, `${base} request line`);
      envelope(await rawHttp(base, 'POST /project/publish HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}'), 400, `${base} content-length`);
    }
  });

  test('a hostile x-request-id is replaced, a plain one is kept', async () => {
    for (const [given, kept] of [['abc-123.DEF:4', true], [`${'r'.repeat(5000)}`, false], ['a b', false], ['id\u00e9', false]] as const) {
      const res = await fetch(`${platform.gateway}/healthz`, { headers: { 'x-request-id': Buffer.from(given, 'utf8').toString('latin1') } });
      const id = res.headers.get('x-request-id');
      if (kept) assert.equal(id, given);
      else assert.match(id ?? '', /^[0-9a-f-]{36}$/, `${given.slice(0, 20)} → ${id}`);
    }
  });
});
