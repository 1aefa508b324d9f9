import { tracked, type Observability } from '../../../lib/audit/track.js';
import { describeSource, type DatasetMetadata, type MetadataReport, type MetadataRequest } from '../../../lib/contract/index.js';
import type { CallContext } from '../../../lib/http/service.js';
import { resolveDataset, withConnector, type ConnectorOptions } from '../../../lib/connectors/index.js';
import type { ProjectRecords } from '../../../lib/project-log.js';
import type { SecretProvider } from '../../../lib/secrets/index.js';
import { clip } from '../../../lib/text.js';
import { summariseMetadata, SUMMARY_MAX_TEXT } from './report-summary.js';

export interface MetadataDeps {
  secrets: SecretProvider;
  connectorOptions: ConnectorOptions;
  reports: ProjectRecords<MetadataReport>;
  obs: Observability;
}

/**
 * Reads the catalog of the requested dataset: tables and columns with their
 * comments and source type names, never rows. When the request names a project,
 * a summary of the report is kept on the project.
 */
export function describeDataset(request: MetadataRequest, deps: MetadataDeps, call: CallContext): Promise<DatasetMetadata> {
  return tracked(deps.obs, call, 'metadata', { project: request, source: request.source, dataset: request.dataset }, async () => {
    const metadata = await readMetadata(request, deps);
    return {
      result: metadata,
      figures: { dataset: { schema: metadata.schema_name, tables: metadata.tables.map((t) => ({ name: t.name, columns: t.columns.map((c) => c.name) })) } },
    };
  });
}

async function readMetadata(request: MetadataRequest, deps: MetadataDeps): Promise<DatasetMetadata> {
  const resolved = await withConnector(request.source, deps.secrets, deps.connectorOptions, (c) => resolveDataset(c, request.dataset));
  const metadata: DatasetMetadata = {
    name: request.dataset.name ?? null,
    description: request.dataset.description ?? null,
    catalog: resolved.catalog,
    schema_name: resolved.schema,
    tables: resolved.tables.map((t) => ({
      name: t.name,
      description: t.description,
      columns: t.columns.map((c) => ({ name: c.name, description: c.description, datatype: c.datatype, nullable: c.nullable })),
    })),
  };
  if (request.project_name && request.project_start_time) {
    await deps.reports.add(request.project_name, request.project_start_time, {
      reported_at: new Date().toISOString(),
      source: clip(describeSource(request.source), SUMMARY_MAX_TEXT),
      metadata: summariseMetadata(metadata),
    });
  }
  return metadata;
}

