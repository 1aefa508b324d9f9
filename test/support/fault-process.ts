/**
 * The publish service as a real process that the crash and fault tests can
 * kill with SIGKILL and start again on the same mount (and, when asked, the
 * same port), plus the JSON calls they make and the source-side pollers that
 * find the moment to strike.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { pgSettings } from './databases.js';
import { freePort, spawnService, waitForHealthy, type ServiceProcess } from './processes.js';
import { waitUntil } from './fault-fs.js';

/** The folders one fault test works in: secrets, a filestore mount with staging/ and production/, the audit log. */
export interface FaultWorkspace {
  root: string;
  secrets: string;
  mount: string;
  staging: string;
  production: string;
  audit: string;
  remove(): Promise<void>;
}

/** Creates a workspace under the OS temp folder, with the publish key and the PostgreSQL source secrets written. */
export async function createWorkspace(prefix: string, publishKey: string): Promise<FaultWorkspace> {
  const root = await mkdtemp(path.join(os.tmpdir(), `cr8tor-${prefix}-`));
  const secrets = path.join(root, 'secrets');
  const mount = path.join(root, 'lsc');
  const staging = path.join(mount, 'staging');
  const production = path.join(mount, 'production');
  await mkdir(secrets);
  await mkdir(staging, { recursive: true });
  await mkdir(production, { recursive: true });
  await writeFile(path.join(secrets, 'publishserviceapikey'), publishKey);
  await writeFile(path.join(secrets, 'postgresql-user'), pgSettings.user);
  await writeFile(path.join(secrets, 'postgresql-password'), pgSettings.password);
  return { root, secrets, mount, staging, production, audit: path.join(root, 'audit.jsonl'), remove: () => rm(root, { recursive: true, force: true }) };
}

/** A publish service process and what a test does with it. */
export interface PublishProcess {
  url: string;
  port: number;
  process: ServiceProcess;
  /** SIGKILL: no handler runs, no cleanup, exactly like a node lost or an OOM kill. Resolves once it is gone. */
  kill(): Promise<void>;
  /** SIGTERM and wait (for the end of a test). */
  stop(): Promise<void>;
}

/** Starts the publish service on `port` (a free one when absent) for the workspace, with extra settings. */
export async function startPublishProcess(ws: FaultWorkspace, env: NodeJS.ProcessEnv = {}, port?: number): Promise<PublishProcess> {
  const p = port ?? (await freePort());
  const child = spawnService('publish', {
    PUBLISH_CONTAINER_PORT: String(p),
    SECRETS_MNT_PATH: ws.secrets,
    TARGET_STORAGE_ACCOUNT_LSC_SDE_MNT_PATH: ws.mount,
    AUDIT_LOG_PATH: ws.audit,
    SHUTDOWN_GRACE_MS: '2000',
    ...env,
  });
  const url = `http://127.0.0.1:${p}`;
  await waitForHealthy(child, `${url}/healthz`);
  const gone = async (signal: NodeJS.Signals) => {
    if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill(signal);
    await child.exited;
  };
  return { url, port: p, process: child, kill: () => gone('SIGKILL'), stop: () => gone('SIGTERM') };
}

/** An answer: the HTTP status and the parsed body; status 0 when the connection failed (the body then says why). */
export interface Answer {
  status: number;
  body: any;
}

/** POSTs JSON with an API key; never throws (a dropped connection is status 0). */
export async function postJson(url: string, body: unknown, key: string): Promise<Answer> {
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(body) });
    const text = await res.text();
    try {
      return { status: res.status, body: JSON.parse(text) };
    } catch {
      return { status: res.status, body: text };
    }
  } catch (error) {
    return { status: 0, body: { error: String((error as Error).cause ?? error) } };
  }
}

/** Backends of `database` whose current query matches `pattern` (ILIKE) and is running. */
export async function runningQueries(client: pg.Client, database: string, pattern: string): Promise<number[]> {
  const { rows } = await client.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND query ILIKE $2 AND pid <> pg_backend_pid()`,
    [database, pattern],
  );
  return rows.map((r) => r.pid);
}

/** Waits until a query matching `pattern` runs on `database`; gives the backends' pids. */
export function queryRunning(client: pg.Client, database: string, pattern: string, timeoutMs = 20_000): Promise<number[]> {
  return waitUntil(`a query like ${pattern} on ${database}`, async () => {
    const pids = await runningQueries(client, database, pattern);
    return pids.length > 0 ? pids : undefined;
  }, { timeoutMs, intervalMs: 5 });
}

/** Waits until no other session works on `database` (a killed client's backend can outlive it for a moment). */
export function databaseIdle(client: pg.Client, database: string, timeoutMs = 20_000): Promise<true> {
  return waitUntil(`no other session on ${database}`, async () => {
    const { rows } = await client.query(`SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'`, [database]);
    return rows.length === 0 ? (true as const) : undefined;
  }, { timeoutMs, intervalMs: 20 });
}
