import type { DestinationConfig, DestinationType, PublishedEntry, RetrievedEntry } from '../../../../lib/contract/index.js';
import type { ResolvedDataset, SourceSnapshot } from '../../../../lib/connectors/index.js';
import type { PackageProgress } from '../../../../lib/jobs/progress.js';

/** The project a package or publication belongs to. */
export interface ProjectKey {
  project: string;
  startTime: string;
  /** The request doing the work: a concurrent call refused as busy is told which one holds the project. */
  requestId?: string | undefined;
  /** The durable job doing the work, when it runs as one: recorded in the project's lock, so that the lock is freed if the job is declared abandoned. */
  jobId?: string | undefined;
}

/** What packaging hands a destination: the confirmed dataset and the snapshot to read it from. */
export interface PackageInput extends ProjectKey {
  destination: DestinationConfig;
  dataset: ResolvedDataset;
  snapshot: SourceSnapshot;
  /** Told the plan, each table's running rows and bytes, and each table done (progress.ts); absent: nothing is reported. */
  progress?: PackageProgress | undefined;
}

/** One output of packaging and one published item, as the contract answers them. */
export type { PublishedEntry, RetrievedEntry };

/** A file a destination wrote, with its figures (for the audit trail and metrics). */
export interface OutputFile {
  path: string;
  /** The source table the file holds, or null for a file holding every table. */
  table: string | null;
  bytes: number;
  sha512: string;
}

/** Where packages go: a filestore mount or a PostgreSQL database (with OPAL). */
export interface Destination {
  /** Checks the service's readiness probe runs, beyond checkReady's per request. */
  readiness?: ReadonlyArray<() => Promise<void>>;
  /** Throws a clear AppError unless the destination can receive this project's package. */
  checkReady(destination: DestinationConfig): Promise<void>;
  /** Writes the dataset so that nothing is visible unless every table is complete. */
  package(input: PackageInput): Promise<{ data_retrieved: RetrievedEntry[]; warnings: string[]; files?: OutputFile[] }>;
  /**
   * Publishes what the project has packaged. What it leaves for a repeat to
   * answer (a filestore's staging folder with its receipt) stays until
   * {@link settle}.
   */
  publish(key: ProjectKey & { destination: DestinationConfig }): Promise<{ data_published: PublishedEntry[]; warnings: string[] }>;
  /**
   * A publish's last step, once its answer has reached the caller (or, when
   * nobody waits, once its job's end is recorded): a filestore removes the
   * staging folder whose files went into the bag in place. Until then a repeat
   * of the publish answers what that one published; afterwards, the contract's
   * nothing-to-publish. Never throws: it answers problems for the service log.
   * Absent: the publish left nothing to settle.
   */
  settle?(key: ProjectKey & { destination: DestinationConfig }): Promise<string[]>;
  /**
   * The job `jobId` working on this project was declared abandoned (its
   * replica died): frees what it held (the project's lock, if that job holds
   * it) and removes its unfinished work, so that the next call starts afresh
   * at once. Never touches another call's lock or work. Answers what it did,
   * for the service log. Absent: the destination needs nothing (a PostgreSQL
   * destination's lock and unfinished transaction end with the dead session).
   */
  releaseAbandoned?(job: { kind: 'package' | 'publish'; jobId: string; project: string; startTime: string; destination: DestinationConfig }): Promise<string[]>;
}

/** The destinations this service was configured with, by type (registry.ts opens them). */
export type Destinations = Partial<Record<DestinationType, Destination>>;
