import type { ApolloServerOptions, BaseContext } from '@apollo/server';
import type { DocumentNode } from 'graphql';
import { ByteLru } from '../byte-lru.js';

/**
 * Approximate budget (UTF-8 JSON length, as Apollo measures) of each server's
 * parsed-document cache. Apollo's default is 30 MiB; a parsed document takes
 * two to four times its JSON length on the heap (graphql-js keeps every token),
 * so ours is smaller. The REST shims' documents are 1–3 KiB of JSON each:
 * over a thousand distinct operations fit.
 */
export const DOCUMENT_CACHE_BYTES = 4 * 1024 * 1024;

/** The gateway's query-plan cache budget, in MiB of JSON (Apollo Gateway's default is 30). */
export const QUERY_PLAN_CACHE_MIB = 4;

type DocumentStore = NonNullable<ApolloServerOptions<BaseContext>['documentStore']>;

/** A parsed-document cache of at most {@link DOCUMENT_CACHE_BYTES}, least recently used first out. */
function documentStore(): DocumentStore {
  const lru = new ByteLru<DocumentNode>(DOCUMENT_CACHE_BYTES, (key, document) => key.length + Buffer.byteLength(JSON.stringify(document)));
  return {
    get: async (key) => lru.get(key),
    set: async (key, document) => lru.set(key, document),
    delete: async (key) => lru.delete(key),
  };
}

/**
 * The cache settings every Apollo Server of ours uses: a bounded document
 * cache, and no automatic persisted queries (nothing of ours sends them, and
 * their store is keyed by what callers send; /graphql refuses them with 400).
 */
export function apolloCaches(): Pick<ApolloServerOptions<BaseContext>, 'documentStore' | 'persistedQueries'> {
  return { documentStore: documentStore(), persistedQueries: false };
}
