import type { Logger } from '../../../../lib/logging/logger.js';

/**
 * A publish's last step (its destination's `settle`) runs after its answer
 * has reached the caller, so it may still be under way when the caller's next
 * call for the same project arrives. This replica keeps the settles it has
 * under way, by project and start time, and a package or publish of that
 * project waits for them before it starts (without this, the next call could
 * meet the settle holding the project's lock, or answer a bag its caller has
 * already had as a repeat). A settle another replica runs is not seen here:
 * that call can, rarely, meet the lock busy (409 PROJECT_BUSY, transient).
 */
export class Settlements {
  private readonly pending = new Map<string, Promise<void>>();

  constructor(private readonly log: Logger) {}

  /** Runs `work` once `when` resolves true (in order with the project's other settles; false: not at all); a failure is logged, never thrown. */
  add(project: string, startTime: string, when: Promise<boolean>, work: () => Promise<void>): void {
    const key = keyOf(project, startTime);
    const previous = this.pending.get(key) ?? Promise.resolve();
    const run = Promise.all([previous, when])
      .then(([, go]) => (go ? work() : undefined))
      .catch((error: unknown) => this.log.warn({ err: { message: (error as Error).message }, project, startTime }, 'publish: its last step failed'));
    const tracked = run.finally(() => {
      if (this.pending.get(key) === tracked) this.pending.delete(key);
    });
    this.pending.set(key, tracked);
  }

  /** Resolves once no settle of the project is under way here. */
  async idle(project: string, startTime: string): Promise<void> {
    for (let p = this.pending.get(keyOf(project, startTime)); p; p = this.pending.get(keyOf(project, startTime))) await p;
  }

  /** Resolves once every settle under way here is done, or after `ms` (a caller that never reads its answer must not hold a shutdown). */
  async drain(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.pending.values()), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }
}

function keyOf(project: string, startTime: string): string {
  return JSON.stringify([project, startTime]);
}
