import { readSettings } from '../../../../lib/config/env.js';
import { catalogApprovalSettings } from '../../../../lib/config/settings/index.js';
import { resolveDataset, type CatalogView, type ResolvedDataset, type SourceConnector } from '../../../../lib/connectors/index.js';
import { describeSource, type DatasetRequest, type TransferRequest } from '../../../../lib/contract/index.js';
import { appError } from '../../../../lib/errors.js';
import type { CallContext } from '../../../../lib/http/service.js';
import { approvalOf, type Approval } from './approval.js';
import { catalogDrift, describeDrift, MAX_CHANGES_NAMED } from './drift.js';
import type { ApprovalStore } from './store.js';

/** What the publish service keeps of validations' approvals and how its packages treat them. */
export interface CatalogApprovals {
  store: ApprovalStore;
  /** PACKAGE_ALLOW_CATALOG_DRIFT: a package whose catalog differs from its approval runs, with a warning. */
  allowDrift: boolean;
  /** PACKAGE_REQUIRE_VALIDATION: a package of a project nothing was approved for is refused. */
  requireValidation: boolean;
}

export type CatalogApprovalSettings = Omit<CatalogApprovals, 'store'>;

/** Reads PACKAGE_ALLOW_CATALOG_DRIFT and PACKAGE_REQUIRE_VALIDATION; a bad value throws a ConfigError naming it. */
export function readCatalogApprovalSettings(env?: NodeJS.ProcessEnv): CatalogApprovalSettings {
  const s = readSettings(catalogApprovalSettings, env);
  return { allowDrift: s.PACKAGE_ALLOW_CATALOG_DRIFT, requireValidation: s.PACKAGE_REQUIRE_VALIDATION };
}

/**
 * At validation: reads the dataset's tables and columns from the source's
 * catalog (one catalog read, resolveDataset as the metadata service reads it)
 * and gives what is approved: those tables and columns with their logical types.
 */
export async function readApproval(connector: SourceConnector, dataset: DatasetRequest): Promise<Approval> {
  const resolved = await resolveDataset(connector, dataset);
  return approvalOf(resolved, describeSource(connector.source), new Date().toISOString());
}

/** Keeps a validation's approval; one that cannot be kept (in memory, over the whole budget) is logged. */
export async function keepApproval(approvals: CatalogApprovals, project: { project_name: string; project_start_time: string }, approval: Approval, log: Pick<CallContext['log'], 'warn'>): Promise<void> {
  if (!(await approvals.store.record(project.project_name, project.project_start_time, approval))) {
    log.warn(
      { approval: { schema: approval.schema, tables: approval.tables.length, fingerprint: approval.fingerprint } },
      'the approval of this validation is larger than PROJECT_RECORDS_MAX_BYTES and was not kept: packages of the project will not be checked against it',
    );
  }
}

/**
 * At package: resolves the request's dataset (the package's one catalog read)
 * and, before anything is extracted, compares the catalog with the newest
 * approval of each table it reads (same project, start time, source and
 * schema). A difference is refused with CATALOG_DRIFT naming each added,
 * removed or retyped column, or with PACKAGE_ALLOW_CATALOG_DRIFT logged as a
 * warning. A project nothing was ever approved for is refused with
 * PACKAGE_REQUIRE_VALIDATION, else packaged with a warning.
 */
export function resolveApprovedDataset(connector: SourceConnector, request: TransferRequest, approvals: CatalogApprovals, log: Pick<CallContext['log'], 'warn'>): Promise<ResolvedDataset> {
  const project = { project: request.project_name, startTime: request.project_start_time };
  const source = describeSource(request.source);
  const inspect = async (view: CatalogView) => {
    const approved = await approvals.store.approved(request.project_name, request.project_start_time, source, view.schema, view.allTables ? null : view.tables.map((t) => t.name));
    if (!approved.any) {
      if (approvals.requireValidation) throw appError('CATALOG_DRIFT', { ...project, unvalidated: true });
      log.warn({ catalog_check: 'no approval' }, 'no validation of this project and start time approved a dataset: the package is not checked against an approved catalog (PACKAGE_REQUIRE_VALIDATION is off)');
      return;
    }
    const changes = catalogDrift(view, approved.tables);
    if (changes.length === 0) return;
    const drift = describeDrift(changes);
    if (!approvals.allowDrift) throw appError('CATALOG_DRIFT', { ...project, source, schema: view.schema, drift });
    log.warn(
      { catalog_drift: { count: changes.length, changes: changes.slice(0, MAX_CHANGES_NAMED) } },
      `the source's catalog differs from what the project's validation approved, and PACKAGE_ALLOW_CATALOG_DRIFT lets the package run: ${drift}`,
    );
  };
  return resolveDataset(connector, request.dataset, { forExtraction: true, inspect });
}
