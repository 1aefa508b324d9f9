/**
 * The JavaScript canonical-form helpers (lib/types/canonical.ts) against
 * PostgreSQL itself: floats must be spelled digit for digit as PostgreSQL
 * prints float8 and float4, so a value reads the same from every source.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { formatFloat32, formatFloat64, hexBinary, isoTimestamp, trimFraction } from '../../../../lib/types/canonical.js';
import { pgSettings } from '../../../support/databases.js';
import { CASES } from '../../../support/type-cases.js';

/** A deterministic pseudo-random source (xorshift32), so a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** Values that stress the spelling: bounds, ties, powers of two, short dyadics, big integers, random bit patterns. */
function samples(): number[] {
  const next = random(20240229);
  const values = [
    0.1, 0.30000000000000004, 1e15, 1e14, 123456, 1234567, 1e-5, 1e-4, 1.7976931348623157e308, 5e-324, 2.2250738585072014e-308,
    -2.5, 1e21, 1e22, 3.4028234663852886e38, 1.100000023841858, 16777217, 0.000123456, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** -96,
    2.756305307360107e16, 8.0952301597089e16, 294991.625, 46655888, 112942976, 1.401298464324817e-45, 0.5, 123.456,
  ];
  const bits = new DataView(new ArrayBuffer(8));
  for (let i = 0; i < 1500; i++) {
    const r = Math.floor(next() * 2 ** 30);
    values.push(
      r / 2 ** Math.floor(next() * 30),
      r * 2 ** Math.floor(next() * 60),
      2 ** (Math.floor(next() * 200) - 100),
      Math.fround(r / 64),
      Math.floor(next() * 2 ** 53) * 2 ** Math.floor(next() * 12),
      (next() - 0.5) * 10 ** Math.floor(next() * 80 - 40),
    );
    bits.setUint32(0, Math.floor(next() * 2 ** 32));
    bits.setUint32(4, Math.floor(next() * 2 ** 32));
    if (Number.isFinite(bits.getFloat64(0))) values.push(bits.getFloat64(0));
    if (Number.isFinite(bits.getFloat32(0))) values.push(bits.getFloat32(0));
  }
  return values;
}

describe('canonical float spelling matches PostgreSQL', () => {
  let client: pg.Client;
  const values = samples();

  before(async () => {
    client = new pg.Client({ ...pgSettings, database: 'postgres' });
    await client.connect();
    await client.query('SET extra_float_digits = 1');
  });

  after(async () => {
    await client?.end();
  });

  test('float8: every sample, and the specials', async () => {
    const { rows } = await client.query<{ t: string[] }>("SELECT array_agg(v::float8::text ORDER BY i) AS t FROM unnest($1::text[]) WITH ORDINALITY AS u(v, i)", [
      values.map((v) => v.toExponential(20)),
    ]);
    const mismatches = values.map((v, i) => [v, formatFloat64(v), rows[0]!.t[i]]).filter(([, ours, theirs]) => ours !== theirs);
    assert.deepEqual(mismatches, []);
    for (const [v, t] of [[NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity'], [0, '0'], [-0, '-0']] as const) assert.equal(formatFloat64(v), t);
  });

  test('float4: every sample within range, and the specials', async () => {
    const singles = values.map(Math.fround).filter((v) => Number.isFinite(v) && v !== 0);
    const { rows } = await client.query<{ t: string[] }>("SELECT array_agg(v::float4::text ORDER BY i) AS t FROM unnest($1::text[]) WITH ORDINALITY AS u(v, i)", [
      singles.map((v) => v.toExponential(20)),
    ]);
    const mismatches = singles.map((v, i) => [v, formatFloat32(v), rows[0]!.t[i]]).filter(([, ours, theirs]) => ours !== theirs);
    assert.deepEqual(mismatches, []);
    for (const [v, t] of [[NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity'], [0, '0'], [-0, '-0']] as const) assert.equal(formatFloat32(v), t);
  });

  for (const [name, typeCase, cast, format] of [['float8', CASES.float64, 'float8', formatFloat64], ['float4', CASES.float32, 'float4', formatFloat32]] as const) {
    test(`${name}: every value of the case table is spelled as the table writes it, by PostgreSQL and by the JavaScript helper`, async () => {
      const texts = Object.values(typeCase.values).map((v) => v.text);
      const { rows } = await client.query<{ t: string[] }>(`SELECT array_agg(v::${cast}::text ORDER BY i) AS t FROM unnest($1::text[]) WITH ORDINALITY AS u(v, i)`, [texts]);
      assert.deepEqual(rows[0]!.t, texts);
      assert.deepEqual(texts.map((t) => format(Number(t))), texts);
    });
  }
});

describe('canonical helpers', () => {
  test('fractions of seconds lose trailing zeros, and the dot when nothing is left', () => {
    assert.equal(trimFraction('12:00:00.500000'), '12:00:00.5');
    assert.equal(trimFraction('12:00:00.000000'), '12:00:00');
    assert.equal(trimFraction('12:00:00'), '12:00:00');
    assert.equal(trimFraction('12:00:00.123456'), '12:00:00.123456');
  });

  test('driver timestamps become ISO 8601 with a T', () => {
    assert.equal(isoTimestamp('2024-02-29 13:45:10.120000'), '2024-02-29T13:45:10.12');
    assert.equal(isoTimestamp('2024-02-29 13:45:10'), '2024-02-29T13:45:10');
  });

  test('bytes become \\x and lowercase hex', () => {
    assert.equal(hexBinary(new Uint8Array([0xde, 0xad, 0x00, 0x0f])), '\\xdead000f');
    assert.equal(hexBinary(new Uint8Array()), '\\x');
    assert.equal(hexBinary(Buffer.from([1, 2, 3]).subarray(1)), '\\x0203');
  });
});
