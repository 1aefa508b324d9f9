/**
 * The gateway (approval service): the CLI's `/project/validate` REST shim, the
 * federated graph at `/graphql`, and what happens when a subgraph is down.
 * All three services run as real HTTP servers over a real PostgreSQL database.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildGatewayApp } from '../../gateway/src/app.js';
import { AuditLog } from '../../lib/audit/audit-log.js';
import { ApiKeyVerifier } from '../../lib/auth/api-key.js';
import { fromGraphQL } from '../../lib/contract/index.js';
import { createLogger } from '../../lib/logging/logger.js';
import { createPgDatabase, type TestPgDatabase } from '../support/databases.js';
import { keys, startPlatform, type Platform } from '../support/platform.js';
import { freePort } from '../support/processes.js';
import { accessRequest, dataset, graphqlInput, sqlSource, transferRequest, writeSourceSecrets, type SqlSourceBody } from '../support/requests.js';

const FIXTURE = `
  CREATE TABLE person (person_id integer NOT NULL, postcode character varying(8), born date);
  COMMENT ON TABLE person IS 'People in the cohort';
  COMMENT ON COLUMN person.person_id IS 'Person identifier';
  CREATE TABLE visit (visit_id bigint, person_id integer, visited_at timestamp);
`;

const DATASET_METADATA = /* GraphQL */ `
  query ($request: MetadataRequest!) {
    datasetMetadata(request: $request) {
      name description catalog schemaName
      tables { name description columns { name description datatype } }
    }
  }
`;

const VALIDATE_PROJECT = /* GraphQL */ `
  mutation ($request: ProjectAccessRequest!) {
    validateProject(request: $request) { validationStatus }
  }
`;

const PROJECT = /* GraphQL */ `
  query ($name: String!, $time: String!) {
    project(projectName: $name, projectStartTime: $time) {
      projectName projectStartTime
      metadataReports { reportedAt source metadata { catalog schemaName tables { name } } }
      validations { validatedAt source destination outcome }
    }
  }
`;

let db: TestPgDatabase;
let platform: Platform;
let source: SqlSourceBody;

before(async () => {
  db = await createPgDatabase();
  await db.client.query(FIXTURE);
  platform = await startPlatform();
  await writeSourceSecrets(platform, 'postgresql');
  source = sqlSource('postgresql', db.database);
});

after(async () => {
  await platform?.close();
  await db?.drop();
});

describe('REST /project/validate', () => {
  test('answers the dataset metadata in the success envelope', async () => {
    const res = await platform.post(platform.gateway, '/project/validate', transferRequest(source, dataset('public', ['person'])));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, {
      status: 'success',
      payload: {
        name: 'dataset_1',
        description: null,
        catalog: db.database,
        schema_name: 'public',
        tables: [
          {
            name: 'person',
            description: 'People in the cohort',
            columns: [
              { name: 'person_id', description: 'Person identifier', datatype: 'integer' },
              { name: 'postcode', description: null, datatype: 'character varying(8)' },
              { name: 'born', description: null, datatype: 'date' },
            ],
          },
        ],
      },
    });
  });

  test("answers exactly what the metadata service's /metadata/project answers", async () => {
    const body = transferRequest(source, dataset('public', ['visit', { name: 'person', columns: ['born', 'person_id'] }]));
    const viaGateway = await platform.post(platform.gateway, '/project/validate', body);
    const direct = await platform.post(platform.metadata, '/metadata/project', body);
    assert.equal(viaGateway.status, 200, JSON.stringify(viaGateway.body));
    assert.equal(direct.status, 200, JSON.stringify(direct.body));
    assert.deepEqual(viaGateway.body, direct.body);
  });

  test('validates the project first: a destination that is not configured stops it before any metadata', async () => {
    const body = { ...transferRequest(source, dataset('public'), { project_name: 'NoMount' }), destination: { name: 'NOWHERE', type: 'filestore', format: 'csv' } };
    const res = await platform.post(platform.gateway, '/project/validate', body);
    assert.equal(res.status, 422);
    assert.equal(res.body.status, 'error');
    assert.match(res.body.payload.detail, /TARGET_STORAGE_ACCOUNT_NOWHERE_SDE_MNT_PATH/);
    const project = await platform.graphql(platform.gateway, PROJECT, { name: 'NoMount', time: body.project_start_time });
    assert.equal(project.body.data.project.metadataReports.length, 0, 'metadata was read although validation failed');
    assert.equal(project.body.data.project.validations.length, 1);
  });
});

describe('GraphQL through the gateway', () => {
  test('datasetMetadata equals the REST payload', async () => {
    const body = transferRequest(source, dataset('public', [{ name: 'person', columns: ['postcode', 'person_id'] }, 'visit']));
    const rest = await platform.post(platform.gateway, '/project/validate', body);
    const { source: s, dataset: d, project_name, project_start_time } = body;
    const gql = await platform.graphql(platform.gateway, DATASET_METADATA, { request: graphqlInput({ source: s, dataset: d, project_name, project_start_time }) });
    assert.equal(gql.status, 200);
    assert.equal(gql.body.errors, undefined, JSON.stringify(gql.body.errors));
    assert.equal(rest.status, 200);
    assert.deepEqual(fromGraphQL(gql.body.data.datasetMetadata), rest.body.payload);
  });

  test('no GraphQL answer may be stored: the gateway\'s and each subgraph\'s say no-store', async () => {
    for (const [base, key] of [[platform.gateway, keys.approval], [platform.metadata, keys.metadata], [platform.publish, keys.publish]] as const) {
      const res = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify({ query: PROJECT, variables: { name: 'Nobody', time: '20300101_000000' } }) });
      const text = await res.text();
      if (base === platform.gateway) assert.equal(res.status, 200, text);
      assert.equal(res.headers.get('cache-control'), 'no-store', `${base}: ${text.slice(0, 200)}`);
    }
  });

  test('validateProject answers success', async () => {
    const res = await platform.graphql(platform.gateway, VALIDATE_PROJECT, { request: graphqlInput(accessRequest(source)) });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { data: { validateProject: { validationStatus: 'success' } } });
  });

  test('an error carries the same status and detail as on the REST face', async () => {
    const body = transferRequest(source, dataset('public', ['no_such_table']));
    const rest = await platform.post(platform.gateway, '/project/validate', body);
    const gql = await platform.graphql(platform.gateway, DATASET_METADATA, { request: graphqlInput({ source: body.source, dataset: body.dataset }) });
    assert.equal(rest.status, 404);
    assert.equal(gql.body.errors.length, 1);
    assert.equal(gql.body.errors[0].extensions.status, 404);
    assert.equal(gql.body.errors[0].extensions.detail, rest.body.payload.detail);
  });

  test('the Project entity joins what both subgraphs recorded for a project', async () => {
    const project = { project_name: 'Joined', project_start_time: '20250301_120000' };
    const res = await platform.post(platform.gateway, '/project/validate', transferRequest(source, dataset('public', ['visit']), project));
    assert.equal(res.status, 200, JSON.stringify(res.body));

    const gql = await platform.graphql(platform.gateway, PROJECT, { name: project.project_name, time: project.project_start_time });
    assert.equal(gql.body.errors, undefined, JSON.stringify(gql.body.errors));
    const p = gql.body.data.project;
    const where = `postgresql source ${source.host_url}:${source.port}/${db.database}`;
    assert.equal(p.projectName, 'Joined');
    assert.equal(p.projectStartTime, '20250301_120000');
    // From the metadata subgraph:
    assert.equal(p.metadataReports.length, 1);
    assert.equal(p.metadataReports[0].source, where);
    assert.deepEqual(p.metadataReports[0].metadata, { catalog: db.database, schemaName: 'public', tables: [{ name: 'visit' }] });
    assert.ok(!Number.isNaN(Date.parse(p.metadataReports[0].reportedAt)));
    // From the publish subgraph, through the entity's key:
    assert.equal(p.validations.length, 1);
    const { validatedAt, ...validation } = p.validations[0];
    assert.ok(!Number.isNaN(Date.parse(validatedAt)));
    assert.deepEqual(validation, { source: where, destination: 'LSC (filestore, duckdb)', outcome: 'success' });
  });

  test('a project nobody has seen has empty records', async () => {
    const gql = await platform.graphql(platform.gateway, PROJECT, { name: 'Unseen', time: '20250101_000000' });
    assert.deepEqual(gql.body.data.project, { projectName: 'Unseen', projectStartTime: '20250101_000000', metadataReports: [], validations: [] });
  });
});

describe('a subgraph that is down', () => {
  const log = createLogger('test', 'silent');
  const gateways: FastifyInstance[] = [];

  /** A gateway in front of the running subgraphs, with one of them replaced by a dead address or a wrong key. */
  async function gatewayWith(change: { metadata?: { url?: string; apiKey?: string }; publish?: { url?: string; apiKey?: string } }): Promise<string> {
    const app = await buildGatewayApp({
      log,
      audit: new AuditLog(undefined, () => undefined),
      apiKey: new ApiKeyVerifier(keys.approval),
      subgraphs: {
        metadata: { url: `${platform.metadata}/graphql`, apiKey: keys.metadata, ...change.metadata },
        publish: { url: `${platform.publish}/graphql`, apiKey: keys.publish, ...change.publish },
      },
    });
    gateways.push(app);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('no address');
    return `http://127.0.0.1:${address.port}`;
  }

  const deadUrl = async () => `http://127.0.0.1:${await freePort()}/graphql`;

  after(async () => {
    for (const app of gateways) await app.close();
  });

  for (const service of ['metadata', 'publish'] as const) {
    test(`${service} unreachable: /project/validate answers a 502 envelope naming it`, async () => {
      const gateway = await gatewayWith({ [service]: { url: await deadUrl() } });
      const res = await platform.post(gateway, '/project/validate', transferRequest(source, dataset('public')), keys.approval);
      assert.equal(res.status, 502);
      assert.equal(res.body.status, 'error');
      assert.match(res.body.payload.detail, new RegExp(`The ${service} service is unreachable`));
    });

    test(`${service} unreachable: GraphQL errors carry status 502 and name it; /readyz answers 503`, async () => {
      const gateway = await gatewayWith({ [service]: { url: await deadUrl() } });
      const res =
        service === 'metadata'
          ? await platform.graphql(gateway, DATASET_METADATA, { request: graphqlInput({ source, dataset: dataset('public') }) }, keys.approval)
          : await platform.graphql(gateway, VALIDATE_PROJECT, { request: graphqlInput(accessRequest(source)) }, keys.approval);
      assert.equal(res.body.errors.length, 1);
      assert.equal(res.body.errors[0].extensions.status, 502);
      assert.equal(res.body.errors[0].extensions.code, 'SUBGRAPH_UNAVAILABLE');
      assert.match(res.body.errors[0].message, new RegExp(service));
      // Without a key, ready or not only; with the gateway's key, which service and why.
      const ready = await fetch(`${gateway}/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual(await ready.json(), { status: 'not ready', service: 'approval' });
      const reasons = await fetch(`${gateway}/readyz`, { headers: { 'x-api-key': keys.approval } });
      assert.equal(reasons.status, 503);
      const body = (await reasons.json()) as { problems: string[] };
      assert.deepEqual(body.problems, [`The ${service} service is unreachable.`]);
    });

    test(`${service} refusing the gateway's key: a 502 naming the service and its key's secret`, async () => {
      const gateway = await gatewayWith({ [service]: { apiKey: 'not-the-key' } });
      const res = await platform.post(gateway, '/project/validate', transferRequest(source, dataset('public')), keys.approval);
      assert.equal(res.status, 502);
      assert.match(res.body.payload.detail, new RegExp(`${service}serviceapikey`));
      assert.doesNotMatch(JSON.stringify(res.body), /not-the-key/);
    });
  }
});
