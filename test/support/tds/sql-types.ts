/**
 * SQL Server data types and conversions for the double: CAST / CONVERT with
 * the styles the publisher's connector relies on, producing the forms
 * documented in Microsoft Learn, "CAST and CONVERT (Transact-SQL)" (the date
 * and time styles table, the money styles table, "Truncating and rounding
 * results"), "datetime2", "time" and "SWITCHOFFSET". test/integration/sources/mssql/mssql-convert.test.ts
 * quotes the rows relied on. A conversion or style not listed there is
 * refused ("not emulated"), never guessed.
 *
 * Values are held as: numbers (tinyint, smallint, int, float, real), bigint or
 * digit strings (bigint), digit strings (decimal, numeric, money,
 * smallmoney), booleans (bit), strings (character types, sql_variant, xml,
 * json, hierarchyid `/1/2/`, geography/geometry WKT), `YYYY-MM-DD` (date),
 * `hh:mm:ss[.f]` (time), `YYYY-MM-DD hh:mm:ss[.f]` (datetime2, datetime,
 * smalldatetime), `… ±hh:mm` (datetimeoffset), the uniqueidentifier's text,
 * Buffers (binary types).
 */
import { collation, stored, encode } from './collations.js';
import { bindError, runError } from './sqlserver-errors.js';

/** A SQL Server type as declared or computed. */
export interface SqlType {
  base: string;
  /** Length (or 'max'), or precision and scale, as declared. */
  args: Array<number | 'max'>;
  /** For character types: the collation, when not the database default. */
  collation?: string | undefined;
}

/** A value with its type. */
export interface Typed {
  type: SqlType;
  value: unknown;
}

/** What a conversion needs from its surroundings. */
export interface ConvertContext {
  /** The database default collation, which character results take unless their input had one. */
  collation: string;
}

/** The system types (sys.types) the double knows. */
export const SYSTEM_TYPES = [
  'bit', 'tinyint', 'smallint', 'int', 'bigint', 'decimal', 'numeric', 'money', 'smallmoney', 'float', 'real',
  'char', 'varchar', 'text', 'nchar', 'nvarchar', 'ntext', 'binary', 'varbinary', 'image', 'timestamp', 'rowversion',
  'date', 'time', 'datetime2', 'datetime', 'smalldatetime', 'datetimeoffset', 'uniqueidentifier', 'xml', 'json',
  'sql_variant', 'hierarchyid', 'geography', 'geometry', 'sysname',
] as const;

const INTEGER = new Set(['tinyint', 'smallint', 'int', 'bigint']);
const EXACT = new Set(['decimal', 'numeric', 'money', 'smallmoney']);
const CHARACTER = new Set(['char', 'varchar', 'nchar', 'nvarchar', 'text', 'ntext', 'sysname']);
const BINARY = new Set(['binary', 'varbinary', 'image', 'timestamp', 'rowversion']);
const LARGE_TEXT = new Set(['text', 'ntext', 'xml', 'json', 'sql_variant', 'hierarchyid', 'geography', 'geometry']);

/** A declared type: `int`, `nvarchar(50)`, `nvarchar(max)`, `decimal(12,2)`, `datetime2(7)`. */
export function parseType(text: string): SqlType {
  const m = /^\s*([a-z0-9_]+)\s*(?:\(([^)]*)\))?\s*$/i.exec(text);
  if (!m) throw new Error(`type '${text}' is not understood`);
  const args = m[2] === undefined ? [] : m[2].split(',').map((a) => (a.trim().toLowerCase() === 'max' ? ('max' as const) : Number(a.trim())));
  const base = m[1]!.toLowerCase();
  return base === 'sysname' ? { base: 'nvarchar', args: [128] } : { base, args };
}

/** A type named in CAST/CONVERT, checked against the system types (error 243 otherwise). */
export function systemType(name: string, args: Array<number | 'max'>): SqlType {
  const base = name.toLowerCase();
  if (!(SYSTEM_TYPES as readonly string[]).includes(base)) throw bindError.unknownType(name);
  return base === 'sysname' ? { base: 'nvarchar', args: [128] } : { base, args };
}

/** Whether a type holds character data. */
export const isCharacter = (t: SqlType) => CHARACTER.has(t.base);
/** Whether a type is numeric (bit included). */
export const isNumeric = (t: SqlType) => INTEGER.has(t.base) || EXACT.has(t.base) || t.base === 'float' || t.base === 'real' || t.base === 'bit';
/** Unicode (UTF-16) character types, as opposed to the code-page ones. */
export const isUnicode = (t: SqlType) => t.base === 'nchar' || t.base === 'nvarchar' || t.base === 'ntext';

// ---- decimals --------------------------------------------------------------------------------

/** Digits of a decimal string at exactly `scale` places, rounding half away from zero. */
export function rescale(text: string, scale: number): string {
  const m = /^\s*([+-]?)(\d*)(?:\.(\d*))?\s*$/.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw runError.conversion(text, 'varchar', 'numeric');
  const [, sign, whole = '', frac = ''] = m;
  let digits = BigInt((whole || '0') + frac.padEnd(scale, '0').slice(0, scale));
  if (frac.length > scale && Number(frac[scale]) >= 5) digits += 1n;
  const s = digits.toString().padStart(scale + 1, '0');
  const out = scale > 0 ? `${s.slice(0, -scale)}.${s.slice(-scale)}` : s;
  return digits === 0n || sign !== '-' ? out : `-${out}`;
}

function toDecimal(v: Typed, precision: number, scale: number): string {
  const text = v.type.base === 'bit' ? (v.value ? '1' : '0') : String(v.value);
  const out = rescale(text, scale);
  if (out.replace(/^-/, '').split('.')[0]!.replace(/^0+/, '').length > precision - scale) throw runError.overflow(EXACT.has(v.type.base) ? 'numeric' : 'expression', 'numeric');
  return out;
}

// ---- dates and times ---------------------------------------------------------------------------

/** A point as days since 0001-01-01 and 100 ns ticks into the day, with the offset in minutes if any. */
interface Instant {
  day: number;
  ticks: bigint;
  offset?: number;
}

const TICKS_PER_DAY = 864_000_000_000n;
const MS_PER_DAY = 86_400_000;

function dayNumber(y: number, m: number, d: number): number {
  const date = new Date(0);
  date.setUTCFullYear(y, m - 1, d);
  const check = new Date(0);
  check.setUTCFullYear(1, 0, 1);
  return Math.round((date.getTime() - check.getTime()) / MS_PER_DAY);
}

function dateOf(day: number): string {
  const date = new Date(0);
  date.setUTCFullYear(1, 0, 1);
  date.setUTCDate(day + 1);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(date.getUTCFullYear(), 4)}-${p(date.getUTCMonth() + 1)}-${p(date.getUTCDate())}`;
}

/** Parses `YYYY-MM-DD`, `hh:mm:ss[.f]`, `YYYY-MM-DD hh:mm:ss[.f]` and `… ±hh:mm`. */
function instant(text: string): Instant & { fraction: number } {
  const m = /^(?:(\d{4})-(\d{2})-(\d{2}))?\s*(?:(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?)?\s*(?:([+-])(\d{2}):(\d{2}))?$/.exec(text.trim());
  if (!m || (m[1] === undefined && m[4] === undefined)) throw new Error(`'${text}' is not a date or time the double holds`);
  const day = m[1] === undefined ? dayNumber(1900, 1, 1) : dayNumber(Number(m[1]), Number(m[2]), Number(m[3]));
  const seconds = BigInt(Number(m[4] ?? 0) * 3600 + Number(m[5] ?? 0) * 60 + Number(m[6] ?? 0));
  const ticks = seconds * 10_000_000n + BigInt((m[7] ?? '').padEnd(7, '0'));
  const offset = m[8] === undefined ? undefined : (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10]));
  return { day, ticks, fraction: (m[7] ?? '').length, ...(offset === undefined ? {} : { offset }) };
}

/** Rounds to `digits` fractional digits (half up, as SQL Server rounds time precision), carrying into the date. */
function roundTo(i: Instant, digits: number): Instant {
  const unit = 10n ** BigInt(7 - digits);
  let ticks = ((i.ticks + unit / 2n) / unit) * unit;
  let day = i.day;
  if (ticks >= TICKS_PER_DAY) {
    ticks -= TICKS_PER_DAY;
    day += 1;
  }
  return { ...i, day, ticks };
}

function clock(ticks: bigint, digits: number): string {
  const p = (n: bigint) => String(n).padStart(2, '0');
  const seconds = ticks / 10_000_000n;
  const base = `${p(seconds / 3600n)}:${p((seconds / 60n) % 60n)}:${p(seconds % 60n)}`;
  if (digits === 0) return base;
  return `${base}.${String(ticks % 10_000_000n).padStart(7, '0').slice(0, digits)}`;
}

function offsetText(minutes: number): string {
  const a = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Style 0/100: `mon dd yyyy hh:miAM`, day and hour padded with a space. */
function style100(i: Instant): string {
  const [y, m, d] = dateOf(i.day).split('-').map(Number) as [number, number, number];
  const minutes = Number(i.ticks / 600_000_000n);
  const hour = Math.floor(minutes / 60);
  const h12 = hour % 12 === 0 ? 12 : hour % 12;
  return `${MONTHS[m - 1]} ${String(d).padStart(2, ' ')} ${String(y).padStart(4, '0')} ${String(h12).padStart(2, ' ')}:${String(minutes % 60).padStart(2, '0')}${hour < 12 ? 'AM' : 'PM'}`;
}

const precisionOf = (t: SqlType, fallback: number) => (typeof t.args[0] === 'number' ? t.args[0] : fallback);

/** SWITCHOFFSET(datetimeoffset, '±hh:mm'): the same instant at another offset, same precision. */
export function switchOffset(text: string, target: string): string {
  const i = instant(text);
  const t = /^([+-])(\d{2}):(\d{2})$/.exec(target.trim());
  if (i.offset === undefined || !t) throw new Error(`SWITCHOFFSET of '${text}' to '${target}' is not understood`);
  const to = (t[1] === '-' ? -1 : 1) * (Number(t[2]) * 60 + Number(t[3]));
  let ticks = i.ticks + BigInt(to - i.offset) * 600_000_000n;
  let day = i.day;
  while (ticks < 0n) {
    ticks += TICKS_PER_DAY;
    day -= 1;
  }
  while (ticks >= TICKS_PER_DAY) {
    ticks -= TICKS_PER_DAY;
    day += 1;
  }
  return `${dateOf(day)} ${clock(ticks, i.fraction)} ${offsetText(to)}`;
}

// ---- to character data ---------------------------------------------------------------------------

function notEmulated(v: Typed, style: number | undefined): Error {
  return new Error(`converting ${v.type.base} to character data with style ${style ?? 'default'} is not emulated`);
}

/** A value as SQL Server writes it as character data with `style` (undefined: none given). */
export function asText(v: Typed, style: number | undefined): string {
  const { base } = v.type;
  const value = v.value;
  switch (base) {
    case 'tinyint': case 'smallint': case 'int': case 'bigint':
      return String(value);
    case 'bit':
      return value ? '1' : '0';
    case 'decimal': case 'numeric':
      return rescale(String(value), (v.type.args[1] as number | undefined) ?? 0);
    case 'money': case 'smallmoney': {
      // Money styles: 0 two decimals, 1 two decimals with commas, 2 and 126 four decimals.
      if (style === undefined || style === 0) return rescale(String(value), 2);
      if (style === 2 || style === 126) return rescale(String(value), 4);
      if (style === 1) return rescale(String(value), 2).replace(/^(-?\d+)/, (whole) => whole.replace(/\B(?=(\d{3})+$)/g, ','));
      throw notEmulated(v, style);
    }
    case 'date': {
      if (style === undefined || style === 23 || style === 121) return dateOf(instant(String(value)).day);
      throw notEmulated(v, style);
    }
    case 'time': {
      const i = instant(String(value));
      if (style === undefined || style === 121) return clock(i.ticks, precisionOf(v.type, 7));
      if (style === 8 || style === 24 || style === 108) return clock(i.ticks, 0);
      if (style === 14 || style === 114) return clock(i.ticks, 3).replace(/\.(\d{3})$/, ':$1');
      throw notEmulated(v, style);
    }
    case 'datetime2': case 'datetime': case 'smalldatetime': {
      const i = instant(String(value));
      const digits = base === 'datetime2' ? precisionOf(v.type, 7) : 3;
      const date = dateOf(i.day);
      if (style === 23) return date;
      if (style === 20 || style === 120) return `${date} ${clock(i.ticks, 0)}`;
      if (style === 8 || style === 108) return clock(i.ticks, 0);
      if (style === 21 || style === 25 || style === 121 || (style === undefined && base === 'datetime2')) return `${date} ${clock(i.ticks, digits)}`;
      if (base === 'datetime2') throw notEmulated(v, style);
      if (style === undefined || style === 0 || style === 100) return style100(i);
      // 126 (datetime, smalldatetime): ISO 8601, a .000 fraction not shown.
      if (style === 126) return `${date}T${clock(i.ticks, 3).replace(/\.000$/, '')}`;
      throw notEmulated(v, style);
    }
    case 'datetimeoffset': {
      if (style !== undefined && style !== 121) throw notEmulated(v, style);
      const i = instant(String(value));
      return `${dateOf(i.day)} ${clock(i.ticks, precisionOf(v.type, 7))} ${offsetText(i.offset ?? 0)}`;
    }
    case 'uniqueidentifier':
      return String(value).toUpperCase();
    case 'binary': case 'varbinary': case 'image': case 'timestamp': case 'rowversion': {
      const bytes = value as Buffer;
      if (style === 1) return `0x${bytes.toString('hex').toUpperCase()}`;
      if (style === 2) return bytes.toString('hex').toUpperCase();
      throw notEmulated(v, style);
    }
    default:
      if (CHARACTER.has(base) || LARGE_TEXT.has(base)) return String(value);
      throw notEmulated(v, style);
  }
}

/** Characters of a code-page string that fit in `limit` bytes. */
function fitBytes(text: string, limit: number, collationName: string): string {
  const c = collation(collationName);
  let out = text;
  while (encode(out, c).length > limit) out = [...out].slice(0, -1).join('');
  return out;
}

/** The length of `text` as the target type counts it: bytes for code-page types, UTF-16 units for Unicode ones. */
function lengthIn(text: string, target: SqlType, collationName: string): number {
  return isUnicode(target) ? text.length : encode(text, collation(collationName)).length;
}

function toCharacter(v: Typed, target: SqlType, style: number | undefined, ctx: ConvertContext): Typed {
  const collationName = (isCharacter(v.type) ? v.type.collation : undefined) ?? ctx.collation;
  const type: SqlType = { ...target, collation: collationName === ctx.collation ? undefined : collationName };
  if (v.value == null) return { type, value: null };
  let text = asText(v, style);
  // A code-page target holds only what its code page can: anything else becomes '?'.
  if (!isUnicode(target) && target.base !== 'text') text = stored(text, collation(collationName));
  const declared = target.args[0];
  const limit = declared === 'max' || target.base === 'text' || target.base === 'ntext' ? Infinity : (declared ?? 30);
  if (lengthIn(text, target, collationName) > limit) {
    const from = v.type.base;
    if (from === 'tinyint' || from === 'smallint' || from === 'int') {
      if (isUnicode(target)) throw runError.overflow('expression', target.base);
      text = '*';
    } else if (from === 'bigint' || from === 'bit' || from === 'float' || from === 'real' || EXACT.has(from)) {
      throw runError.overflow(EXACT.has(from) ? 'numeric' : 'expression', target.base);
    } else if (from === 'uniqueidentifier') {
      throw runError.uuidSpace(target.base);
    } else {
      text = isUnicode(target) ? text.slice(0, limit) : fitBytes(text, limit, collationName);
    }
  }
  if ((target.base === 'char' || target.base === 'nchar') && limit !== Infinity) text += ' '.repeat(limit - lengthIn(text, target, collationName));
  return { type, value: text };
}

/** CAST(v AS target) or CONVERT(target, v, style). */
export function convert(v: Typed, target: SqlType, style: number | undefined, ctx: ConvertContext): Typed {
  const { base } = target;
  if (CHARACTER.has(base)) return toCharacter(v, target, style, ctx);
  if (v.value == null) return { type: target, value: null };
  const from = v.type.base;
  const fail = () => new Error(`CAST of ${from} to ${base} is not emulated`);
  if (base === 'decimal' || base === 'numeric') {
    if (!isNumeric(v.type) && !isCharacter(v.type)) throw fail();
    const precision = typeof target.args[0] === 'number' ? target.args[0] : 18;
    const scale = typeof target.args[1] === 'number' ? target.args[1] : 0;
    return { type: { base, args: [precision, scale] }, value: toDecimal(v, precision, scale) };
  }
  if (INTEGER.has(base)) {
    const text = isCharacter(v.type) ? String(v.value).trim() : String(v.value);
    if (!/^[+-]?\d+(\.\d*)?$/.test(text) || (isCharacter(v.type) && text.includes('.'))) throw runError.conversion(String(v.value), from, base);
    const whole = BigInt(text.split('.')[0]!);
    const ranges: Record<string, [bigint, bigint]> = { tinyint: [0n, 255n], smallint: [-32768n, 32767n], int: [-2147483648n, 2147483647n], bigint: [-(2n ** 63n), 2n ** 63n - 1n] };
    const [low, high] = ranges[base]!;
    if (whole < low || whole > high) throw runError.overflow('expression', base);
    return { type: target, value: base === 'bigint' ? whole : Number(whole) };
  }
  if (base === 'datetime2') {
    const digits = precisionOf(target, 7);
    const type: SqlType = { base, args: [digits] };
    if (!['datetime2', 'datetime', 'smalldatetime', 'datetimeoffset', 'date'].includes(from)) throw fail();
    // From datetimeoffset the local date and time are kept and the offset dropped.
    const i = roundTo(instant(String(v.value)), digits);
    return { type, value: `${dateOf(i.day)} ${clock(i.ticks, digits)}` };
  }
  if (base === 'datetimeoffset' && from === 'datetimeoffset') {
    const digits = precisionOf(target, 7);
    const i = roundTo(instant(String(v.value)), digits);
    return { type: { base, args: [digits] }, value: `${dateOf(i.day)} ${clock(i.ticks, digits)} ${offsetText(i.offset ?? 0)}` };
  }
  if ((base === 'varbinary' || base === 'binary') && BINARY.has(from)) {
    const limit = target.args[0] === 'max' ? Infinity : ((target.args[0] as number | undefined) ?? 30);
    let bytes = (v.value as Buffer).subarray(0, limit === Infinity ? undefined : limit);
    if (base === 'binary' && limit !== Infinity && bytes.length < limit) bytes = Buffer.concat([bytes, Buffer.alloc(limit - bytes.length)]);
    return { type: target, value: bytes };
  }
  if (base === from && base !== 'sql_variant') return { type: target, value: v.value };
  throw fail();
}

/** A value the model holds, checked against its declared type (a test's typo fails loudly here). */
export function checkStored(value: unknown, type: SqlType, collationName: string, where: string): void {
  if (value == null) return;
  if ((type.base === 'char' || type.base === 'varchar' || type.base === 'text') && typeof value === 'string') {
    const c = collation(collationName);
    if (stored(value, c) !== value) throw new Error(`${where}: '${value}' cannot be stored in code page ${c.codePage} (${c.name})`);
    const limit = type.args[0];
    if (typeof limit === 'number' && encode(value, c).length > limit) throw new Error(`${where}: '${value}' is longer than ${type.base}(${limit}) bytes in ${c.name}`);
  }
}
