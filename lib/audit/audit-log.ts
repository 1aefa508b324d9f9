import { open, type FileHandle } from 'node:fs/promises';
import { readSettings } from '../config/env.js';
import { auditSettings } from '../config/settings/index.js';
import type { JobKind, JobState } from '../contract/jobs.js';

/** One data access: who, what, from where, to where, and what came of it. */
export interface AuditEvent {
  time: string;
  service: string;
  action: 'metadata' | 'validate' | 'package' | 'publish';
  request_id: string;
  /** Identifier of the API key the caller presented to the gateway (never the key). */
  key_id: string;
  project?: { name: string; start_time: string };
  source?: { type: string; host: string; port: number; database: string };
  dataset?: { schema: string | null; tables: Array<{ name: string; columns: string[] }> };
  destination?: { name: string; type: string; format: string };
  outcome: 'success' | 'error';
  /** The error detail when the outcome is an error. */
  detail?: string;
  /** The error's code (lib/errors.ts) when the outcome is an error: tells refusals apart. */
  code?: string;
  duration_ms: number;
  /** Rows and bytes per table (package). */
  tables?: Array<{ name: string; rows: number | null; bytes: number | null }>;
  /** Files with their SHA-512 (package and publish). */
  files?: Array<{ path: string; bytes: number; sha512: string }>;
  /** What an operator should know of a package or publish that succeeded (a primary key not kept, …); never a row value. Absent when there is nothing. */
  warnings?: string[];
}

/**
 * A call the HTTP layer refused before any data was touched (403, 404 for an
 * unknown route, 400, 408, 413, 415, 422, 431): who tried what, never the body
 * or the key. Written at most at the rate {@link RefusalAudit} allows.
 */
export interface RefusalEvent {
  time: string;
  service: string;
  action: 'refused';
  /** Absent when the request never got that far (malformed HTTP, a timeout before the headers). */
  request_id?: string;
  /** The address the connection came from. */
  client: string;
  method?: string;
  /** The request's path without its query, at most 200 characters. */
  path?: string;
  status: number;
  reason: string;
}

/** Refusals left unwritten in one second because they came faster than the audit rate allows. */
export interface SuppressedRefusalsEvent {
  time: string;
  service: string;
  action: 'refused_suppressed';
  /** How many refusals were not written individually. */
  suppressed: number;
  /** From how many client addresses (at most the number tracked per second). */
  clients: number;
  /** The second they fell in (ISO 8601). */
  since: string;
}

/**
 * A step in the life of a job (issue #17): a replica started running it, a key
 * cancelled it, it ended. The package or publication the job runs writes its
 * own {@link AuditEvent} as well (the data access, by the key that started the job).
 */
export interface JobAuditEvent {
  time: string;
  service: string;
  action: 'job_started' | 'job_cancelled' | 'job_finished';
  /** Who did it: the key that started the job (started, finished), or the key that cancelled it (cancelled). Never the key itself. */
  key_id: string;
  job: {
    id: string;
    kind: JobKind;
    project: { name: string; start_time: string };
    /** The request that started the job (its x-request-id). */
    request_id: string;
    /** The publish replica running it or that ran it; null when it never started. */
    replica: string | null;
  };
  /** The state it ended in (job_finished), or was in when the cancellation was asked (job_cancelled: queued or running). */
  state?: JobState;
  /** The error's code when it ended failed or cancelled (job_finished). */
  code?: string;
  /** How long it ran, from start to end (job_finished; 0 when it never started). */
  duration_ms?: number;
}

/** Anything the audit trail records. */
export type AuditRecord = AuditEvent | RefusalEvent | SuppressedRefusalsEvent | JobAuditEvent;

/**
 * The audit trail: every event is written as one JSON line to stdout and, when
 * `AUDIT_LOG_PATH` is set, appended to that file and fsynced before the call
 * answers, so an acknowledged data access is always on disk. Appends are
 * serialised, so lines never interleave.
 */
export class AuditLog {
  private file: Promise<FileHandle> | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string | undefined,
    private readonly stdout: (line: string) => void = (line) => process.stdout.write(line),
  ) {}

  static fromEnv(env?: NodeJS.ProcessEnv): AuditLog {
    return new AuditLog(readSettings(auditSettings, env).AUDIT_LOG_PATH);
  }

  /** Writes one event; resolves once it is durable. */
  record(event: AuditRecord): Promise<void> {
    const line = `${JSON.stringify({ audit: event })}\n`;
    this.stdout(line);
    if (!this.path) return Promise.resolve();
    const path = this.path;
    const write = this.chain.then(async () => {
      this.file ??= open(path, 'a', 0o640);
      const handle = await this.file;
      await handle.write(line);
      await handle.sync();
    });
    this.chain = write.catch(() => undefined);
    return write;
  }

  async close(): Promise<void> {
    await this.chain;
    if (this.file) await (await this.file).close();
    this.file = undefined;
  }
}
