import { createHash } from 'node:crypto';

/**
 * File names for tables. Table names may hold any character a source allows;
 * file names must be safe on every filesystem a researcher may copy a bag to,
 * and in a BagIt manifest that bagit-python reads (it decodes only %0D/%0A, so
 * '%', CR and LF must never appear). The mapping is deterministic:
 *
 * 1. NFC normalisation (bagit-python compares names after normalisation).
 * 2. Control characters (incl. NUL, CR, LF), `/ \ % : * ? " < > |` become `_`.
 * 3. A leading `.` (hidden file) and trailing `.` or spaces (dropped by Windows,
 *    stripped by bagit-python) become `_`; a Windows device name (`CON`, `NUL`,
 *    `COM1`, … before the first dot) gets a leading `_`.
 * 4. A name ending in `.part` + digits (the rotation suffix, see {@link partFileName})
 *    has that dot turned into `_`, so a base name never looks like a part file.
 * 5. Names over 200 UTF-8 bytes are cut and end with `~` + 8 hex digits of the
 *    SHA-256 of the original name.
 * 6. Collisions: names are taken in code-unit order of the original table names;
 *    a base whose case-folded form is already taken gets `~2`, `~3`, … (so `Person`
 *    and `person` give `Person` and `person~2`; tables `a/b` and `a_b` give `a_b`
 *    and `a_b~2`). Case-insensitive filesystems therefore never merge two files.
 */

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f/\\%:*?"<>|]/g;
const DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i;
const PART_SUFFIX = /\.(part\d+)$/i;
const MAX_BASE_BYTES = 200;

/** The safe form of one name, before collisions are resolved. */
export function sanitizeFileBase(name: string): string {
  let base = name.normalize('NFC').replace(UNSAFE, '_');
  if (base.startsWith('.')) base = `_${base.slice(1)}`;
  base = base.replace(/[. ]+$/, (tail) => '_'.repeat(tail.length));
  if (DEVICE.test(base.split('.')[0]!)) base = `_${base}`;
  base = base.replace(PART_SUFFIX, '_$1');
  if (Buffer.byteLength(base) > MAX_BASE_BYTES) {
    const tag = createHash('sha256').update(name).digest('hex').slice(0, 8);
    base = `${cutToBytes(base, MAX_BASE_BYTES - 9)}~${tag}`;
  }
  return base;
}

/** The longest prefix of `s` within `max` UTF-8 bytes, never splitting a code point. */
function cutToBytes(s: string, max: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > max) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/** The form under which two names clash on a case-insensitive filesystem or catalog. */
export function foldName(name: string): string {
  return name.normalize('NFC').toUpperCase().toLowerCase();
}

/**
 * Gives each name a distinct form: `transform(name)`, with `~2`, `~3`, … added
 * when its folded form is already taken. Names are taken in code-unit order, so
 * the result does not depend on the order they are listed in.
 */
export function distinctNames(names: readonly string[], transform: (name: string) => string = (n) => n): Map<string, string> {
  const taken = new Set<string>();
  const result = new Map<string, string>();
  for (const name of [...new Set(names)].sort()) {
    const base = transform(name);
    let candidate = base;
    for (let n = 2; taken.has(foldName(candidate)); n++) candidate = `${base}~${n}`;
    taken.add(foldName(candidate));
    result.set(name, candidate);
  }
  return result;
}

/** Safe, distinct file base names for tables (see the rules above). */
export function tableFileBases(tables: readonly string[]): Map<string, string> {
  return distinctNames(tables, sanitizeFileBase);
}

/**
 * The name of one part of a rotated table: `{base}.part0001{ext}`, `{base}.part0002{ext}`, …
 * A table that fits in one file keeps `{base}{ext}`; when it needs a second file
 * the first is renamed to part 1, so a table is either one plain file or parts only.
 */
export function partFileName(base: string, part: number, ext: string): string {
  return `${base}.part${String(part).padStart(4, '0')}${ext}`;
}
