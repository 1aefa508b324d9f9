/**
 * The services' JSON log lines as a test collects them (startPlatform's
 * `logStream`), and what they say about one request: what a caller is not
 * told must be in the log, under the request's id.
 */
import assert from 'node:assert/strict';

/** A log line collector to hand to startPlatform. */
export class LogLines {
  readonly lines: string[] = [];
  readonly stream = { write: (line: string) => void this.lines.push(line) };

  /** Every line logged for a request id (its `reqId`), parsed. */
  forRequest(requestId: string): Array<Record<string, any>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, any>).filter((l) => l.reqId === requestId);
  }

  /** Asserts that some line of the request carries an error whose message (with its causes) matches `reason`. */
  assertReason(requestId: string, reason: RegExp, what: string): void {
    const errors = this.forRequest(requestId).map((l) => String(l.err?.message ?? ''));
    assert.ok(errors.some((m) => reason.test(m)), `${what}: no log line of request ${requestId} gives the reason ${reason} (its errors: ${JSON.stringify(errors)})`);
  }
}
