import { ConfigError, readSettings } from '../config/env.js';
import { secretStoreSettings } from '../config/settings/index.js';
import { FileSecretProvider } from './file-provider.js';
import type { SecretProvider } from './provider.js';

export type { SecretProvider } from './provider.js';
export { FileSecretProvider } from './file-provider.js';
export { assertSecretName, isSecretName } from './secret-name.js';

/**
 * The secret provider the environment asks for: files in `SECRETS_MNT_PATH`
 * (the default, and what the Key Vault CSI driver mounts) or Azure Key Vault read
 * directly at `AZURE_KEYVAULT_URL` with the pod's Azure identity (see
 * azure-credential.ts for which credential that is).
 */
export async function secretProviderFromEnv(env?: NodeJS.ProcessEnv): Promise<SecretProvider> {
  const s = readSettings(secretStoreSettings, env);
  if (s.SECRETS_PROVIDER === 'azure-keyvault') {
    if (!s.AZURE_KEYVAULT_URL) {
      throw new ConfigError('Invalid setting AZURE_KEYVAULT_URL: is required when SECRETS_PROVIDER is azure-keyvault (it is not set).');
    }
    // The Azure libraries are loaded only when Key Vault is used (tens of MiB a service would otherwise hold).
    const [{ azureCredentialFromEnv }, { KeyVaultSecretProvider }] = await Promise.all([import('./azure-credential.js'), import('./keyvault-provider.js')]);
    return new KeyVaultSecretProvider(s.AZURE_KEYVAULT_URL, await azureCredentialFromEnv(env));
  }
  return new FileSecretProvider(s.SECRETS_MNT_PATH);
}
