import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  getIntrospectionQuery,
  parse,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { readSettings } from '../config/env.js';
import { graphqlLimitSettings } from '../config/settings/index.js';

/** How large one GraphQL operation may be; anything larger is refused before it runs. */
export interface GraphQLLimits {
  /** Most levels of nested fields (`{ a { b } }` is 2), fragments expanded. */
  maxDepth: number;
  /** Most aliased fields (each alias of a root field is one more call to a source). */
  maxAliases: number;
  /** Most field selections, fragments expanded at each use; `__typename` is free. */
  maxFields: number;
  /** Most lexical tokens in the document (checked while parsing, so a huge document is never built). */
  maxTokens: number;
}

/** Reads the limits from the environment; a bad value throws a ConfigError naming the variable. */
export function readGraphQLLimits(env?: NodeJS.ProcessEnv): GraphQLLimits {
  const s = readSettings(graphqlLimitSettings, env);
  return { maxDepth: s.GRAPHQL_MAX_DEPTH, maxAliases: s.GRAPHQL_MAX_ALIASES, maxFields: s.GRAPHQL_MAX_FIELDS, maxTokens: s.GRAPHQL_MAX_TOKENS };
}

/**
 * What a subgraph allows, given what the gateway allows: the same depth and
 * aliases, and twice the fields and tokens, because the gateway's fetches add
 * the fields entities are joined on (`projectName projectStartTime`) and the
 * `_entities` wrapper. A query the gateway accepts is never refused downstream.
 */
export function subgraphLimits(limits: GraphQLLimits): GraphQLLimits {
  return { ...limits, maxFields: limits.maxFields * 2, maxTokens: limits.maxTokens * 2 };
}

/** The size of an operation, measured the way {@link GraphQLLimits} counts. */
export interface OperationSize {
  depth: number;
  aliases: number;
  fields: number;
  /** The deepest nesting inside `__schema` / `__type`, counted from the operation's root. */
  introspectionDepth: number;
}

const INTROSPECTION_FIELDS = new Set(['__schema', '__type']);

/**
 * Measures one operation of a validated document (fragments exist and do not
 * cycle: validation has checked). Each fragment spread counts at every use, as
 * execution would resolve it.
 */
export function measureOperation(document: DocumentNode, operation: OperationDefinitionNode): OperationSize {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const size: OperationSize = { depth: 0, aliases: 0, fields: 0, introspectionDepth: 0 };
  // Spreads expanded so far: a document of nested fragments could otherwise describe an exponential tree.
  let budget = 100_000;
  const walk = (set: SelectionSetNode, depth: number, introspection: boolean): void => {
    for (const selection of set.selections) {
      if (--budget < 0) return;
      if (selection.kind === Kind.FIELD) {
        const level = depth + 1;
        const inside = introspection || INTROSPECTION_FIELDS.has(selection.name.value);
        if (inside) size.introspectionDepth = Math.max(size.introspectionDepth, level);
        else size.depth = Math.max(size.depth, level);
        if (selection.alias) size.aliases++;
        if (selection.name.value !== '__typename') size.fields++;
        if (selection.selectionSet) walk(selection.selectionSet, level, inside);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet, depth, introspection);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(fragment.selectionSet, depth, introspection);
      }
    }
  };
  walk(operation.selectionSet, 0, false);
  if (budget < 0) size.fields = Number.POSITIVE_INFINITY;
  return size;
}

/**
 * How deep introspection may nest: as deep as the standard introspection query
 * of graphql-js (what GraphQL tools send), and no deeper, whatever GRAPHQL_MAX_DEPTH
 * says. Deeper introspection (`__type { fields { type { fields { … } } } }`) is abuse.
 */
export const INTROSPECTION_MAX_DEPTH = (() => {
  const document = parse(getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }));
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  return measureOperation(document, operation).introspectionDepth;
})();

/** The reasons an operation exceeds the limits, each naming the setting; empty when it fits. */
export function limitViolations(size: OperationSize, limits: GraphQLLimits): string[] {
  const problems: string[] = [];
  if (size.depth > limits.maxDepth) problems.push(`${size.depth} levels of nested fields (at most ${limits.maxDepth}, GRAPHQL_MAX_DEPTH)`);
  if (size.introspectionDepth > INTROSPECTION_MAX_DEPTH) {
    problems.push(`introspection ${size.introspectionDepth} levels deep (at most ${INTROSPECTION_MAX_DEPTH}, the depth of the standard introspection query)`);
  }
  if (size.aliases > limits.maxAliases) problems.push(`${size.aliases} aliased fields (at most ${limits.maxAliases}, GRAPHQL_MAX_ALIASES)`);
  if (size.fields > limits.maxFields) {
    const count = Number.isFinite(size.fields) ? String(size.fields) : 'too many';
    problems.push(`${count} fields once fragments are expanded (at most ${limits.maxFields}, GRAPHQL_MAX_FIELDS)`);
  }
  return problems;
}

/**
 * Refuses an operation that is too deep, has too many aliases or too many
 * fields, once it has been parsed and validated and before anything runs
 * (before the gateway plans it, before a subgraph resolves it). The caller gets
 * a GRAPHQL_VALIDATION_FAILED error, HTTP 400, naming each limit exceeded. The
 * token limit is enforced by the parser itself (see {@link parseOptions}).
 */
export function graphqlLimitsPlugin(limits: GraphQLLimits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation }) {
          if (!operation) return;
          const problems = limitViolations(measureOperation(document, operation), limits);
          if (problems.length === 0) return;
          throw new GraphQLError(`The operation is too large: ${problems.join('; ')}.`, {
            extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } },
          });
        },
      };
    },
  };
}

/**
 * How deeply `{`, `[` and `(` may nest in a document. The parser recurses once
 * per level, so a document of a few thousand tokens could otherwise nest deep
 * enough to overflow the stack; no operation within the depth limit comes near.
 */
export const MAX_NESTING = 64;

/**
 * The deepest nesting of brackets in a GraphQL document, outside strings,
 * block strings and comments; counted before parsing, in one pass, without
 * recursion. Stops counting once past {@link MAX_NESTING}.
 */
export function bracketNesting(source: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '#') {
      while (i < source.length && source[i] !== '\n' && source[i] !== '\r') i++;
    } else if (c === '"') {
      if (source.startsWith('"""', i)) {
        // A block string ends at the first unescaped triple quote (an escaped one is \""").
        let close = source.indexOf('"""', i + 3);
        while (close !== -1 && source[close - 1] === '\\') close = source.indexOf('"""', close + 3);
        if (close === -1) return deepest;
        i = close + 2;
      } else {
        i++;
        while (i < source.length && source[i] !== '"' && source[i] !== '\n') i += source[i] === '\\' ? 2 : 1;
      }
    } else if (c === '{' || c === '[' || c === '(') {
      if (++depth > deepest) deepest = depth;
      if (deepest > MAX_NESTING) return deepest;
    } else if (c === '}' || c === ']' || c === ')') {
      depth = Math.max(0, depth - 1);
    }
  }
  return deepest;
}

/** Apollo Server's `parseOptions` for the limits: the parser stops after `maxTokens` tokens. */
export function parseOptions(limits: GraphQLLimits): { maxTokens: number } {
  return { maxTokens: limits.maxTokens };
}
