import { readSettings } from '../../../lib/config/env.js';
import { packageDeadlineSettings } from '../../../lib/config/settings/index.js';
import { AppError } from '../../../lib/errors.js';

/** Reads PACKAGE_DEADLINE_MS; a bad value throws a ConfigError naming it. */
export function readPackageDeadlineMs(env?: NodeJS.ProcessEnv): number {
  return readSettings(packageDeadlineSettings, env).PACKAGE_DEADLINE_MS;
}

/**
 * Runs `work` with a deadline. When it passes, the signal aborts: `work` must
 * then stop soon (closing its source connections makes every read fail) and
 * clean up after itself as on any failure. Whatever it then throws becomes
 * DEADLINE_EXCEEDED with `detail(ms)`; if it finished anyway, its result stands.
 * `stop` (a job's cancellation) aborts the signal too: `work` then fails with
 * `stop`'s reason.
 */
export async function withDeadline<T>(ms: number, detail: (ms: number) => string, work: (signal: AbortSignal) => Promise<T>, stop?: AbortSignal): Promise<T> {
  stop?.throwIfAborted();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new AppError('DEADLINE_EXCEEDED', detail(ms))), ms);
  const stopped = () => controller.abort(stop!.reason);
  stop?.addEventListener('abort', stopped, { once: true });
  try {
    return await work(controller.signal);
  } catch (error) {
    if (stop?.aborted) throw stop.reason;
    if (controller.signal.aborted) throw new AppError('DEADLINE_EXCEEDED', detail(ms), { cause: error });
    throw error;
  } finally {
    clearTimeout(timer);
    stop?.removeEventListener('abort', stopped);
  }
}
