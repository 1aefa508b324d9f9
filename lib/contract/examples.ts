/**
 * Request bodies exactly as the contract (docs/contract.md) shows them, used
 * as the OpenAPI examples; a test checks them against the contract's text.
 */
export const publishRequestExample = {
  project_name: 'Pr004',
  project_start_time: '20250205_010101',
  destination: { name: 'LSC', type: 'filestore', format: 'duckdb' },
};

export const accessRequestExample = {
  ...publishRequestExample,
  source: {
    type: 'postgresql',
    host_url: 'db.example.org',
    database: 'my_database',
    port: 5432,
    credentials: { provider: 'AzureKeyVault', username_key: 'pg-user', password_key: 'pg-password' },
  },
  extract_config: { backend_engine: 'pyarrow' },
};

export const transferRequestExample = {
  ...accessRequestExample,
  dataset: {
    name: 'dataset_1',
    schema_name: 'public',
    description: null,
    tables: [{ name: 'person', description: null, columns: [{ name: 'person_id', datatype: null, description: null }] }],
  },
};
