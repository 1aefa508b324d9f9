import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * The Prometheus metrics of one service, served at `/metrics`. Each service
 * process has its own registry (tests run several services in one process).
 */
export class ServiceMetrics {
  readonly registry = new Registry();

  /** HTTP requests by route template, method and status. */
  readonly httpRequests = new Counter({
    name: 'cr8tor_http_requests_total',
    help: 'HTTP requests served, by route template, method and status code.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'cr8tor_http_request_duration_seconds',
    help: 'HTTP request latency, by route template, method and status code.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600],
    registers: [this.registry],
  });

  /** GraphQL operations by operation name and outcome. */
  readonly graphqlOperations = new Counter({
    name: 'cr8tor_graphql_operations_total',
    help: 'GraphQL operations executed, by operation name and outcome (success or error).',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });

  /** Rows and bytes extracted from sources into destinations. */
  readonly rowsExtracted = new Counter({
    name: 'cr8tor_rows_extracted_total',
    help: 'Rows read from sources and written to destinations, by source and destination type.',
    labelNames: ['source_type', 'destination_type'] as const,
    registers: [this.registry],
  });

  readonly bytesExtracted = new Counter({
    name: 'cr8tor_bytes_extracted_total',
    help: 'Bytes of packaged output written, by source and destination type.',
    labelNames: ['source_type', 'destination_type'] as const,
    registers: [this.registry],
  });

  /** Data operations (metadata, validate, package, publish): duration by outcome. */
  readonly operationDuration = new Histogram({
    name: 'cr8tor_operation_duration_seconds',
    help: 'Duration of data operations (metadata, validate, package, publish), by operation, destination type and outcome.',
    labelNames: ['operation', 'destination_type', 'outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600],
    registers: [this.registry],
  });

  readonly operationFailures = new Counter({
    name: 'cr8tor_operation_failures_total',
    help: 'Failed data operations, by operation, destination type and error code.',
    labelNames: ['operation', 'destination_type', 'code'] as const,
    registers: [this.registry],
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
