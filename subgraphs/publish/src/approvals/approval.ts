import { createHash } from 'node:crypto';
import type { ResolvedDataset } from '../../../../lib/connectors/index.js';
import type { ApprovalSummary } from '../../../../lib/contract/index.js';
import { logicalTypeText } from '../../../../lib/types/logical.js';

/** An approved column: its name and its logical type as text (lib/types/logical.ts, logicalTypeText). */
export interface ApprovedColumn {
  name: string;
  type: string;
}

export interface ApprovedTable {
  name: string;
  columns: ApprovedColumn[];
}

/**
 * What a successful validation approved: the tables and columns of the
 * request's dataset, with their logical types, as the source's catalog had
 * them, and the fingerprint of that.
 */
export interface Approval {
  /** When the validation ran (ISO 8601, UTC). */
  validatedAt: string;
  /** The source, as describeSource spells it (type, host, port, database): what a package is matched on. */
  source: string;
  catalog: string;
  schema: string;
  /** In the dataset's order; columns in the requested order (every column, in table order, when none was named). */
  tables: ApprovedTable[];
  /** See {@link approvalFingerprint}. */
  fingerprint: string;
}

/** Code-unit order, the same in every locale. */
export const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * SHA-256 (lowercase hex) of the UTF-8 JSON text of
 * `["cr8tor-approval-v1", catalog, schema, [[table, [[column, type], …]], …]]`,
 * tables and columns sorted by name in code-unit order: two approvals have the
 * same fingerprint exactly when they approve the same columns with the same
 * types (the order columns were named in is not part of it, as a package's
 * check does not compare it).
 */
export function approvalFingerprint(catalog: string, schema: string, tables: readonly ApprovedTable[]): string {
  const canonical = [...tables]
    .sort((a, b) => byCodeUnits(a.name, b.name))
    .map((t) => [t.name, [...t.columns].sort((a, b) => byCodeUnits(a.name, b.name)).map((c) => [c.name, c.type])]);
  return createHash('sha256').update(JSON.stringify(['cr8tor-approval-v1', catalog, schema, canonical])).digest('hex');
}

/** The approval of a dataset as resolveDataset confirmed it at validation. */
export function approvalOf(resolved: ResolvedDataset, source: string, validatedAt: string): Approval {
  const tables = resolved.tables.map((t) => ({ name: t.name, columns: t.columns.map((c) => ({ name: c.name, type: logicalTypeText(c.logical) })) }));
  return { validatedAt, source, catalog: resolved.catalog, schema: resolved.schema, tables, fingerprint: approvalFingerprint(resolved.catalog, resolved.schema, tables) };
}

/** What the validation record keeps of an approval (the whole of it is in the approval store). */
export function summariseApproval(approval: Approval): ApprovalSummary {
  return {
    schema_name: approval.schema,
    table_count: approval.tables.length,
    column_count: approval.tables.reduce((n, t) => n + t.columns.length, 0),
    fingerprint: approval.fingerprint,
  };
}
