/** How large a GraphQL operation may be, and which operation names metrics count. */
import { z } from 'zod';
import { MAX_LABEL_LENGTH } from '../../metrics/label-bounds.js';
import { ALL_SERVICES, defineSettings, setting } from '../env.js';

/**
 * The settings behind GraphQLLimits (lib/graphql/limits.ts), read by every
 * service that serves GraphQL. The floors keep every operation the REST shims
 * run, and the fetches the gateway makes for them, within the limits: the CLI
 * works whatever is set.
 */
export const graphqlLimitSettings = defineSettings({
  GRAPHQL_MAX_DEPTH: {
    ...setting.intAtLeast(12, 6, 'project { metadataReports { metadata { tables { columns { name } } } } } is 6 deep'),
    services: ALL_SERVICES,
    description: 'Most levels of nested fields in one operation, fragments expanded (see docs/behaviour.md, "GraphQL limits").',
  },
  GRAPHQL_MAX_ALIASES: {
    ...setting.intAtLeast(15, 0, '0 allows no aliases'),
    services: ALL_SERVICES,
    description: 'Most aliased fields in one operation (each alias of a root field is one more call to a source).',
  },
  GRAPHQL_MAX_FIELDS: {
    ...setting.intAtLeast(500, 50, 'the REST operations select up to 13 fields'),
    services: ALL_SERVICES,
    description: 'Most field selections in one operation, fragments expanded at each use (`__typename` is free).',
  },
  GRAPHQL_MAX_TOKENS: {
    ...setting.intAtLeast(2000, 200, 'the REST operations are about 40 tokens'),
    services: ALL_SERVICES,
    description: 'Most lexical tokens in one document (the parser stops there, so a huge document is never built).',
  },
});

/** Most names GRAPHQL_METRICS_OPERATION_NAMES may list. */
const MAX_OPERATOR_NAMES = 50;
/** A GraphQL name short enough to be a label. */
const NAME = new RegExp(`^[_A-Za-z][_0-9A-Za-z]{0,${MAX_LABEL_LENGTH - 1}}$`);

/** The settings behind readKnownOperationNames (lib/graphql/operation-names.ts). */
export const operationNameSettings = defineSettings({
  GRAPHQL_METRICS_OPERATION_NAMES: {
    schema: z
      .string()
      .default('')
      .transform((v) => v.split(',').map((n) => n.trim()).filter(Boolean))
      .refine((names) => names.length <= MAX_OPERATOR_NAMES, `must list at most ${MAX_OPERATOR_NAMES} names`)
      .refine((names) => names.every((n) => NAME.test(n)), `must be comma-separated GraphQL operation names of at most ${MAX_LABEL_LENGTH} characters`),
    type: 'comma-separated names',
    services: ALL_SERVICES,
    description: `GraphQL operation names (at most ${MAX_OPERATOR_NAMES}, each at most ${MAX_LABEL_LENGTH} characters) counted by name in \`cr8tor_graphql_operations_total\`, besides the REST shims' own; any other name is counted as \`other\` (see docs/observability.md).`,
  },
});
