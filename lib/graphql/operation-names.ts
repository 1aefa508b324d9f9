import { readSettings } from '../config/env.js';
import { operationNameSettings } from '../config/settings/index.js';
import { MAX_LABEL_LENGTH, OTHER_LABEL } from '../metrics/label-bounds.js';
import { SUBGRAPH_NAMES } from './sdl.js';

/**
 * The operations the gateway's REST shims run (gateway/src/rest/operations.ts;
 * test/e2e/graphql-metrics.test.ts checks the two agree).
 */
export const REST_OPERATION_NAMES = ['ValidateProject', 'DatasetMetadata', 'PackageProject', 'PublishProject'] as const;

/**
 * The operation names counted by name in `cr8tor_graphql_operations_total`:
 * the REST shims' and those listed in GRAPHQL_METRICS_OPERATION_NAMES. A bad
 * list throws a ConfigError naming the variable.
 */
export function readKnownOperationNames(env?: NodeJS.ProcessEnv): ReadonlySet<string> {
  return new Set([...REST_OPERATION_NAMES, ...readSettings(operationNameSettings, env).GRAPHQL_METRICS_OPERATION_NAMES]);
}

/** The label an operation is counted under: `anonymous` without a name, a known name, or `other`. */
export function operationLabel(name: string | null | undefined, known: ReadonlySet<string>): string {
  if (!name) return 'anonymous';
  if (known.has(name)) return name;
  const parent = fetchParent(name);
  return parent !== undefined && known.has(parent) ? parent : OTHER_LABEL;
}

/**
 * The operation a gateway's subgraph fetch serves: the query planner names
 * each fetch `{operation}__{subgraph}__{n}`. Undefined for any other name.
 * String operations only (no regular expression over a caller's name).
 */
function fetchParent(name: string): string | undefined {
  if (name.length > 2 * MAX_LABEL_LENGTH) return undefined;
  const counter = name.lastIndexOf('__');
  if (counter <= 0 || !/^\d{1,4}$/.test(name.slice(counter + 2))) return undefined;
  const rest = name.slice(0, counter);
  const subgraph = SUBGRAPH_NAMES.find((s) => rest.endsWith(`__${s}`));
  return subgraph ? rest.slice(0, rest.length - subgraph.length - 2) : undefined;
}
