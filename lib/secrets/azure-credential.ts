import type { TokenCredential } from '@azure/core-auth';
import { ConfigError, readSettings } from '../config/env.js';
import { azureIdentitySettings } from '../config/settings/index.js';

/** Entra ID's own clouds: MSAL knows their metadata and validates an authority on them without asking anyone. */
const AZURE_CLOUD_HOSTS = new Set(['login.microsoftonline.com', 'login.microsoftonline.us', 'login.chinacloudapi.cn']);

/**
 * The credential the secret store is read with.
 *
 * With workload identity (AZURE_FEDERATED_TOKEN_FILE set) it is
 * `WorkloadIdentityCredential` alone, not `DefaultAzureCredential`'s chain.
 * The chain would reach the same token (its managed-identity link also uses
 * the token file then, not 169.254.169.254), but when that fails (an
 * unreadable file) it goes on to the developer tools, starting `az`, `pwsh`
 * and `azd` in the pod, and reports an aggregate of every link's failure;
 * alone, the credential's own error is the one reported. AZURE_CLIENT_ID and
 * AZURE_TENANT_ID are then required.
 *
 * An authority host that is not one of Entra ID's clouds (a private or test
 * authority) is trusted as configured: MSAL would otherwise ask
 * login.microsoftonline.com to validate it ("instance discovery"), which fails
 * for such a host and sends its name out; it reads the host's own OpenID
 * configuration instead.
 *
 * Without workload identity it is `DefaultAzureCredential` (a managed identity
 * on a node, or a developer's `az login`).
 */
export async function azureCredentialFromEnv(env?: NodeJS.ProcessEnv): Promise<TokenCredential> {
  const s = readSettings(azureIdentitySettings, env);
  const identity = await import('@azure/identity');
  const authorityHost = s.AZURE_AUTHORITY_HOST;
  const disableInstanceDiscovery = authorityHost !== undefined && !AZURE_CLOUD_HOSTS.has(new URL(authorityHost).hostname.toLowerCase());
  const tokenFile = s.AZURE_FEDERATED_TOKEN_FILE?.trim();
  if (tokenFile) {
    for (const name of ['AZURE_CLIENT_ID', 'AZURE_TENANT_ID'] as const) {
      if (!s[name]?.trim()) throw new ConfigError(`Invalid setting ${name}: is required with workload identity (AZURE_FEDERATED_TOKEN_FILE is set) (it is not set).`);
    }
    return new identity.WorkloadIdentityCredential({
      clientId: s.AZURE_CLIENT_ID!.trim(),
      tenantId: s.AZURE_TENANT_ID!.trim(),
      tokenFilePath: tokenFile,
      ...(authorityHost === undefined ? {} : { authorityHost }),
      disableInstanceDiscovery,
    });
  }
  return new identity.DefaultAzureCredential({ ...(authorityHost === undefined ? {} : { authorityHost }), disableInstanceDiscovery });
}
