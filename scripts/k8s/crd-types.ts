/**
 * The custom resources the manifests use, for which no npm package ships a
 * schema (kubernetes-models covers the built-in API groups only). Written from
 * the Secrets Store CSI driver's CRD (secrets-store.csi.x-k8s.io/v1
 * SecretProviderClass) and the Azure Key Vault provider's documented
 * parameters; schema.ts checks rendered objects against these types with
 * the TypeScript compiler, as it does the built-in kinds, so an unknown or
 * misspelt field fails. Parameter values are strings in the CRD (a map of
 * string to string); test/deploy/k8s.test.ts checks their contents.
 */

/** Key Vault provider parameters (Azure/secrets-store-csi-driver-provider-azure). */
export interface AzureKeyVaultParameters {
  keyvaultName: string;
  tenantId: string;
  /** A YAML document `array: [ "objectName: …\nobjectType: secret", … ]`. */
  objects: string;
  usePodIdentity?: 'true' | 'false';
  useVMManagedIdentity?: 'true' | 'false';
  userAssignedIdentityID?: string;
  /** Workload identity: the client id of the federated identity. */
  clientID?: string;
  cloudName?: string;
}

/** secrets-store.csi.x-k8s.io/v1 SecretProviderClass. */
export interface ISecretProviderClass {
  apiVersion: 'secrets-store.csi.x-k8s.io/v1';
  kind: 'SecretProviderClass';
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: {
    provider: 'azure';
    parameters: AzureKeyVaultParameters;
    /** Mirrors mounted objects into Kubernetes Secrets; this deployment does not use it. */
    secretObjects?: Array<{
      secretName: string;
      type: string;
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
      data: Array<{ objectName: string; key: string }>;
    }>;
  };
}

/** One entry of the `objects` array. */
export interface KeyVaultObject {
  objectName: string;
  objectType: 'secret' | 'key' | 'cert';
  objectAlias?: string;
  objectVersion?: string;
  objectVersionHistory?: number;
  objectEncoding?: 'utf-8' | 'hex' | 'base64';
  objectFormat?: 'pem' | 'pfx';
}
