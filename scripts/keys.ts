/**
 * `npm run keys [-- --force]`: writes the three API keys the services need
 * (approvalserviceapikey, metadataserviceapikey, publishserviceapikey) as fresh
 * random values (32 random bytes, base64url) into the secrets folder
 * (SECRETS_MNT_PATH, `./secrets` by default), each readable by its owner only
 * (0600), the folder 0700. Existing keys are kept and nothing is written unless
 * --force replaces them. The values are never printed.
 */
import { chmod, mkdir, open, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { API_KEY_BYTES, apiKeySecretNames, newApiKey } from '../lib/auth/api-key.js';
import { ConfigError, readSettings } from '../lib/config/env.js';
import { secretStoreSettings } from '../lib/config/settings/index.js';

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Writes `value` to `file` with mode 0600, whole or not at all (a temporary file renamed over it). */
async function writeKey(file: string, value: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(value);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, file);
}

async function main(): Promise<number> {
  const force = process.argv.slice(2).includes('--force');
  const unknown = process.argv.slice(2).filter((a) => a !== '--force');
  if (unknown.length > 0) {
    console.error(`npm run keys: unknown argument ${unknown.join(' ')} (the only option is --force, which replaces existing keys).`);
    return 2;
  }
  const dir = path.resolve(readSettings(secretStoreSettings).SECRETS_MNT_PATH);
  const files = Object.values(apiKeySecretNames).map((name) => ({ name, file: path.join(dir, name) }));
  const present: string[] = [];
  for (const { name, file } of files) if (await exists(file)) present.push(name);
  if (present.length > 0 && !force) {
    console.error(`npm run keys: ${dir} already holds ${present.join(', ')}; nothing was written. Run \`npm run keys -- --force\` to replace all three keys (clients holding the old approval key then need the new one).`);
    return 1;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const { file } of files) {
    await writeKey(file, newApiKey());
    await chmod(file, 0o600);
  }
  console.log(`wrote ${files.map((f) => f.name).join(', ')} to ${dir} (mode 0600, ${API_KEY_BYTES} random bytes each, base64url).`);
  console.log(`Clients call the gateway with the approval key: x-api-key: $(cat ${path.join(dir, apiKeySecretNames.approval)})`);
  return 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  // A bad SECRETS_MNT_PATH, a folder that cannot be written: one line, no stack.
  console.error(`npm run keys: ${error instanceof ConfigError ? error.message : (error as Error).message}`);
  process.exitCode = 1;
}
