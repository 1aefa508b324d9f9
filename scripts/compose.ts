/** `npm run compose`: writes schema/supergraph.graphql from the subgraph SDL files. */
import { writeFileSync } from 'node:fs';
import { composeSupergraph, SUPERGRAPH_PATH } from '../lib/graphql/compose.js';

try {
  writeFileSync(SUPERGRAPH_PATH, composeSupergraph());
  console.log(`wrote ${SUPERGRAPH_PATH}`);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
