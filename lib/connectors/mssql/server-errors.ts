/**
 * SQL Server errors the publisher explains by number: the concurrency
 * failures a read in one transaction can meet. Each is transient — the same
 * call, sent again, reads a fresh transaction — and its detail says so.
 * Numbers and meanings: Microsoft Learn, "Database engine events and errors"
 * (MSSQLSERVER_1205, _1222, _3952, _3960, _3961).
 */
import { AppError } from '../../errors.js';

const AGAIN = 'This is transient: send the call again.';

const EXPLAINED: Record<number, (where: string) => string> = {
  1205: (where) => `The ${where} chose this read as the victim of a deadlock with another session and rolled it back (SQL Server error 1205). ${AGAIN}`,
  1222: (where) => `A lock this read needed on the ${where} was not granted in time (SQL Server error 1222, lock request time-out). ${AGAIN}`,
  3952: (where) =>
    `The ${where} stopped allowing SNAPSHOT isolation after this read began (SQL Server error 3952: ALLOW_SNAPSHOT_ISOLATION was switched off). ${AGAIN} The publisher then reads in one SERIALIZABLE transaction.`,
  3960: (where) => `The ${where} aborted this read's SNAPSHOT transaction on an update conflict with another session (SQL Server error 3960). ${AGAIN}`,
  3961: (where) =>
    `A table this read uses on the ${where} was changed by DDL in another session after its SNAPSHOT transaction began (SQL Server error 3961). ${AGAIN} If it keeps failing, wait for the schema change to finish.`,
};

/** The AppError for a SQL Server error the publisher explains, or undefined for any other error. */
export function explainedServerError(error: unknown, where: string): AppError | undefined {
  const number = (error as { number?: unknown } | null)?.number;
  const explain = typeof number === 'number' ? EXPLAINED[number] : undefined;
  return explain && new AppError('SOURCE_QUERY_FAILED', explain(where), { cause: error });
}
