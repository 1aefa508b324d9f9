/**
 * Canonical text forms (see logical.ts) for sources whose drivers hand values
 * to JavaScript. PostgreSQL's values never come here (its output functions
 * print them, lib/connectors/postgresql/copy-text.ts adjusts the bytes);
 * these helpers reproduce PostgreSQL's own spelling so that the same value
 * reads the same whichever source it came from.
 */


/** Formats one driver value into its canonical text; null stays null (an empty unquoted CSV field). */
export type Formatter = (value: unknown) => string | null;

/** A formatter from `format`, which only ever sees values that are not NULL (null and undefined stay null). */
export function nullable(format: (value: unknown) => string): Formatter {
  return (value) => (value == null ? null : format(value));
}

/** A driver value as text: a Buffer as UTF-8, anything else with String(). */
export function asText(value: unknown): string {
  return Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
}

/**
 * The formatter of the kinds every driver-side source formats alike from the
 * driver's number or text: floats in PostgreSQL's spelling, times with the
 * fraction trimmed, timestamps in ISO form (a timestamptz read in UTC, +00:00).
 */
export function commonFormatter(kind: 'float32' | 'float64' | 'time' | 'timestamp' | 'timestamptz'): Formatter {
  switch (kind) {
    case 'float32':
      return nullable((v) => formatFloat32(Number(v)));
    case 'float64':
      return nullable((v) => formatFloat64(Number(v)));
    case 'time':
      return nullable((v) => trimFraction(asText(v)));
    case 'timestamp':
      return nullable((v) => isoTimestamp(asText(v)));
    case 'timestamptz':
      return nullable((v) => `${isoTimestamp(asText(v))}+00:00`);
  }
}

/**
 * A float8 value spelled exactly as PostgreSQL (12 and later, extra_float_digits
 * ≥ 1) prints it: the shortest decimal strictly inside the value's rounding
 * interval, the nearest such one (ties to an even last digit); fixed notation
 * when the decimal exponent is in [-4, 15), otherwise `d.ddde±XX` with at least
 * two exponent digits; `NaN`, `Infinity`, `-Infinity`, `-0`.
 *
 * JavaScript's own shortest digits are the same except when a candidate sits
 * exactly on the interval's bound or halfway between two candidates (it
 * accepts bounds and breaks ties upwards). That needs a value whose exact
 * expansion is short: only then are the digits computed exactly, as
 * PostgreSQL's Ryū implementation does.
 */
export function formatFloat64(value: number): string {
  if (!Number.isFinite(value) || value === 0) return special(value);
  const view = scratch;
  view.setFloat64(0, value);
  const high = view.getUint32(0);
  const low = view.getUint32(4);
  const biased = (high >>> 20) & 0x7ff;
  const e2 = (biased === 0 ? 1 : biased) - 1075;
  const mantissaHigh = biased === 0 ? high & 0xfffff : (high & 0xfffff) | 0x100000;
  const fractionBits = -(e2 + (low !== 0 ? ctz(low) : 32 + ctz(mantissaHigh)));
  if (Math.abs(value) < 2 ** 53 && (fractionBits <= 0 || fractionBits >= 26)) {
    // Where both use fixed notation, JavaScript's own spelling is PostgreSQL's.
    const magnitude = Math.abs(value);
    if (magnitude >= 1e-4 && magnitude < 1e15) return String(value);
    const [mantissa = '', exponent = '0'] = magnitude.toExponential().split('e');
    return layout(value < 0 ? '-' : '', mantissa.replace('.', ''), Number(exponent), 15);
  }
  const fraction = (BigInt(high & 0xfffff) << 32n) | BigInt(low);
  return exact(value, biased, fraction, 52, 1075, 15);
}

/**
 * A float4 value (the number is first rounded to single precision) spelled
 * exactly as PostgreSQL prints float4: as {@link formatFloat64}, with fixed
 * notation when the decimal exponent is in [-4, 6).
 */
export function formatFloat32(value: number): string {
  const single = Math.fround(value);
  if (!Number.isFinite(single) || single === 0) return special(single);
  const view = scratch;
  view.setFloat32(0, single);
  const bits = view.getUint32(0);
  const biased = (bits >>> 23) & 0xff;
  const e2 = (biased === 0 ? 1 : biased) - 150;
  const mantissa = biased === 0 ? bits & 0x7fffff : (bits & 0x7fffff) | 0x800000;
  const fractionBits = -(e2 + ctz(mantissa));
  // Powers of two have an asymmetric interval, where the nearest candidate may not be the shortest.
  const powerOfTwo = (bits & 0x7fffff) === 0;
  if (!powerOfTwo && Math.abs(single) < 2 ** 23 && (fractionBits <= 0 || fractionBits >= 14)) {
    // Round-tripping is monotone in the number of digits: search from 6 (FLT_DIG) both ways.
    const roundTrips = (digits: number): boolean => Math.fround(Number(single.toPrecision(digits))) === single;
    let digits = 6;
    if (roundTrips(digits)) while (digits > 1 && roundTrips(digits - 1)) digits--;
    else while (digits < 9 && !roundTrips(digits)) digits++;
    const [m = '', exponent = '0'] = Math.abs(Number(single.toPrecision(digits))).toExponential().split('e');
    return layout(single < 0 ? '-' : '', m.replace('.', ''), Number(exponent), 6);
  }
  return exact(single, biased, BigInt(bits & 0x7fffff), 23, 150, 6);
}

const scratch = new DataView(new ArrayBuffer(8));

/** Trailing zero bits of a non-zero 32-bit integer. */
function ctz(x: number): number {
  return 31 - Math.clz32(x & -x);
}

function special(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return Object.is(value, -0) ? '-0' : '0';
}

const TEN = 10n;

/**
 * The shortest digits of a finite non-zero binary float, given by its biased
 * exponent and stored fraction, found with exact arithmetic; spelled the
 * PostgreSQL way. `bias` is the exponent bias plus the fraction width (1075
 * for doubles, 150 for singles).
 */
function exact(value: number, biased: number, fraction: bigint, fractionBits: number, bias: number, fixedBelow: number): string {
  const mantissa = biased === 0 ? fraction : fraction | (1n << BigInt(fractionBits));
  const e2 = (biased === 0 ? 1 : biased) - bias;
  // value = mantissa · 2^e2; the rounding interval is (4m − lowGap, 4m + 2) · 2^(e2 − 2),
  // narrower below at a power of two (except for the smallest normal exponent).
  const lowGap = fraction === 0n && biased > 1 ? 1n : 2n;
  const shift = e2 - 2;
  const scaleUp = shift >= 0 ? 1n << BigInt(shift) : 1n;
  const scaleDown = shift < 0 ? 1n << BigInt(-shift) : 1n;
  const x = 4n * mantissa * scaleUp;
  const lo = (4n * mantissa - lowGap) * scaleUp;
  const hi = (4n * mantissa + 2n) * scaleUp;

  // Decimal exponent of the leading digit: JavaScript's estimate, corrected exactly.
  let k0 = Number(Math.abs(value).toExponential().split('e')[1]);
  while (compareScaled(x, scaleDown, k0) < 0) k0--;
  while (compareScaled(x, scaleDown, k0 + 1) >= 0) k0++;

  for (let n = 1; ; n++) {
    const k = k0 - n + 1;
    const up = k < 0 ? TEN ** BigInt(-k) : 1n;
    const den = scaleDown * (k > 0 ? TEN ** BigInt(k) : 1n);
    const nx = x * up;
    const nlo = lo * up;
    const nhi = hi * up;
    const floor = nx / den;
    const inside = (y: bigint): boolean => nlo < y * den && y * den < nhi;
    let chosen: bigint | undefined;
    if (inside(floor) && inside(floor + 1n)) {
      const below = nx - floor * den;
      const above = (floor + 1n) * den - nx;
      chosen = below < above || (below === above && floor % 2n === 0n) ? floor : floor + 1n;
    } else if (inside(floor)) chosen = floor;
    else if (inside(floor + 1n)) chosen = floor + 1n;
    if (chosen === undefined) continue;
    const digits = chosen.toString();
    return layout(value < 0 ? '-' : '', digits, k + digits.length - 1, fixedBelow);
  }
}

/** Sign of (x / scaleDown) − 10^k, all exact. */
function compareScaled(x: bigint, scaleDown: bigint, k: number): number {
  const left = k < 0 ? x * TEN ** BigInt(-k) : x;
  const right = k < 0 ? scaleDown : scaleDown * TEN ** BigInt(k);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Digits d1d2… with the leading digit at 10^exponent, in PostgreSQL's layout. */
function layout(sign: string, allDigits: string, exponent: number, fixedBelow: number): string {
  const digits = allDigits.replace(/0+$/, '') || '0';
  if (exponent < -4 || exponent >= fixedBelow) {
    const rest = digits.length > 1 ? `.${digits.slice(1)}` : '';
    return `${sign}${digits[0]}${rest}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  if (digits.length <= exponent + 1) return `${sign}${digits}${'0'.repeat(exponent + 1 - digits.length)}`;
  return `${sign}${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
}

/** Drops trailing zeros of a fractional-seconds part, and the dot when nothing is left: `12:00:00.500000` → `12:00:00.5`. */
export function trimFraction(text: string): string {
  const dot = text.indexOf('.');
  if (dot < 0) return text;
  let end = text.length;
  while (end > dot + 1 && text.charCodeAt(end - 1) === 48) end--;
  return end === dot + 1 ? text.slice(0, dot) : text.slice(0, end);
}

/** `YYYY-MM-DD HH:MM:SS[.ffffff]` (as drivers print it) → `YYYY-MM-DDTHH:MM:SS[.ffffff]`, fraction trimmed. */
export function isoTimestamp(text: string): string {
  const t = text.length > 10 && text[10] === ' ' ? `${text.slice(0, 10)}T${text.slice(11)}` : text;
  return trimFraction(t);
}

/** Bytes as `\x` followed by lowercase hex. */
export function hexBinary(bytes: Uint8Array): string {
  return `\\x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}
