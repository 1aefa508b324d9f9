/**
 * The federated schema: the checked-in supergraph is what the subgraph SDL files
 * compose to (run `npm run compose` after changing them), and every type and
 * field the subgraphs declare is documented.
 */
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kind, parse, type DefinitionNode } from 'graphql';
import { composeSupergraph, SUPERGRAPH_PATH } from '../../lib/graphql/compose.js';
import { subgraphSdl, type SubgraphName } from '../../lib/graphql/sdl.js';

const SUBGRAPHS: SubgraphName[] = ['metadata', 'publish'];
/** Root operation types are documented by their fields. */
const ROOT_TYPES = new Set(['Query', 'Mutation', 'Subscription']);

/** Every "Type" and "Type.field" of a subgraph's SDL that has no description. */
function undocumented(sdl: string): string[] {
  const missing: string[] = [];
  for (const def of parse(sdl).definitions as readonly DefinitionNode[]) {
    switch (def.kind) {
      case Kind.OBJECT_TYPE_DEFINITION:
      case Kind.OBJECT_TYPE_EXTENSION:
      case Kind.INTERFACE_TYPE_DEFINITION:
      case Kind.INPUT_OBJECT_TYPE_DEFINITION:
      case Kind.ENUM_TYPE_DEFINITION:
      case Kind.UNION_TYPE_DEFINITION:
      case Kind.SCALAR_TYPE_DEFINITION: {
        const name = def.name.value;
        const hasDescription = 'description' in def && def.description?.value.trim();
        if (!hasDescription && !ROOT_TYPES.has(name) && def.kind !== Kind.OBJECT_TYPE_EXTENSION) missing.push(name);
        const members = 'fields' in def ? (def.fields ?? []) : 'values' in def ? (def.values ?? []) : [];
        for (const member of members) {
          if (!member.description?.value.trim()) missing.push(`${name}.${member.name.value}`);
        }
        break;
      }
      default:
        break;
    }
  }
  return missing;
}

describe('supergraph', () => {
  test('schema/supergraph.graphql is up to date with the subgraph SDL files (npm run compose)', () => {
    assert.equal(readFileSync(SUPERGRAPH_PATH, 'utf8'), composeSupergraph());
  });

  for (const name of SUBGRAPHS) {
    test(`every type and field of the ${name} subgraph has a description`, () => {
      assert.deepEqual(undocumented(subgraphSdl(name)), []);
    });
  }

  test('the description check finds what is missing', () => {
    const sdl = '"Documented." type A { "yes" a: Int b: Int } type B { c: Int } input C { d: Int } type Query { e: A }';
    assert.deepEqual(undocumented(sdl), ['A.b', 'B', 'B.c', 'C', 'C.d', 'Query.e']);
  });
});
