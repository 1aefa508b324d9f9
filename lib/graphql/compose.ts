import { composeServices } from '@apollo/composition';
import { fromRoot } from '../paths.js';
import { SUBGRAPH_NAMES, subgraphTypeDefs, type SubgraphName } from './sdl.js';

/** Where the checked-in supergraph lives. */
export const SUPERGRAPH_PATH = fromRoot('schema', 'supergraph.graphql');

/**
 * Placeholder routing URLs written into the supergraph. The gateway never uses
 * them: it routes to METADATA_CONTAINER_NAME/PORT and PUBLISH_CONTAINER_NAME/PORT.
 */
const PLACEHOLDER_URLS: Record<SubgraphName, string> = {
  metadata: 'http://metadata:8002/graphql',
  publish: 'http://publish:8003/graphql',
};

/** Composes the subgraph SDL files into the supergraph SDL; throws listing every composition error. */
export function composeSupergraph(): string {
  const result = composeServices(SUBGRAPH_NAMES.map((name) => ({ name, typeDefs: subgraphTypeDefs(name), url: PLACEHOLDER_URLS[name] })));
  if (result.errors) {
    throw new Error(`Composition failed:\n${result.errors.map((e) => `- ${e.message}`).join('\n')}`);
  }
  return `${result.supergraphSdl.trimEnd()}\n`;
}
