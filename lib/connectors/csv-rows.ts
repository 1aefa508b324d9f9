import { PassThrough, pipeline, type Readable } from 'node:stream';
import { stringify, type Stringifier } from 'csv-stringify';

/** One row of a table, each value already in its canonical text form (lib/types/logical.ts); null is NULL. */
export type CanonicalRow = Array<string | null>;

/**
 * The CSV encoder for rows already in canonical text form: a header row of
 * the column names, then one line per row (LF line ends). NULL is an empty
 * unquoted field and the empty string `""`, as PostgreSQL's COPY CSV writes
 * them; fields holding `,` `"` CR or LF are quoted with `""` escaping; a lone
 * `\.` in a one-column row is quoted as COPY does (a bare `\.` line ends COPY
 * input).
 *
 * For connectors whose drivers hand values to JavaScript (SQL Server,
 * Databricks): the connector turns each driver value into its canonical text,
 * this writes the bytes, so every such source spells a row alike.
 */
export function canonicalCsvEncoder(columnNames: readonly string[]): Stringifier {
  return stringify({
    header: true,
    columns: columnNames.map((name, i) => ({ key: String(i), header: name })),
    // Only strings are matched: null and undefined stay empty and unquoted.
    quoted_match: columnNames.length === 1 ? [/^$/, /^\\\.$/] : [/^$/],
    record_delimiter: 'unix',
  });
}

/**
 * Streams rows as canonical CSV bytes. `rows` is an object-mode stream of
 * {@link CanonicalRow}s; its back-pressure reaches the source through the
 * pipe. Errors of either side destroy the returned stream with the error
 * `translate` makes of them; the caller's `onSettled` runs once, when the
 * rows end or fail.
 */
export function canonicalCsvStream<E extends Error>(
  columnNames: readonly string[],
  rows: Readable,
  translate: (error: unknown) => E,
  onSettled?: (error: E | undefined) => void,
): Readable {
  const output = new PassThrough();
  const encoder = canonicalCsvEncoder(columnNames);
  let settled = false;
  // The output stays out of the pipeline, so it fails with the translated error, not the driver's.
  pipeline(rows, encoder, (error) => {
    settled = true;
    const failure = error ? translate(error) : undefined;
    onSettled?.(failure);
    if (failure) output.destroy(failure);
  });
  encoder.pipe(output);
  // A reader that gives up stops the rows (and, through them, the source).
  output.on('close', () => {
    if (!settled) rows.destroy();
  });
  return output;
}
