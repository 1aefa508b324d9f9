/**
 * The REST contract speaks snake_case, GraphQL camelCase. These convert plain JSON
 * values (objects, arrays, scalars) between the two, so both faces share one schema.
 */
export function toSnakeKeys(value: unknown): unknown {
  return mapKeys(value, (k) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
}

export function toCamelKeys(value: unknown): unknown {
  return mapKeys(value, (k) => k.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()));
}

function mapKeys(value: unknown, rename: (key: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => mapKeys(v, rename));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === '__typename') continue;
      out[rename(k)] = mapKeys(v, rename);
    }
    return out;
  }
  return value;
}
