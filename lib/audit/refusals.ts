import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../logging/logger.js';
import type { AuditLog, AuditRecord, RefusalEvent } from './audit-log.js';

/**
 * How many refusal events are written per second: from one client address, and
 * in all; and how many addresses are counted apart in one second (beyond that,
 * new addresses share the overall limit only). Refusals cost the caller
 * nothing, so without a bound the audit trail would be the cheapest way to
 * fill a disk or flood a log pipeline.
 */
export interface RefusalRate {
  perClient: number;
  total: number;
  trackedClients: number;
}

export const REFUSAL_RATE: RefusalRate = { perClient: 10, total: 100, trackedClients: 1000 };

/** What the HTTP layer knows of a refused call. */
export type Refusal = Omit<RefusalEvent, 'time' | 'service' | 'action'>;

const MAX_PATH = 200;
const MAX_METHOD = 16;
const MAX_REASON = 300;

/**
 * Writes one audit event per refused call, at most {@link RefusalRate} per
 * second. Refusals over the rate are counted (`cr8tor_audit_refusals_suppressed_total`)
 * and, once their second is over, summed up in one `refused_suppressed` event.
 * Events are not awaited: a refusal answers at once, whatever the disk does.
 */
export class RefusalAudit {
  private second = Number.NaN;
  private readonly perClient = new Map<string, number>();
  private written = 0;
  private suppressed = 0;
  private readonly suppressedClients = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly suppressedTotal: Counter;

  constructor(
    private readonly audit: AuditLog,
    private readonly service: string,
    private readonly log: Logger,
    registry: Registry,
    private readonly rate: RefusalRate = REFUSAL_RATE,
  ) {
    this.suppressedTotal = new Counter({
      name: 'cr8tor_audit_refusals_suppressed_total',
      help: 'Refused calls not written to the audit trail individually because they came faster than its rate limit.',
      registers: [registry],
    });
  }

  /** Records a refused call, unless the rate is exceeded. */
  refused(refusal: Refusal): void {
    const now = Date.now();
    this.roll(now);
    const seen = this.perClient.get(refusal.client) ?? 0;
    if (this.written >= this.rate.total || seen >= this.rate.perClient) {
      this.suppress(refusal.client);
      return;
    }
    if (this.perClient.has(refusal.client) || this.perClient.size < this.rate.trackedClients) this.perClient.set(refusal.client, seen + 1);
    this.written++;
    this.write({
      time: new Date(now).toISOString(),
      service: this.service,
      action: 'refused',
      ...(refusal.request_id ? { request_id: refusal.request_id } : {}),
      client: refusal.client,
      ...(refusal.method ? { method: refusal.method.slice(0, MAX_METHOD) } : {}),
      ...(refusal.path !== undefined ? { path: refusal.path.split('?')[0]!.slice(0, MAX_PATH) } : {}),
      status: refusal.status,
      reason: refusal.reason.slice(0, MAX_REASON),
    });
  }

  /** Writes the summary of the current second, if refusals were suppressed in it. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.suppressed > 0) {
      this.write({
        time: new Date().toISOString(),
        service: this.service,
        action: 'refused_suppressed',
        suppressed: this.suppressed,
        clients: this.suppressedClients.size,
        since: new Date(this.second * 1000).toISOString(),
      });
    }
    this.suppressed = 0;
    this.suppressedClients.clear();
  }

  /** Starts a new second when `now` is past the current one. */
  private roll(now: number): void {
    const second = Math.floor(now / 1000);
    if (second === this.second) return;
    this.flush();
    this.second = second;
    this.perClient.clear();
    this.written = 0;
  }

  private suppress(client: string): void {
    this.suppressed++;
    this.suppressedTotal.inc();
    if (this.suppressedClients.size < this.rate.trackedClients) this.suppressedClients.add(client);
    // The summary is written when the second is over, even if no refusal follows.
    this.timer ??= setTimeout(() => this.roll(Date.now()), (this.second + 1) * 1000 - Date.now() + 1).unref();
  }

  private write(event: AuditRecord): void {
    this.audit.record(event).catch((error: unknown) => this.log.error({ err: error }, 'audit event could not be written'));
  }
}
