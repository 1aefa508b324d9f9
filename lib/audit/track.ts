import type { DatasetRequest, DestinationConfig, SourceConfig } from '../contract/index.js';
import { isAppError, publicError } from '../errors.js';
import type { CallContext } from '../http/service.js';
import type { ServiceMetrics } from '../metrics/metrics.js';
import type { AuditEvent, AuditLog } from './audit-log.js';

/** The level of a failure's log line: info for a refusal, warn for a failure (5xx), one up with a log detail. */
const FAILURE_LEVELS = ['info', 'warn', 'error'] as const;

/** What a tracked operation needs: where to write its audit event and count its metrics. */
export interface Observability {
  service: string;
  audit: AuditLog;
  metrics: ServiceMetrics;
}

/** What the request says about the access, for the audit event. */
export interface AccessSubject {
  project?: { project_name?: string | null; project_start_time?: string | null };
  source?: SourceConfig;
  dataset?: DatasetRequest | null;
  destination?: DestinationConfig;
}

/** What a finished operation adds to its audit event. */
export type AuditFigures = Pick<AuditEvent, 'tables' | 'files' | 'dataset' | 'warnings'>;

function sourceOf(source: SourceConfig): NonNullable<AuditEvent['source']> {
  return source.type === 'databrickssql'
    ? { type: source.type, host: source.host_url, port: source.port, database: source.catalog }
    : { type: source.type, host: source.host_url, port: source.port, database: source.database };
}

/**
 * Runs one data operation (metadata read, validate, package, publish) and, whatever
 * its outcome, writes one audit event and records its duration and failure metrics.
 * The audit event is durable before the operation's answer is returned.
 */
export async function tracked<T>(
  obs: Observability,
  call: CallContext,
  action: AuditEvent['action'],
  subject: AccessSubject,
  run: () => Promise<{ result: T; figures?: AuditFigures }>,
): Promise<T> {
  const started = process.hrtime.bigint();
  const destinationType = subject.destination?.type ?? 'none';
  const base = (): Omit<AuditEvent, 'outcome' | 'duration_ms'> => ({
    time: new Date().toISOString(),
    service: obs.service,
    action,
    request_id: call.requestId,
    key_id: call.keyId,
    ...(subject.project?.project_name && subject.project.project_start_time
      ? { project: { name: subject.project.project_name, start_time: subject.project.project_start_time } }
      : {}),
    ...(subject.source ? { source: sourceOf(subject.source) } : {}),
    ...(subject.dataset
      ? { dataset: { schema: subject.dataset.schema_name ?? null, tables: (subject.dataset.tables ?? []).map((t) => ({ name: t.name, columns: (t.columns ?? []).map((c) => c.name) })) } }
      : {}),
    ...(subject.destination ? { destination: { name: subject.destination.name, type: subject.destination.type, format: subject.destination.format } } : {}),
  });
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  try {
    const { result, figures } = await run();
    const duration = seconds();
    obs.metrics.operationDuration.observe({ operation: action, destination_type: destinationType, outcome: 'success' }, duration);
    // Warnings go to the log and the audit event; an event without any has no `warnings`.
    const { warnings, ...rest } = figures ?? {};
    const warned = warnings !== undefined && warnings.length > 0;
    if (warned) call.log.warn({ warnings }, `${action} completed with warnings`);
    await obs.audit.record({ ...base(), ...rest, ...(warned ? { warnings } : {}), outcome: 'success', duration_ms: Math.round(duration * 1000) });
    return result;
  } catch (error) {
    const duration = seconds();
    const { status, code, detail } = publicError(error);
    // One line with what the caller is not told, by request id: the error with its causes (why a
    // source could not be reached, which path a secret was missing from) and its log detail (full
    // paths, OS messages). A log detail is for an operator to act on: one level up.
    const logDetail = isAppError(error) ? error.logDetail : undefined;
    const level = FAILURE_LEVELS[(status >= 500 ? 1 : 0) + (logDetail ? 1 : 0)]!;
    call.log[level]({ err: error, code, ...(logDetail ? { log_detail: logDetail } : {}) }, `${action} failed`);
    obs.metrics.operationDuration.observe({ operation: action, destination_type: destinationType, outcome: 'error' }, duration);
    obs.metrics.operationFailures.inc({ operation: action, destination_type: destinationType, code });
    await obs.audit
      .record({ ...base(), outcome: 'error', detail: isAppError(error) ? detail : 'internal error', code, duration_ms: Math.round(duration * 1000) })
      .catch((auditError: unknown) => call.log.error({ err: auditError }, 'audit event could not be written'));
    throw error;
  }
}

