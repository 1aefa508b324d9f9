/**
 * `npm start`: runs the three services as child processes (metadata, publish,
 * then the gateway), each with the same environment, their output interleaved.
 * SIGTERM or SIGINT stops all three; if one exits, the others are stopped too.
 * With secret files (the default), it first checks the three API keys are
 * there, and says how to create them (`npm run keys`) when they are not.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { apiKeySecretNames } from '../lib/auth/api-key.js';
import { ConfigError } from '../lib/config/env.js';
import { isAppError } from '../lib/errors.js';
import { FileSecretProvider, secretProviderFromEnv } from '../lib/secrets/index.js';
import { sourceServiceArgs } from '../lib/service/launch.js';

/** The API key files that are missing or empty; a problem with the store itself is a ConfigError. */
async function missingKeyFiles(secrets: FileSecretProvider): Promise<string[]> {
  const missing: string[] = [];
  for (const name of Object.values(apiKeySecretNames)) {
    try {
      if ((await secrets.get(name)).trim() === '') missing.push(`${name} (empty)`);
    } catch (error) {
      if (isAppError(error) && error.code === 'SECRET_NOT_FOUND') missing.push(name);
      else throw new ConfigError(`${isAppError(error) ? error.detail : String(error)} (${secrets.description})`);
    }
  }
  return missing;
}

try {
  const secrets = await secretProviderFromEnv();
  if (secrets instanceof FileSecretProvider) {
    const missing = await missingKeyFiles(secrets);
    if (missing.length > 0) {
      console.error(`npm start: the services' API keys are missing from ${secrets.description}: ${missing.join(', ')}.`);
      console.error('Create them with `npm run keys` (three fresh random keys), or set SECRETS_MNT_PATH to the folder that holds them.');
      process.exit(1);
    }
  }
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`npm start: ${error.message}`);
  process.exit(1);
}

const services = ['metadata', 'publish', 'approval'] as const;

const children: ChildProcess[] = [];
let stopping = false;

function stopAll(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 100).unref();
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(() => process.exit(code));
}

for (const name of services) {
  const child = spawn(process.execPath, sourceServiceArgs(name), { stdio: 'inherit', env: process.env, cwd: process.cwd() });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${name} service exited (${signal ?? `code ${code}`}); stopping the others.`);
      stopAll(code ?? 1);
    }
  });
  children.push(child);
}

process.on('SIGTERM', () => stopAll(0));
process.on('SIGINT', () => stopAll(0));
