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

/**
 * The pod's Azure identity when the secret store is Key Vault, as AKS workload
 * identity injects them (the webhook sets all four when the service account is
 * labelled `azure.workload.identity/use: "true"`).
 */
export const azureIdentitySettings = defineSettings({
  AZURE_CLIENT_ID: {
    ...setting.optionalString(),
    services: ALL_SERVICES,
    description: 'The client id of the pod\'s Azure identity (AKS workload identity sets it); required with `AZURE_FEDERATED_TOKEN_FILE`.',
  },
  AZURE_TENANT_ID: {
    ...setting.optionalString(),
    services: ALL_SERVICES,
    description: 'The Entra ID tenant of that identity (AKS workload identity sets it); required with `AZURE_FEDERATED_TOKEN_FILE`.',
  },
  AZURE_FEDERATED_TOKEN_FILE: {
    ...setting.optionalString(),
    type: 'file path',
    services: ALL_SERVICES,
    description: 'The service account token AKS workload identity projects; when set, `WorkloadIdentityCredential` alone reads Key Vault (not `DefaultAzureCredential`\'s chain; see docs/deployment.md, "Key Vault read by the services").',
  },
  AZURE_AUTHORITY_HOST: {
    ...setting.optionalUrl(),
    services: ALL_SERVICES,
    description: 'The Entra ID authority (AKS workload identity sets it); a host that is not one of Entra ID\'s clouds is trusted as configured, without instance discovery.',
  },
});
