/**
 * The platform for the fault tests: the gateway and the metadata service in
 * this process (as test/support/platform.ts builds them), the publish service
 * as a real process that can be killed and started again on the same port and
 * mount, so the gateway keeps reaching it through one address.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ApiKeyVerifier, apiKeySecretNames } from '../../lib/auth/api-key.js';
import { createLogger } from '../../lib/logging/logger.js';
import { FileSecretProvider } from '../../lib/secrets/index.js';
import { buildGatewayApp } from '../../gateway/src/app.js';
import { buildMetadataApp } from '../../subgraphs/metadata/src/app.js';
import { AuditLog } from '../../lib/audit/audit-log.js';
import { createWorkspace, postJson, startPublishProcess, type Answer, type FaultWorkspace, type PublishProcess } from './fault-process.js';
import { keys } from './platform.js';
import { freePort } from './processes.js';

export interface FaultPlatform {
  gateway: string;
  ws: FaultWorkspace;
  /** The publish process running now (replaced by {@link restartPublish}). */
  publish(): PublishProcess;
  /** Starts the publish service again on the same port and mount (after a kill, or to pick up a new setting). */
  restartPublish(): Promise<void>;
  /** POSTs a REST call to the gateway with the approval key. */
  post(route: string, body: unknown): Promise<Answer>;
  writeSecret(name: string, value: string): Promise<void>;
  close(): Promise<void>;
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
}

/** Starts the platform; `publishEnv` is given to every publish process (mounts, destinations). */
export async function startFaultPlatform(prefix: string, publishEnv: (ws: FaultWorkspace) => NodeJS.ProcessEnv): Promise<FaultPlatform> {
  const ws = await createWorkspace(prefix, keys.publish);
  // The metadata service's readiness reads its key from the store, as in a deployment.
  await writeFile(path.join(ws.secrets, apiKeySecretNames.metadata), keys.metadata);
  const secrets = new FileSecretProvider(ws.secrets);
  const log = createLogger('test', 'silent');
  const metadataApp = await buildMetadataApp({ log, secrets, apiKey: new ApiKeyVerifier(keys.metadata), audit: new AuditLog(path.join(ws.root, 'metadata-audit.jsonl'), () => undefined) });
  const metadata = await listen(metadataApp);
  const port = await freePort();
  let publish = await startPublishProcess(ws, publishEnv(ws), port);
  const gatewayApp = await buildGatewayApp({
    log,
    apiKey: new ApiKeyVerifier(keys.approval),
    subgraphs: { metadata: { url: `${metadata}/graphql`, apiKey: keys.metadata }, publish: { url: `${publish.url}/graphql`, apiKey: keys.publish } },
  });
  const gateway = await listen(gatewayApp);
  return {
    gateway,
    ws,
    publish: () => publish,
    async restartPublish() {
      await publish.stop();
      publish = await startPublishProcess(ws, publishEnv(ws), port);
    },
    post: (route, body) => postJson(`${gateway}${route}`, body, keys.approval),
    writeSecret: (name, value) => writeFile(path.join(ws.secrets, name), value),
    async close() {
      await gatewayApp.close();
      await metadataApp.close();
      await publish.kill();
      await ws.remove();
    },
  };
}
