import type { Job, JobError, JobKind, JobState, TableProgress } from '../../contract/jobs.js';
import { appError, publicError } from '../../errors.js';
import { STORE_SCHEMA } from '../../store/migrate.js';

/** The jobs table (migration 003). */
export const JOBS = `"${STORE_SCHEMA}".jobs`;

/** The LISTEN/NOTIFY channel of the jobs table's trigger (migration 003). */
export const JOBS_CHANNEL = 'cr8tor_jobs';

/** What the trigger sends on {@link JOBS_CHANNEL}. */
export interface JobNotification {
  id: string;
  state: JobState;
  /** A cancellation was requested. */
  cancel: boolean;
}

/** The columns a {@link Job} is read from, with the paging cursor's time at full (microsecond) precision. */
export const JOB_COLUMNS = `id, kind, project_name, project_start_time, state, started_by, request_id, created_at, started_at, finished_at,
  replica, progress, result, error, fingerprint, cancel_requested_by,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at`;

export interface JobRow {
  id: string;
  kind: JobKind;
  project_name: string;
  project_start_time: string;
  state: JobState;
  started_by: string;
  request_id: string;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  replica: string | null;
  progress: TableProgress[];
  result: unknown;
  error: JobError | null;
  fingerprint: string;
  cancel_requested_by: string | null;
  cursor_at: string;
}

/** A row as the contract's Job. */
export function jobOf(row: JobRow): Job {
  const result = row.state === 'succeeded' ? (row.result ?? null) : null;
  return {
    id: row.id,
    kind: row.kind,
    project_name: row.project_name,
    project_start_time: row.project_start_time,
    state: row.state,
    started_by: row.started_by,
    request_id: row.request_id,
    created_at: row.created_at.toISOString(),
    started_at: row.started_at?.toISOString() ?? null,
    finished_at: row.finished_at?.toISOString() ?? null,
    replica: row.replica,
    progress: row.progress,
    package_result: row.kind === 'package' ? (result as Job['package_result']) : null,
    publish_result: row.kind === 'publish' ? (result as Job['publish_result']) : null,
    error: row.error,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `id` could be a job's id (a UUID): anything else is no job, answered without asking the database. */
export function isJobId(id: string): boolean {
  return UUID.test(id);
}

/** The opaque paging cursor after `row`: base64url of its creation time (microseconds, UTC) and id. */
export function cursorOf(row: JobRow): string {
  return Buffer.from(`${row.cursor_at}|${row.id}`, 'utf8').toString('base64url');
}

const CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)\|([0-9a-f-]{36})$/;

/** A cursor {@link cursorOf} made, read back; anything else is INVALID_REQUEST. */
export function readCursor(cursor: string): { at: string; id: string } {
  const match = cursor.length <= 200 && /^[A-Za-z0-9_-]*$/.test(cursor) ? CURSOR.exec(Buffer.from(cursor, 'base64url').toString('utf8')) : null;
  if (!match || !isJobId(match[2]!) || Number.isNaN(Date.parse(match[1]!))) {
    throw appError('INVALID_REQUEST', { problem: "'after' is not a cursor a page of jobs answered" });
  }
  return { at: match[1]!, id: match[2]! };
}

/** The error envelope a job ends with: code, status and detail of {@link publicError} (an error that is not an AppError is INTERNAL, its message never shown). */
export function jobError(error: unknown): JobError {
  const { code, status, detail } = publicError(error);
  return { code, status, detail };
}
