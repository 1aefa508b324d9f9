import type { z } from 'zod';
import { shapeOf, type Shape } from './shape.js';

/**
 * The one place where the contract's two spellings meet. REST and the services
 * speak snake_case, GraphQL camelCase; both faces share the zod schemas of
 * lib/contract, and these functions carry values between them:
 *
 * - {@link toGraphQL}: a request body or a service's result → GraphQL
 *   variables or a resolver's answer (camelCase; nulls kept, GraphQL's way of
 *   saying "none" for a nullable field).
 * - {@link fromGraphQL}: resolver arguments or the data a gateway shim got
 *   back → snake_case, `__typename` dropped.
 * - {@link toRestPayload}: any payload → exactly what a REST route answers,
 *   shaped by its response schema.
 * - {@link graphqlSelection}: the GraphQL selection that asks for exactly a
 *   payload schema's fields.
 */
export function toGraphQL(value: unknown): unknown {
  return mapKeys(value, toGraphQLName);
}

/** See {@link toGraphQL}. */
export function fromGraphQL(value: unknown): unknown {
  return mapKeys(value, toRestName);
}

/**
 * A payload (snake_case) as a REST route answers it: parsed with the response
 * schema, so it has exactly the contract's fields, in the schema's order.
 * What the contract lacks is dropped: a column's `nullable` (GraphQL only), and
 * the nulls GraphQL answers for the fields of the other kind of entry
 * (`table_name: null` beside a file's `file_path`), so that an entry is the
 * branch of the schema's union it fits. A payload that does not fit is a
 * fault of ours: the ZodError is logged and answered as a masked 500.
 */
export function toRestPayload<S extends z.ZodType>(schema: S, payload: unknown): z.output<S> {
  return schema.parse(payload);
}

/**
 * The selection set (`{ name tables { name } }`) that asks for exactly the
 * fields of a payload schema, camelCase, in the schema's order: what a
 * gateway REST shim selects, so that its answer is the payload.
 */
export function graphqlSelection(schema: z.ZodType): string {
  return selection(shapeOf(schema, 'output').shape);
}

function selection(shape: Shape): string {
  if (shape.kind === 'list') return selection(shape.of.shape);
  if (shape.kind === 'scalar') return '';
  const fields = Object.entries(shape.fields).map(([name, f]) => {
    const inner = selection(f.shape);
    return inner ? `${toGraphQLName(name)} ${inner}` : toGraphQLName(name);
  });
  return `{ ${fields.join(' ')} }`;
}

/** A snake_case contract name as GraphQL spells it (`schema_name` → `schemaName`). */
export function toGraphQLName(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function toRestName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
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
