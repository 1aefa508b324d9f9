import { z } from 'zod';

/**
 * The shape of a contract schema as GraphQL sees it: objects with named
 * fields, lists, scalars, and whether each may be null (or absent). Derived
 * from the zod schemas, so the GraphQL selections the gateway's REST shims ask
 * for (lib/contract/codec.ts) and the check that the SDL describes the same
 * fields (test/unit/sdl-contract.test.ts) both follow the one definition.
 *
 * A union of objects is one object with every field of every branch, a field
 * being non-null only where every branch has it non-null: that is how the SDL
 * spells the contract's alternatives (`RetrievedData`: `filePath` or
 * `tableName`; `SourceInput`: SQL or Databricks fields).
 */
export type Shape =
  | { kind: 'scalar'; scalar: string }
  | { kind: 'list'; of: Field }
  | { kind: 'object'; fields: Record<string, Field> };

export interface Field {
  shape: Shape;
  /** Whether the value may be null or absent. */
  nullable: boolean;
}

/** The GraphQL scalar of a schema where it is not the one its zod type implies (`Long` for a 64-bit count). */
export const graphqlScalars = z.registry<{ scalar: string }>();

/** Which side of the schema: what callers send (`input`), or what the schema produces (`output`). */
export type Side = 'input' | 'output';

/** The shape of `schema` as seen from `side`; throws for what has no GraphQL shape (a bare transform, a map). */
export function shapeOf(schema: z.ZodType, side: Side): Field {
  return field(schema as unknown as Walkable, side, false);
}

/** The internals of a zod 4 schema the walk reads (`_zod.def`, documented for libraries built on zod 4). */
interface Walkable {
  _zod: { def: Def };
  isInt?: boolean;
}

interface Def {
  type: string;
  innerType?: Walkable;
  in?: Walkable;
  out?: Walkable;
  shape?: Record<string, Walkable>;
  catchall?: Walkable;
  element?: Walkable;
  options?: Walkable[];
  values?: unknown[];
}

function field(schema: Walkable, side: Side, nullable: boolean): Field {
  const override = graphqlScalars.get(schema as unknown as z.ZodType);
  if (override) return { shape: { kind: 'scalar', scalar: override.scalar }, nullable };
  const def = schema._zod.def;
  switch (def.type) {
    case 'optional':
    case 'nullable':
      return field(def.innerType!, side, true);
    case 'default':
    case 'prefault':
      // A default makes the field optional for callers, and always present in what the schema produces.
      return field(def.innerType!, side, nullable || side === 'input');
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return field(def.innerType!, side, nullable);
    case 'pipe':
      return { shape: pipeShape(def, side), nullable };
    case 'object':
      return { shape: { kind: 'object', fields: objectFields(def, side) }, nullable };
    case 'array':
      return { shape: { kind: 'list', of: field(def.element!, side, false) }, nullable };
    case 'union':
      return { shape: unionShape(def.options!, side), nullable };
    case 'string':
    case 'enum':
      return { shape: { kind: 'scalar', scalar: 'String' }, nullable };
    case 'literal':
      return { shape: { kind: 'scalar', scalar: literalScalar(def.values!) }, nullable };
    case 'number':
      return { shape: { kind: 'scalar', scalar: schema.isInt ? 'Int' : 'Float' }, nullable };
    case 'boolean':
      return { shape: { kind: 'scalar', scalar: 'Boolean' }, nullable };
    default:
      throw new Error(`A zod ${def.type} has no GraphQL shape.`);
  }
}

/**
 * A pipe's input is its first schema's, its output the last's. A loose object
 * first in a pipe (the source: its `type` read before the rest) checks only
 * some fields and hands every field on: the pipe's input is then the second
 * schema's, with the first's fields over it.
 */
function pipeShape(def: Def, side: Side): Shape {
  if (side === 'output') return field(def.out!, side, false).shape;
  const first = def.in!._zod.def;
  if (first.type === 'object' && first.catchall?._zod.def.type === 'unknown') {
    const rest = field(def.out!, side, false).shape;
    if (rest.kind !== 'object') throw new Error('A loose object piped into a non-object has no GraphQL shape.');
    return { kind: 'object', fields: { ...rest.fields, ...objectFields(first, side) } };
  }
  return field(def.in!, side, false).shape;
}

function objectFields(def: Def, side: Side): Record<string, Field> {
  return Object.fromEntries(Object.entries(def.shape!).map(([name, s]) => [name, field(s, side, false)]));
}

function unionShape(options: Walkable[], side: Side): Shape {
  const branches = options.map((o) => field(o, side, false));
  if (branches.some((b) => b.nullable)) throw new Error('A union with a nullable branch has no GraphQL shape.');
  return merge(branches.map((b) => b.shape), 'a union');
}

/** The one shape of a union's branches: objects merge field by field, lists by element, scalars must be the same. */
function merge(shapes: Shape[], where: string): Shape {
  const first = shapes[0]!;
  if (shapes.some((s) => s.kind !== first.kind)) throw new Error(`The branches of ${where} mix ${[...new Set(shapes.map((s) => s.kind))].join(' and ')}.`);
  if (first.kind === 'scalar') {
    const scalars = new Set(shapes.map((s) => (s as { scalar: string }).scalar));
    if (scalars.size > 1) throw new Error(`The branches of ${where} are ${[...scalars].join(' or ')}.`);
    return first;
  }
  if (first.kind === 'list') {
    const elements = shapes.map((s) => (s as { of: Field }).of);
    return { kind: 'list', of: { shape: merge(elements.map((e) => e.shape), where), nullable: elements.some((e) => e.nullable) } };
  }
  const objects = shapes.map((s) => (s as { fields: Record<string, Field> }).fields);
  const names = [...new Set(objects.flatMap((o) => Object.keys(o)))];
  const fields: Record<string, Field> = {};
  for (const name of names) {
    const present = objects.map((o) => o[name]).filter((f): f is Field => f !== undefined);
    fields[name] = { shape: merge(present.map((f) => f.shape), `'${name}'`), nullable: present.length < objects.length || present.some((f) => f.nullable) };
  }
  return { kind: 'object', fields };
}

function literalScalar(values: unknown[]): string {
  if (values.every((v) => typeof v === 'string')) return 'String';
  if (values.every((v) => typeof v === 'boolean')) return 'Boolean';
  if (values.every((v) => typeof v === 'number' && Number.isInteger(v))) return 'Int';
  throw new Error(`A literal of ${values.map((v) => typeof v).join(', ')} has no GraphQL shape.`);
}
