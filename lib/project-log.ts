import { ByteLru } from './byte-lru.js';
import { readSettings } from './config/env.js';
import { projectLogSettings } from './config/settings/index.js';

/** How much a {@link ProjectLog} keeps. */
export interface ProjectLogLimits {
  /** Most bytes of records (UTF-8 JSON, keys included) the service keeps, all projects together. */
  maxBytes: number;
  /** Most records kept per project; the oldest go first. */
  perProject: number;
}

/**
 * What a service keeps of what it did for each project, newest first, served
 * on the federated `Project` entity: a {@link ProjectLog} in memory, or the
 * platform database (lib/store/project-records.ts) when one is configured.
 */
export interface ProjectRecords<T> {
  /** Records `entry` as the project's newest. */
  add(projectName: string, projectStartTime: string, entry: T): void | Promise<void>;
  /** The project's records, newest first; empty for a project with none. */
  list(projectName: string, projectStartTime: string): T[] | Promise<T[]>;
}

/** Records kept per project (and start time). */
export const RECORDS_PER_PROJECT = 20;

/** Reads the limits from the environment; a bad value throws a ConfigError naming the variable. */
export function readProjectLogLimits(env?: NodeJS.ProcessEnv): ProjectLogLimits {
  return { maxBytes: readSettings(projectLogSettings, env).PROJECT_RECORDS_MAX_BYTES, perProject: RECORDS_PER_PROJECT };
}

/** Bookkeeping a record costs beyond its JSON (the array slot, the string header). */
const PER_RECORD_BYTES = 32;

/**
 * A bounded, in-process record of what a service did for each project, newest
 * first, served on the federated `Project` entity. Records are kept as JSON
 * text, so the bytes counted are the bytes held: at most `maxBytes` for all
 * projects together (the least recently written projects are dropped first)
 * and `perProject` records each. Callers store summaries, not whole reports.
 * Reading never adds anything, whatever project it names. It is lost when the
 * process restarts and differs between replicas: what the services use when no
 * platform database is configured (PLATFORM_DATABASE_URL).
 */
export class ProjectLog<T> implements ProjectRecords<T> {
  private readonly projects: ByteLru<readonly string[]>;

  constructor(private readonly limits: ProjectLogLimits = readProjectLogLimits()) {
    this.projects = new ByteLru(limits.maxBytes, ProjectLog.sizeOf);
  }

  private static sizeOf(key: string, records: readonly string[]): number {
    return Buffer.byteLength(key) + records.reduce((n, r) => n + Buffer.byteLength(r) + PER_RECORD_BYTES, 0);
  }

  private static key(projectName: string, projectStartTime: string): string {
    return `${projectName}\u0000${projectStartTime}`;
  }

  /** Records `entry` as the project's newest. */
  add(projectName: string, projectStartTime: string, entry: T): void {
    const key = ProjectLog.key(projectName, projectStartTime);
    const records = [JSON.stringify(entry), ...(this.projects.peek(key) ?? [])].slice(0, this.limits.perProject);
    // A project alone over the budget keeps its newest records that fit.
    while (records.length > 1 && ProjectLog.sizeOf(key, records) > this.limits.maxBytes) records.pop();
    this.projects.set(key, records);
  }

  /** The project's records, newest first; empty for a project with none. */
  list(projectName: string, projectStartTime: string): T[] {
    return (this.projects.peek(ProjectLog.key(projectName, projectStartTime)) ?? []).map((r) => JSON.parse(r) as T);
  }

  /** The bytes held, as counted against `maxBytes`. */
  get bytes(): number {
    return this.projects.bytes;
  }
}
