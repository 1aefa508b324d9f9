import { readSettings } from '../../../lib/config/env.js';
import { packageDeadlineSettings } from '../../../lib/config/settings/index.js';
import { AppError, isAppError } from '../../../lib/errors.js';

/** Reads PACKAGE_DEADLINE_MS; a bad value throws a ConfigError naming it. */
export function readPackageDeadlineMs(env?: NodeJS.ProcessEnv): number {
  return readSettings(packageDeadlineSettings, env).PACKAGE_DEADLINE_MS;
}

/**
 * Runs `work` with a deadline, and under `stop` when given (the job's signal:
 * cancelled, or the replica stopping). When either fires, the signal `work`
 * gets aborts: `work` must then stop soon (closing its source connections
 * makes every read fail) and clean up after itself as on any failure. Whatever
 * it then throws becomes `stop`'s reason (an AppError saying why) when `stop`
 * fired, else DEADLINE_EXCEEDED with `detail(ms)`; if it finished anyway, its
 * result stands.
 */
export async function withDeadline<T>(ms: number, detail: (ms: number) => string, work: (signal: AbortSignal) => Promise<T>, stop?: AbortSignal): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new AppError('DEADLINE_EXCEEDED', detail(ms))), ms);
  const stopped = () => controller.abort(stop?.reason);
  if (stop?.aborted) stopped();
  else stop?.addEventListener('abort', stopped, { once: true });
  try {
    controller.signal.throwIfAborted();
    return await work(controller.signal);
  } catch (error) {
    if (stop?.aborted) throw isAppError(stop.reason) ? stop.reason : error;
    if (controller.signal.aborted) throw new AppError('DEADLINE_EXCEEDED', detail(ms), { cause: error });
    throw error;
  } finally {
    clearTimeout(timer);
    stop?.removeEventListener('abort', stopped);
  }
}
