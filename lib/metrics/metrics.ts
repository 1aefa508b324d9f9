import { METHODS } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditEvent } from '../audit/audit-log.js';
import { DESTINATION_TYPES } from '../contract/destination.js';
import { JOB_KINDS, JOB_STATES, type JobKind, type JobState } from '../contract/jobs.js';
import { SOURCE_TYPES } from '../contract/source.js';
import { errorTable } from '../errors.js';
import { boundLabels, firstSeen, MAX_LABEL_LENGTH, oneOf, type LabelBound } from './label-bounds.js';

/** What one of our metrics is: its name, help, and the bound of each of its labels. */
interface MetricSpec<L extends string> {
  name: string;
  help: string;
  labels: Record<L, LabelBound>;
  registry: Registry;
}

/** A counter whose label values are bounded (see label-bounds.ts). */
export class BoundedCounter<L extends string> {
  private readonly counter: Counter<L>;
  readonly labelBounds: Record<L, LabelBound>;

  constructor(spec: MetricSpec<L>) {
    this.labelBounds = spec.labels;
    this.counter = new Counter({ name: spec.name, help: spec.help, labelNames: Object.keys(spec.labels) as L[], registers: [spec.registry] });
  }

  inc(labels: Record<L, string | number>, value?: number): void {
    this.counter.inc(boundLabels(this.labelBounds, labels), value);
  }
}

/** A histogram whose label values are bounded (see label-bounds.ts). */
export class BoundedHistogram<L extends string> {
  private readonly histogram: Histogram<L>;
  readonly labelBounds: Record<L, LabelBound>;

  constructor(spec: MetricSpec<L> & { buckets: number[] }) {
    this.labelBounds = spec.labels;
    this.histogram = new Histogram({ name: spec.name, help: spec.help, labelNames: Object.keys(spec.labels) as L[], buckets: spec.buckets, registers: [spec.registry] });
  }

  observe(labels: Record<L, string | number>, value: number): void {
    this.histogram.observe(boundLabels(this.labelBounds, labels), value);
  }
}

const HTTP_STATUSES = Array.from({ length: 500 }, (_, i) => String(100 + i));
const DATA_OPERATIONS = ['metadata', 'validate', 'package', 'publish'] satisfies Array<AuditEvent['action']>;

/**
 * The Prometheus metrics of one service, served at `/metrics`. Each service
 * process has its own registry (tests run several services in one process).
 * Every label is bounded: a known set of values, anything else `other`.
 */
export class ServiceMetrics {
  readonly registry = new Registry();

  private readonly http = {
    // Route templates come from our own routes (unmatched requests are `unmatched`); methods are Node's.
    route: firstSeen(100),
    method: oneOf(METHODS),
    status: oneOf(HTTP_STATUSES),
  };

  /** HTTP requests by route template, method and status. */
  readonly httpRequests = new BoundedCounter({
    name: 'cr8tor_http_requests_total',
    help: 'HTTP requests served, by route template, method and status code.',
    labels: this.http,
    registry: this.registry,
  });

  readonly httpDuration = new BoundedHistogram({
    name: 'cr8tor_http_request_duration_seconds',
    help: 'HTTP request latency, by route template, method and status code.',
    labels: this.http,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600],
    registry: this.registry,
  });

  /** GraphQL operations by operation name (known names only: see lib/graphql/operation-names.ts) and outcome. */
  readonly graphqlOperations = new BoundedCounter({
    name: 'cr8tor_graphql_operations_total',
    help: 'GraphQL operations executed, by operation name (known operations; anonymous; other) and outcome (success or error).',
    labels: { operation: firstSeen(100), outcome: oneOf(['success', 'error']) },
    registry: this.registry,
  });

  private readonly extraction = { source_type: oneOf(SOURCE_TYPES), destination_type: oneOf(DESTINATION_TYPES) };

  /** Rows and bytes extracted from sources into destinations. */
  readonly rowsExtracted = new BoundedCounter({
    name: 'cr8tor_rows_extracted_total',
    help: 'Rows read from sources and written to destinations, by source and destination type.',
    labels: this.extraction,
    registry: this.registry,
  });

  readonly bytesExtracted = new BoundedCounter({
    name: 'cr8tor_bytes_extracted_total',
    help: 'Bytes of packaged output written, by source and destination type.',
    labels: this.extraction,
    registry: this.registry,
  });

  private readonly operation = oneOf(DATA_OPERATIONS);
  private readonly destinationOrNone = oneOf([...DESTINATION_TYPES, 'none']);

  /** Data operations (metadata, validate, package, publish): duration by outcome. */
  readonly operationDuration = new BoundedHistogram({
    name: 'cr8tor_operation_duration_seconds',
    help: 'Duration of data operations (metadata, validate, package, publish), by operation, destination type and outcome.',
    labels: { operation: this.operation, destination_type: this.destinationOrNone, outcome: oneOf(['success', 'error']) },
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600],
    registry: this.registry,
  });

  readonly operationFailures = new BoundedCounter({
    name: 'cr8tor_operation_failures_total',
    help: 'Failed data operations, by operation, destination type and error code.',
    labels: { operation: this.operation, destination_type: this.destinationOrNone, code: oneOf(Object.keys(errorTable)) },
    registry: this.registry,
  });

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry, prefix: 'cr8tor_' });
  }

  /** The exposition text for `/metrics`. */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** One job a replica is running, as its metrics show it. */
export interface RunningJobFigures {
  id: string;
  kind: JobKind;
  project: string;
  startTime: string;
  /** Rows and bytes so far, over all its tables. */
  rows: number;
  bytes: number;
}

/** What the job metrics read at each scrape. */
export interface JobMetricsSource {
  /** Jobs by state, as the job engine counts them. */
  counts(): Promise<Record<JobState, number>>;
  /** The jobs this replica is running now. */
  running(): RunningJobFigures[];
}

/**
 * Most running jobs shown with their own series (`cr8tor_job_rows`,
 * `cr8tor_job_bytes`); a replica running more shows the first this many.
 * A job's series go when it ends, so the series stay bounded by what runs.
 */
export const MAX_RUNNING_JOB_SERIES = 100;

const JOB_OUTCOMES = ['succeeded', 'failed', 'cancelled'] as const;

/**
 * The publish service's job metrics (issue #17), on its registry: jobs by
 * state and each running job's rows and bytes, read from `source` when
 * /metrics is scraped (nothing is kept between scrapes, so a finished job's
 * series are gone at the next one), and how long jobs ran, by kind and outcome.
 */
export class JobMetrics {
  readonly duration: BoundedHistogram<'kind' | 'outcome'>;

  constructor(registry: Registry, source: JobMetricsSource, onError: (error: unknown) => void) {
    const state = oneOf(JOB_STATES);
    new Gauge({
      name: 'cr8tor_jobs',
      help: 'Jobs by state, as the job engine counts them when scraped (the in-memory engine: this replica\'s; the platform database: all replicas\').',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        this.reset();
        try {
          for (const [name, count] of Object.entries(await source.counts())) this.set({ state: state(name) }, count);
        } catch (error) {
          // No counts this scrape; the rest of /metrics still answers.
          onError(error);
        }
      },
    });
    const kind = oneOf(JOB_KINDS);
    const perJob = (name: string, help: string, figure: (j: RunningJobFigures) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['job_id', 'kind', 'project', 'start_time'],
        registers: [registry],
        collect() {
          this.reset();
          for (const j of source.running().slice(0, MAX_RUNNING_JOB_SERIES)) {
            this.set({ job_id: clipLabel(j.id), kind: kind(j.kind), project: clipLabel(j.project), start_time: clipLabel(j.startTime) }, figure(j));
          }
        },
      });
    perJob('cr8tor_job_rows', 'Rows read so far by each job this replica is running (gone once it ends).', (j) => j.rows);
    perJob('cr8tor_job_bytes', 'Bytes written so far by each job this replica is running (gone once it ends).', (j) => j.bytes);
    this.duration = new BoundedHistogram({
      name: 'cr8tor_job_duration_seconds',
      help: 'How long jobs ran on this replica, from start to end, by kind and outcome (succeeded, failed, cancelled).',
      labels: { kind, outcome: oneOf(JOB_OUTCOMES) },
      buckets: [0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200],
      registry,
    });
  }
}

/** A label value of our own (a job id, a checked project name) cut to {@link MAX_LABEL_LENGTH}. */
function clipLabel(value: string): string {
  return value.length > MAX_LABEL_LENGTH ? value.slice(0, MAX_LABEL_LENGTH) : value;
}
