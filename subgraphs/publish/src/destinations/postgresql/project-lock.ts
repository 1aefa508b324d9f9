import { createHash } from 'node:crypto';
import os from 'node:os';
import type pg from 'pg';
import { AppError } from '../../../../../lib/errors.js';
import type { SecretProvider } from '../../../../../lib/secrets/index.js';
import type { ProjectKey } from '../destination.js';
import { connectDestination, destinationFailure } from './connection.js';
import { projectPrefix } from './names.js';
import type { PostgresqlConnectionSettings } from './settings.js';

/**
 * One package or publish at a time per project and start time in the
 * destination database, across every process that loads into it (replicas of
 * the service, a restarted pod): a session-level PostgreSQL advisory lock,
 * taken with pg_try_advisory_lock on a session of its own that is held for the
 * whole package or publish. A second call for the same project and start time
 * answers PROJECT_BUSY (409) at once rather than wait, as on a filestore
 * (filestore/mount/folder-lock.ts); calls for other projects take other keys and run in parallel.
 *
 * The key is derived from `lower("{project}_{start_time}")`, the prefix every
 * schema of the project has (names.ts), so two spellings of a project name that
 * load into the same schemas share it. Advisory locks belong to one database,
 * so the destination database is part of the key too. The request's
 * destination name is not: every PostgreSQL destination name loads into the
 * same configured database (destination.ts), so it must not split the lock.
 *
 * The lock is released when the work ends, however it ends; when its session
 * ends (the process killed, the connection lost) the server releases it by
 * itself: at once when the process's connection closes, or, for a host that
 * vanished, once TCP keepalives (30 s idle, then 3 probes 10 s apart) give up.
 */

/**
 * Labels the lock session in pg_stat_activity, so a refused call can name the
 * holder's action to the caller, and its process and host to the log (and to
 * an operator reading pg_stat_activity).
 */
const HOLDER = /^cr8tor-lock (package|publish) (\d+) (.*)$/;

/** Keepalives for the lock session, set on the server's end (ignored on Unix-domain sockets). */
const KEEPALIVE_SQL = 'SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; SET tcp_keepalives_count = 3';

/** The advisory lock key (a signed 64-bit integer, as decimal text) of a project and start time. */
export function projectLockKey(project: string, startTime: string): string {
  const digest = createHash('sha256').update(`cr8tor-publisher:project:${projectPrefix(project, startTime)}`).digest();
  return digest.readBigInt64BE(0).toString();
}

/** The lock session's application_name: the action, process and host (PostgreSQL keeps 63 bytes). */
function holderLabel(action: string): string {
  const label = `cr8tor-lock ${action} ${process.pid} ${os.hostname()}`;
  return Buffer.from(label, 'utf8').subarray(0, 63).toString('utf8').replace(/\uFFFD+$/, '');
}

/** Where a refusal is reported with what the caller is not told (the holder's process and host). */
export interface LockLog {
  info(details: object, message: string): void;
}

/**
 * Runs `work` holding the project's lock in the destination database;
 * PROJECT_BUSY naming the running action and since when it runs when another
 * session holds it (its process and host go to `log`), and
 * DESTINATION_NOT_READY / DESTINATION_FAILED when the database cannot be reached.
 */
export async function withProjectLock<T>(
  settings: PostgresqlConnectionSettings,
  secrets: SecretProvider,
  ref: ProjectKey,
  action: 'package' | 'publish',
  work: () => Promise<T>,
  log?: LockLog,
): Promise<T> {
  const key = projectLockKey(ref.project, ref.startTime);
  const client = await connectDestination(settings, secrets, { applicationName: holderLabel(action), keepAlive: true });
  let locked = false;
  try {
    try {
      await client.query(KEEPALIVE_SQL);
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [key]);
      locked = rows[0]?.locked === true;
      if (!locked) {
        const holder = await holderOf(client, key);
        log?.info({ project: ref.project, start_time: ref.startTime, refused: action, holder: holder ?? 'unknown' }, 'project busy in the PostgreSQL destination database: call refused');
        throw busy(ref, action, holder);
      }
    } catch (error) {
      throw destinationFailure(`Locking project '${ref.project}' (start time ${ref.startTime})`, error);
    }
    return await work();
  } finally {
    if (locked) await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

interface Holder {
  action?: string;
  pid?: string;
  host?: string;
  since?: Date;
}

/** Who holds the lock, as far as pg_stat_activity tells this user; undefined when nobody does any more. */
async function holderOf(client: pg.Client, key: string): Promise<Holder | undefined> {
  const unsigned = BigInt.asUintN(64, BigInt(key));
  try {
    const { rows } = await client.query<{ application_name: string | null; query_start: Date | null; backend_start: Date | null }>(
      `SELECT a.application_name, a.query_start, a.backend_start
         FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
          AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
          AND l.classid = $1::oid AND l.objid = $2::oid AND l.pid <> pg_backend_pid()
        LIMIT 1`,
      [(unsigned >> 32n).toString(), (unsigned & 0xffffffffn).toString()],
    );
    const row = rows[0];
    if (!row) return undefined;
    const label = HOLDER.exec(row.application_name ?? '');
    // The lock query is the last one the holder's session ran: its start is when the lock was taken.
    const since = row.query_start ?? row.backend_start ?? undefined;
    return label ? { action: label[1], pid: label[2], host: label[3], since } : { since };
  } catch {
    return undefined;
  }
}

/** The caller learns which call runs and since when, never where (process, host). */
function busy(ref: ProjectKey, action: string, holder: Holder | undefined): AppError {
  const project = `project '${ref.project}' (start time ${ref.startTime})`;
  const running = holder?.action
    ? holder.since
      ? `A ${holder.action} of ${project} has been running since ${holder.since.toISOString()}`
      : `A ${holder.action} of ${project} is running`
    : `A package or publish of ${project} is running`;
  return new AppError('PROJECT_BUSY', `${running} on this destination; this ${action} was not started. Try again once it has finished.`);
}
