import { readFileSync } from 'node:fs';
import { parse, type DocumentNode } from 'graphql';
import { fromRoot } from '../paths.js';

/** The subgraphs of the federated graph. */
export const SUBGRAPH_NAMES = ['metadata', 'publish'] as const;

export type SubgraphName = (typeof SUBGRAPH_NAMES)[number];

/** The SDL text of a subgraph: its own file in schema/ with the shared input types appended. */
export function subgraphSdl(name: SubgraphName): string {
  return `${readFileSync(fromRoot('schema', `${name}.graphql`), 'utf8')}\n${readFileSync(fromRoot('schema', 'inputs.graphql'), 'utf8')}`;
}

/** The parsed SDL of a subgraph, for `buildSubgraphSchema`. */
export function subgraphTypeDefs(name: SubgraphName): DocumentNode {
  return parse(subgraphSdl(name));
}
