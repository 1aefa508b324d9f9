import { ByteLru } from '../../../../lib/byte-lru.js';
import { RECORDS_PER_PROJECT } from '../../../../lib/project-log.js';
import { STORE_SCHEMA } from '../../../../lib/store/migrate.js';
import type { PlatformStore } from '../../../../lib/store/index.js';
import { inTransaction } from '../../../../lib/store/transaction.js';
import type { Approval, ApprovedColumn } from './approval.js';

/** What a package is compared with: the newest approval of each table it reads. */
export interface ApprovedTables {
  /** Whether any validation of the project and start time approved a dataset (any source, any schema). */
  any: boolean;
  /** By table name: the columns the newest approval of that table (same source, same schema) approved. */
  tables: Map<string, ApprovedColumn[]>;
}

/**
 * The approvals of the newest {@link RECORDS_PER_PROJECT} successful
 * validations (with a dataset) of each project and start time: in the
 * platform database when there is one, in memory otherwise; the same
 * behaviour either way.
 */
export interface ApprovalStore {
  /** Keeps `approval` as the project's newest; false when it could not be kept (in memory: larger than the whole budget). */
  record(projectName: string, projectStartTime: string, approval: Approval): Promise<boolean>;
  /**
   * For each table of `tables` (null: every table approved in the schema),
   * the columns of the newest approval of the project and start time, from
   * `source`, in `schema`, that approved it; tables none approved are absent.
   */
  approved(projectName: string, projectStartTime: string, source: string, schema: string, tables: readonly string[] | null): Promise<ApprovedTables>;
}

/** A table's approved columns as kept: `[[name, type], …]`. */
type KeptColumns = Array<[string, string]>;

const keep = (columns: readonly ApprovedColumn[]): KeptColumns => columns.map((c) => [c.name, c.type]);
const unkeep = (kept: KeptColumns): ApprovedColumn[] => kept.map(([name, type]) => ({ name, type }));

interface MemoryApproval {
  source: string;
  schema: string;
  /** Table name → its columns' JSON text ({@link KeptColumns}). */
  tables: Map<string, string>;
  bytes: number;
}

/** Bookkeeping an approval costs beyond its text. */
const PER_ENTRY_BYTES = 64;

/**
 * Approvals in the service's memory: lost on restart, one set per replica,
 * at most `maxBytes` for all projects (PROJECT_RECORDS_MAX_BYTES; the least
 * recently validated projects go first). An approval larger than the whole
 * budget is not kept: `record` says so (false), and the caller logs it.
 */
export class MemoryApprovals implements ApprovalStore {
  private readonly projects: ByteLru<MemoryApproval[]>;

  constructor(maxBytes: number, private readonly perProject: number = RECORDS_PER_PROJECT) {
    this.projects = new ByteLru(maxBytes, (key, list) => Buffer.byteLength(key) + list.reduce((n, a) => n + a.bytes, 0));
  }

  private static key(projectName: string, projectStartTime: string): string {
    return `${projectName}\u0000${projectStartTime}`;
  }

  async record(projectName: string, projectStartTime: string, approval: Approval): Promise<boolean> {
    const key = MemoryApprovals.key(projectName, projectStartTime);
    const tables = new Map(approval.tables.map((t) => [t.name, JSON.stringify(keep(t.columns))]));
    let bytes = PER_ENTRY_BYTES + Buffer.byteLength(approval.source) + Buffer.byteLength(approval.schema);
    for (const [name, columns] of tables) bytes += Buffer.byteLength(name) + Buffer.byteLength(columns) + PER_ENTRY_BYTES;
    const entry: MemoryApproval = { source: approval.source, schema: approval.schema, tables, bytes };
    const list = [entry, ...(this.projects.peek(key) ?? [])].slice(0, this.perProject);
    // The project alone over the budget keeps its newest approvals that fit.
    const size = () => Buffer.byteLength(key) + list.reduce((n, a) => n + a.bytes, 0);
    while (list.length > 1 && size() > this.projects.maxBytes) list.pop();
    this.projects.set(key, list);
    return this.projects.peek(key) !== undefined;
  }

  async approved(projectName: string, projectStartTime: string, source: string, schema: string, tables: readonly string[] | null): Promise<ApprovedTables> {
    const list = this.projects.peek(MemoryApprovals.key(projectName, projectStartTime)) ?? [];
    const wanted = tables ? new Set(tables) : undefined;
    const found = new Map<string, ApprovedColumn[]>();
    for (const a of list) {
      if (a.source !== source || a.schema !== schema) continue;
      for (const [name, columns] of a.tables) {
        if (!found.has(name) && (!wanted || wanted.has(name))) found.set(name, unkeep(JSON.parse(columns) as KeptColumns));
      }
    }
    return { any: list.length > 0, tables: found };
  }
}

/** Lock class of a project's approvals: writers of one project and start time take turns trimming them. */
const APPROVALS_LOCK_CLASS = 0x63723861; // "cr8a"

/**
 * Approvals in the platform database (migration 004: `approvals`, one row per
 * validation, and `approved_tables`, one row per approved table with its
 * columns as JSON). Each write keeps the newest {@link RECORDS_PER_PROJECT}
 * approvals of the project and start time, in the same transaction.
 */
export class StoredApprovals implements ApprovalStore {
  constructor(private readonly store: PlatformStore, private readonly perProject: number = RECORDS_PER_PROJECT) {}

  async record(projectName: string, projectStartTime: string, approval: Approval): Promise<boolean> {
    return inTransaction(this.store.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [APPROVALS_LOCK_CLASS, JSON.stringify([projectName, projectStartTime])]);
      const columnCount = approval.tables.reduce((n, t) => n + t.columns.length, 0);
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO "${STORE_SCHEMA}".approvals (project_name, project_start_time, validated_at, source, catalog, schema_name, fingerprint, table_count, column_count)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
        [projectName, projectStartTime, approval.validatedAt, approval.source, approval.catalog, approval.schema, approval.fingerprint, approval.tables.length, columnCount],
      );
      // One statement for every table, however many.
      await client.query(
        `INSERT INTO "${STORE_SCHEMA}".approved_tables (approval_id, table_name, columns)
         SELECT $1, t.name, t.columns FROM json_to_recordset($2::json) AS t(name text, columns json)`,
        [rows[0]!.id, JSON.stringify(approval.tables.map((t) => ({ name: t.name, columns: keep(t.columns) })))],
      );
      await client.query(
        `DELETE FROM "${STORE_SCHEMA}".approvals WHERE project_name = $1 AND project_start_time = $2
           AND id < (SELECT min(id) FROM (SELECT id FROM "${STORE_SCHEMA}".approvals
                                          WHERE project_name = $1 AND project_start_time = $2 ORDER BY id DESC LIMIT $3) AS newest)`,
        [projectName, projectStartTime, this.perProject],
      );
      return true;
    });
  }

  async approved(projectName: string, projectStartTime: string, source: string, schema: string, tables: readonly string[] | null): Promise<ApprovedTables> {
    // PostgreSQL text cannot hold U+0000: nothing so named was ever approved.
    if ([projectName, projectStartTime, source, schema].some((s) => s.includes('\u0000'))) return { any: false, tables: new Map() };
    const named = tables ? tables.filter((t) => !t.includes('\u0000')) : null;
    const { rows } = await this.store.pool.query<{ table_name: string; columns: KeptColumns; any: boolean }>(
      `SELECT t.table_name, t.columns, true AS any FROM (
         SELECT DISTINCT ON (t.table_name) t.table_name, t.columns
           FROM "${STORE_SCHEMA}".approvals a JOIN "${STORE_SCHEMA}".approved_tables t ON t.approval_id = a.id
          WHERE a.project_name = $1 AND a.project_start_time = $2 AND a.source = $3 AND a.schema_name = $4
            AND ($5::text[] IS NULL OR t.table_name = ANY ($5::text[]))
          ORDER BY t.table_name, a.id DESC) AS t
       UNION ALL
       SELECT NULL, NULL, EXISTS (SELECT 1 FROM "${STORE_SCHEMA}".approvals WHERE project_name = $1 AND project_start_time = $2)`,
      [projectName, projectStartTime, source, schema, named],
    );
    const found = new Map<string, ApprovedColumn[]>();
    let any = false;
    for (const r of rows) {
      if (r.table_name === null) any = r.any;
      else found.set(r.table_name, unkeep(r.columns));
    }
    return { any, tables: found };
  }
}

/** The service's approvals: in the platform database when there is one, else in memory within `maxBytes`. */
export function approvalStore(store: PlatformStore | undefined, maxBytes: number): ApprovalStore {
  return store ? new StoredApprovals(store) : new MemoryApprovals(maxBytes);
}
