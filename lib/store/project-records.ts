import type { z } from 'zod';
import { ProjectLog, RECORDS_PER_PROJECT, type ProjectRecords } from '../project-log.js';
import { STORE_SCHEMA } from './migrate.js';
import type { PlatformStore } from './store.js';
import { inTransaction } from './transaction.js';

/** The kinds of record kept (the CHECK of `project_records.kind`, migration 001). */
export type ProjectRecordKind = 'metadata_report' | 'validation';

/** Lock class of a project's records: writers of one project and start time take turns trimming them. */
const RECORDS_LOCK_CLASS = 0x63723872; // "cr8r"

/**
 * Project records in the platform database (`cr8tor_platform.project_records`):
 * they survive restarts and every replica reads the same. Each write keeps the
 * newest {@link RECORDS_PER_PROJECT} of the project and start time, in the
 * same transaction, so the table holds at most that many bounded summaries per
 * project. Records read back are checked against their contract schema.
 */
export class StoredProjectRecords<S extends z.ZodType> implements ProjectRecords<z.output<S>> {
  constructor(
    private readonly store: PlatformStore,
    private readonly kind: ProjectRecordKind,
    private readonly schema: S,
    private readonly perProject: number = RECORDS_PER_PROJECT,
  ) {}

  async add(projectName: string, projectStartTime: string, entry: z.output<S>): Promise<void> {
    return inTransaction(this.store.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [RECORDS_LOCK_CLASS, JSON.stringify([this.kind, projectName, projectStartTime])]);
      const key = [this.kind, projectName, projectStartTime];
      await client.query(`INSERT INTO "${STORE_SCHEMA}".project_records (kind, project_name, project_start_time, record) VALUES ($1, $2, $3, $4)`, [...key, JSON.stringify(entry)]);
      await client.query(
        `DELETE FROM "${STORE_SCHEMA}".project_records WHERE kind = $1 AND project_name = $2 AND project_start_time = $3
           AND id < (SELECT min(id) FROM (SELECT id FROM "${STORE_SCHEMA}".project_records
                                          WHERE kind = $1 AND project_name = $2 AND project_start_time = $3 ORDER BY id DESC LIMIT $4) AS newest)`,
        [...key, this.perProject],
      );
    });
  }

  async list(projectName: string, projectStartTime: string): Promise<Array<z.output<S>>> {
    // PostgreSQL text cannot hold U+0000, so no project so named was recorded (requests' names never have it).
    if (projectName.includes('\u0000') || projectStartTime.includes('\u0000')) return [];
    const { rows } = await this.store.pool.query<{ record: unknown }>(
      `SELECT record FROM "${STORE_SCHEMA}".project_records WHERE kind = $1 AND project_name = $2 AND project_start_time = $3 ORDER BY id DESC LIMIT $4`,
      [this.kind, projectName, projectStartTime, this.perProject],
    );
    return rows.map((r) => this.schema.parse(r.record));
  }
}

/** A service's records of one kind: in the platform database when there is one, else in memory (lost on restart). */
export function projectRecords<S extends z.ZodType>(store: PlatformStore | undefined, kind: ProjectRecordKind, schema: S): ProjectRecords<z.output<S>> {
  return store ? new StoredProjectRecords(store, kind, schema) : new ProjectLog<z.output<S>>();
}
