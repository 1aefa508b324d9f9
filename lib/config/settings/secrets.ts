/** Which secret store the services read, and where it is. */
import { ALL_SERVICES, defineSettings, setting } from '../env.js';

/** The settings that choose and configure the secret store. */
export const secretStoreSettings = defineSettings({
  SECRETS_PROVIDER: {
    ...setting.choice(['files', 'azure-keyvault'] as const, 'files'),
    services: ALL_SERVICES,
    description: '`files`: one file per secret in `SECRETS_MNT_PATH`, as the Key Vault CSI driver mounts them; `azure-keyvault`: read Azure Key Vault directly at `AZURE_KEYVAULT_URL` with the pod\'s Azure identity.',
  },
  SECRETS_MNT_PATH: {
    ...setting.string('./secrets'),
    type: 'folder',
    services: ALL_SERVICES,
    description: 'The folder of secret files (`npm run keys` writes the API keys there; the image sets `/mnt/secrets`).',
  },
  AZURE_KEYVAULT_URL: {
    ...setting.optionalUrl(),
    services: ALL_SERVICES,
    description: 'The vault\'s URL (`https://<vault>.vault.azure.net`), required when `SECRETS_PROVIDER=azure-keyvault`.',
  },
});
