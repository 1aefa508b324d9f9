/**
 * The GraphQL SDL and the contract's zod schemas describe the same shapes: for
 * each operation, the input type of its `request` argument and the request
 * schema the resolver parses it with, and its result type and the payload
 * schema the service answers with, have the same fields (camelCase in the
 * SDL), the same scalars, the same lists and the same nullability. The SDL is
 * the composed supergraph the gateway serves (test/unit/supergraph.test.ts
 * checks it is what schema/*.graphql compose to).
 */
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  parse,
  validate,
  type GraphQLField,
  type GraphQLSchema,
  type GraphQLType,
} from 'graphql';
import type { z } from 'zod';
import {
  accessRequestSchema,
  datasetMetadataSchema,
  JOB_KINDS,
  JOB_STATES,
  jobConnectionSchema,
  jobPageArgsSchema,
  jobSchema,
  jobsQuerySchema,
  metadataRequestSchema,
  packageResultSchema,
  projectRecordsSchema,
  publishResultSchema,
  publishRequestSchema,
  TABLE_PROGRESS_STATES,
  toGraphQLName,
  transferRequestSchema,
  validationPayloadSchema,
} from '../../lib/contract/index.js';
import { shapeOf, type Field } from '../../lib/contract/shape.js';
import { SUPERGRAPH_PATH } from '../../lib/graphql/compose.js';
import * as shimOperations from '../../gateway/src/rest/operations.js';

const supergraph = buildSchema(readFileSync(SUPERGRAPH_PATH, 'utf8'));

/**
 * Each operation of the graph with the schema its `request` is parsed with (or,
 * `args`, the schema all its arguments are parsed with) and the schema of its result.
 */
const OPERATIONS: Array<{ field: string; request?: z.ZodType; args?: z.ZodType; result: z.ZodType }> = [
  { field: 'Query.datasetMetadata', request: metadataRequestSchema, result: datasetMetadataSchema },
  { field: 'Mutation.validateProject', request: accessRequestSchema, result: validationPayloadSchema },
  { field: 'Mutation.packageProject', request: transferRequestSchema, result: packageResultSchema },
  { field: 'Mutation.publishProject', request: publishRequestSchema, result: publishResultSchema },
  // The records both subgraphs keep, composed into one Project.
  { field: 'Query.project', result: projectRecordsSchema },
  // Jobs (issue #17).
  { field: 'Query.job', result: jobSchema.nullable() },
  { field: 'Query.jobs', args: jobsQuerySchema, result: jobConnectionSchema },
  { field: 'Project.jobs', args: jobPageArgsSchema, result: jobConnectionSchema },
  { field: 'Mutation.startPackage', request: transferRequestSchema, result: jobSchema },
  { field: 'Mutation.startPublish', request: publishRequestSchema, result: jobSchema },
  { field: 'Mutation.cancelJob', result: jobSchema },
];

/** The GraphQL enums that spell the contract's enums in capitals. */
const ENUMS: Array<{ type: string; values: readonly string[] }> = [
  { type: 'JobKind', values: JOB_KINDS },
  { type: 'JobState', values: JOB_STATES },
  { type: 'TableProgressState', values: TABLE_PROGRESS_STATES },
];

/**
 * The shape of a GraphQL type, in the terms of lib/contract/shape.ts. An enum is
 * a String (its values are checked against the contract's apart, {@link ENUMS}).
 * A field that takes arguments is an operation of its own (`Project.jobs`),
 * checked as one of {@link OPERATIONS}, not part of its type's shape.
 */
function sdlShape(type: GraphQLType, nullable = true): Field {
  if (isNonNullType(type)) return sdlShape(type.ofType, false);
  if (isListType(type)) return { shape: { kind: 'list', of: sdlShape(type.ofType) }, nullable };
  if (isScalarType(type)) return { shape: { kind: 'scalar', scalar: type.name }, nullable };
  if (isEnumType(type)) return { shape: { kind: 'scalar', scalar: 'String' }, nullable };
  if (isObjectType(type) || isInputObjectType(type)) {
    const own = Object.values(type.getFields()).filter((f) => !('args' in f) || f.args.length === 0);
    const fields = Object.fromEntries(own.map((f) => [f.name, sdlShape(f.type)]));
    return { shape: { kind: 'object', fields }, nullable };
  }
  throw new Error(`No shape for the GraphQL type ${String(type)}.`);
}

function describeField(f: Field): string {
  const s = f.shape;
  const what = s.kind === 'scalar' ? s.scalar : s.kind === 'list' ? `[${describeField(s.of)}]` : 'object';
  return f.nullable ? what : `${what}!`;
}

/** Every difference between the SDL's shape and the zod schema's, one line each, named by path (SDL spelling). */
function differences(sdl: Field, zod: Field, path: string): string[] {
  const out: string[] = [];
  if (sdl.nullable !== zod.nullable) out.push(`${path}: SDL ${describeField(sdl)}, zod ${describeField(zod)} (nullability differs)`);
  if (sdl.shape.kind !== zod.shape.kind) {
    out.push(`${path}: SDL ${describeField(sdl)}, zod ${describeField(zod)}`);
    return out;
  }
  if (sdl.shape.kind === 'scalar' && zod.shape.kind === 'scalar' && sdl.shape.scalar !== zod.shape.scalar) {
    out.push(`${path}: SDL ${sdl.shape.scalar}, zod ${zod.shape.scalar}`);
  }
  if (sdl.shape.kind === 'list' && zod.shape.kind === 'list') out.push(...differences(sdl.shape.of, zod.shape.of, `${path}[]`));
  if (sdl.shape.kind === 'object' && zod.shape.kind === 'object') {
    const zodFields = new Map(Object.entries(zod.shape.fields).map(([name, f]) => [toGraphQLName(name), { name, f }]));
    for (const [name, f] of Object.entries(sdl.shape.fields)) {
      const match = zodFields.get(name);
      if (!match) out.push(`${path}.${name}: only in the SDL (${describeField(f)})`);
      else out.push(...differences(f, match.f, `${path}.${name}`));
    }
    for (const [name, { name: snake, f }] of zodFields) {
      if (!(name in sdl.shape.fields)) out.push(`${path}.${name}: only in the zod schema, as ${snake} (${describeField(f)})`);
    }
  }
  return out;
}

function rootField(schema: GraphQLSchema, path: string): GraphQLField<unknown, unknown> {
  const [typeName, fieldName] = path.split('.') as [string, string];
  const type = schema.getType(typeName);
  assert.ok(isObjectType(type), `${typeName} is not an object type of the supergraph`);
  const found = type.getFields()[fieldName];
  assert.ok(found, `${path} is not in the supergraph`);
  return found;
}

describe('the SDL and the zod schemas describe the same shapes', () => {
  for (const op of OPERATIONS) {
    const request = op.request;
    if (request) {
      test(`${op.field}: its request input type and the request schema`, () => {
        const arg = rootField(supergraph, op.field).args.find((a) => a.name === 'request');
        assert.ok(arg, `${op.field} has no request argument`);
        const diff = differences(sdlShape(arg.type), shapeOf(request, 'input'), getNamedType(arg.type).name);
        assert.deepEqual(diff, [], `SDL and zod differ:\n  ${diff.join('\n  ')}`);
      });
    }

    const args = op.args;
    if (args) {
      test(`${op.field}: its arguments and the schema they are parsed with`, () => {
        const fields = Object.fromEntries(rootField(supergraph, op.field).args.map((a) => [a.name, a.defaultValue === undefined ? sdlShape(a.type) : { ...sdlShape(a.type), nullable: true }]));
        const diff = differences({ shape: { kind: 'object', fields }, nullable: false }, shapeOf(args, 'input'), `${op.field}(…)`);
        assert.deepEqual(diff, [], `SDL and zod differ:\n  ${diff.join('\n  ')}`);
      });
    }

    test(`${op.field}: its result type and the payload schema`, () => {
      const type = rootField(supergraph, op.field).type;
      const diff = differences(sdlShape(type), shapeOf(op.result, 'output'), getNamedType(type).name);
      assert.deepEqual(diff, [], `SDL and zod differ:\n  ${diff.join('\n  ')}`);
    });
  }

  for (const { type, values } of ENUMS) {
    test(`the enum ${type} spells the contract's values in capitals`, () => {
      const found = supergraph.getType(type);
      assert.ok(isEnumType(found), `${type} is an enum of the supergraph`);
      assert.deepEqual(found.getValues().map((v) => v.name), values.map((v) => v.toUpperCase()));
    });
  }

  test('a difference is found and named: the check can fail', () => {
    const sdl = sdlShape(buildSchema('input R { projectName: String!, port: Int, extra: String } type Query { q(r: R): Int }').getType('R')!);
    const zod = shapeOf(publishRequestSchema, 'input');
    const diff = differences(sdl, zod, 'R');
    assert.ok(diff.includes('R.port: only in the SDL (Int)'), diff.join('\n'));
    assert.ok(diff.includes('R.destination: only in the zod schema, as destination (object!)'), diff.join('\n'));
    assert.ok(diff.includes('R.projectStartTime: only in the zod schema, as project_start_time (String!)'), diff.join('\n'));
  });

  test("the gateway's REST shims ask the supergraph for fields it has, with the variables it takes", () => {
    for (const [name, text] of Object.entries(shimOperations)) {
      const errors = validate(supergraph, parse(text));
      assert.deepEqual(errors.map((e) => e.message), [], name);
    }
  });
});
