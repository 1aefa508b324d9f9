/**
 * The whole platform in one test process: the metadata and publish services and
 * the gateway, each a real HTTP server on a free loopback port, wired together
 * as in production (the gateway reaches the subgraphs over HTTP with their keys).
 */
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ApiKeyVerifier, apiKeySecretNames } from '../../lib/auth/api-key.js';
import { createLogger } from '../../lib/logging/logger.js';
import { FileSecretProvider, type SecretProvider } from '../../lib/secrets/index.js';
import { buildGatewayApp } from '../../gateway/src/app.js';
import { buildMetadataApp } from '../../subgraphs/metadata/src/app.js';
import { buildPublishApp } from '../../subgraphs/publish/src/app.js';
import type { JobEngine } from '../../lib/jobs/engine.js';
import { StorageMounts } from '../../subgraphs/publish/src/destinations/filestore/mount/mounts.js';
import { readPostgresqlSettings } from '../../subgraphs/publish/src/destinations/postgresql/settings.js';
import type { SourceConnectorOptions } from '../../lib/connectors/index.js';
import { catalogPoolSettingsFromEnv, connectorOptionsFromEnv } from '../../lib/config/connector-settings.js';
import { readSettings } from '../../lib/config/env.js';
import { jobObservabilitySettings } from '../../lib/config/settings/index.js';
import { AuditLog } from '../../lib/audit/audit-log.js';
import type { ConnectionLimits } from '../../lib/http/plugins/timeouts.js';
import { openPlatformStore, readPlatformStoreSettings } from '../../lib/store/index.js';
import { readCatalogApprovalSettings } from '../../subgraphs/publish/src/approvals/guard.js';
import { assertContractAnswer, contractEndpoint } from './contract-answers.js';

export const keys = { approval: 'approval-test-key', metadata: 'metadata-test-key', publish: 'publish-test-key' };

export interface Platform {
  gateway: string;
  metadata: string;
  publish: string;
  secretsDir: string;
  /** Root of the LSC filestore mount (staging/ and production/ exist). */
  mountDir: string;
  /** The audit log file the three services append to (their stdout copy is dropped in tests). */
  auditPath: string;
  /** The services' Fastify instances, for what a test must watch from the server's side (their connections). */
  apps: { gateway: FastifyInstance; metadata: FastifyInstance; publish: FastifyInstance };
  /** The audit events written so far. */
  auditEvents(): Promise<any[]>;
  writeSecret(name: string, value: string): Promise<void>;
  /**
   * POSTs JSON to a service with its key (or the given one) and returns status, parsed body and the request id its log lines carry.
   * The answer of a contract endpoint is checked against the contract's schemas first (support/contract-answers.ts).
   */
  post(base: string, route: string, body: unknown, key?: string): Promise<Answer>;
  /** Checks an answer of a contract endpoint (by its URL) against the contract's schemas; anything else passes. */
  checkAnswer(url: string, status: number, text: string): void;
  /** Runs a GraphQL operation against a service's /graphql. */
  graphql(base: string, query: string, variables?: Record<string, unknown>, key?: string): Promise<Answer>;
  close(): Promise<void>;
}

/** A service's answer: status, parsed body (the text when not JSON), the body as received and the request id it answered with. */
export interface Answer {
  status: number;
  body: any;
  text: string;
  requestId: string;
}

export interface PlatformOptions {
  /** Settings, as the services read them from the environment (connector and destination settings). */
  env?: NodeJS.ProcessEnv;
  /** Connector options over those `env` gives. */
  connectorOptions?: SourceConnectorOptions;
  /** The secret store of both subgraphs; the files in `secretsDir` when absent. */
  secrets?: SecretProvider;
  logLevel?: string;
  /** Where the services' JSON log lines go (each service logs under its own name); silent when absent. */
  logStream?: { write(line: string): void };
  /** Timeouts and the connection cap of all three services; from HTTP_* settings when absent. */
  limits?: ConnectionLimits;
  /** The publish service's job engine (a test that cancels jobs keeps it); the service's own when absent. */
  jobs?: JobEngine;
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
}

export function keyFor(base: string, p: Pick<Platform, 'gateway' | 'metadata' | 'publish'>): string {
  return base === p.gateway ? keys.approval : base === p.metadata ? keys.metadata : keys.publish;
}

/** POSTs JSON (or the given text) with `key`; gives the status, the parsed body (the text when not JSON) and the request id. */
export async function postJson(url: string, body: unknown, key: string): Promise<Answer> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON; keep the text
  }
  return { status: res.status, body: parsed as any, text, requestId: res.headers.get('x-request-id') ?? '' };
}

export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'cr8tor-platform-'));
  const secretsDir = path.join(root, 'secrets');
  const mountDir = path.join(root, 'lsc');
  await mkdir(secretsDir);
  // The store holds each service's key, as a deployment's does: readiness reads it.
  for (const [service, name] of Object.entries(apiKeySecretNames)) await writeFile(path.join(secretsDir, name), keys[service as keyof typeof keys]);
  await mkdir(path.join(mountDir, 'staging'), { recursive: true });
  await mkdir(path.join(mountDir, 'production'), { recursive: true });
  const secrets = options.secrets ?? new FileSecretProvider(secretsDir);
  const logFor = (service: string) =>
    options.logStream ? createLogger(service, options.logLevel ?? 'info', options.logStream) : createLogger(service, 'silent');
  const log = logFor('metadata');
  const auditPath = path.join(root, 'audit.jsonl');
  const audit = new AuditLog(auditPath, () => undefined);
  const env = { TARGET_STORAGE_ACCOUNT_LSC_SDE_MNT_PATH: mountDir, ...options.env };
  // As the services' main modules read them, then what the test sets on top.
  const connectorOptions = { ...connectorOptionsFromEnv(env), ...options.connectorOptions };

  const limits = options.limits;
  // The platform database `env` names (PLATFORM_DATABASE_*), shared by both subgraphs as by two services of a deployment; none: records in memory.
  const store = (await openPlatformStore({ secrets, log, settings: readPlatformStoreSettings(env) })) ?? null;
  const metadataApp = await buildMetadataApp({ log, secrets, apiKey: new ApiKeyVerifier(keys.metadata), connectorOptions, audit, limits, catalogPool: catalogPoolSettingsFromEnv(env) ?? false, store });
  const publishApp = await buildPublishApp({
    log: logFor('publish'), secrets, apiKey: new ApiKeyVerifier(keys.publish), connectorOptions, mounts: new StorageMounts(env), audit, limits, postgresql: readPostgresqlSettings(env) ?? null, store,
    jobProgressLogIntervalMs: readSettings(jobObservabilitySettings, env).JOB_PROGRESS_LOG_INTERVAL_MS,
    catalogApproval: readCatalogApprovalSettings(env),
    jobs: options.jobs,
  });
  const metadata = await listen(metadataApp);
  const publish = await listen(publishApp);
  const gatewayApp = await buildGatewayApp({
    log: logFor('approval'),
    apiKey: new ApiKeyVerifier(keys.approval),
    subgraphs: { metadata: { url: `${metadata}/graphql`, apiKey: keys.metadata }, publish: { url: `${publish}/graphql`, apiKey: keys.publish } },
    audit,
    limits,
  });
  const gateway = await listen(gatewayApp);
  const bases = { gateway, metadata, publish };

  const appOf = { [gateway]: gatewayApp, [metadata]: metadataApp, [publish]: publishApp };
  const checkAnswer = (url: string, status: number, text: string) => {
    const { origin, pathname } = new URL(url);
    const endpoint = appOf[origin] && contractEndpoint(appOf[origin], pathname);
    if (endpoint) assertContractAnswer(endpoint, status, text);
  };
  const request = async (base: string, route: string, body: unknown, key?: string) => {
    const answer = await postJson(`${base}${route}`, body, key ?? keyFor(base, bases));
    checkAnswer(`${base}${route}`, answer.status, answer.text);
    return answer;
  };

  return {
    ...bases,
    apps: { gateway: gatewayApp, metadata: metadataApp, publish: publishApp },
    secretsDir,
    mountDir,
    auditPath,
    async auditEvents() {
      const text = await readFile(auditPath, 'utf8').catch(() => '');
      return text.split('\n').filter(Boolean).map((line) => JSON.parse(line).audit);
    },
    writeSecret: (name, value) => writeFile(path.join(secretsDir, name), value),
    post: request,
    checkAnswer,
    graphql: (base, query, variables, key) => request(base, '/graphql', { query, variables }, key),
    async close() {
      await gatewayApp.close();
      await publishApp.close();
      await metadataApp.close();
      await store?.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
