import type https from 'node:https';
import { AppError } from '../../errors.js';
import { networkReason, unreachable } from '../failures.js';
import { httpsRequest, jsonBody, type HttpAnswer } from './http.js';
import type { TokenSource } from './token.js';

/** A column as Unity Catalog's TableInfo describes it (`position` 0-based). */
export interface UcColumn {
  name: string;
  type_name?: string;
  type_text?: string;
  type_precision?: number;
  type_scale?: number;
  position?: number;
  nullable?: boolean;
  comment?: string;
}

/** The parts of Unity Catalog's TableInfo the connector reads. */
export interface UcTable {
  name: string;
  comment?: string;
  table_type?: string;
  data_source_format?: string;
  columns?: UcColumn[];
  table_constraints?: Array<{ primary_key_constraint?: { name?: string; child_columns?: string[] } }>;
  /** Described because the request asked include_browse: the principal may see its metadata, not read it. */
  browse_only?: boolean;
}

export interface UnityCatalogTarget {
  origin: string;
  where: string;
  /** The connector's agent (SOURCE_ALLOWED_HOSTS, trusted CAs). */
  agent: https.Agent;
  timeoutMs: number;
  /** Called with every request path (for debugging and tests). */
  onRequest?: ((path: string) => void) | undefined;
}

/** A path segment: a dotted full name stays readable, anything else is escaped. */
const segment = (name: string) => encodeURIComponent(name);

/**
 * The Unity Catalog REST API (`/api/2.1/unity-catalog/…`) with the service
 * principal's bearer token. A 401 (a token revoked or expired early) drops the
 * token and retries once with a new one.
 */
export class UnityCatalog {
  constructor(
    private readonly target: UnityCatalogTarget,
    private readonly tokens: TokenSource,
  ) {}

  private async get(path: string): Promise<HttpAnswer> {
    const { target } = this;
    for (let attempt = 1; ; attempt++) {
      const token = await this.tokens.get();
      target.onRequest?.(path);
      let answer: HttpAnswer;
      try {
        answer = await httpsRequest({
          method: 'GET',
          url: new URL(path, target.origin),
          headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
          agent: target.agent,
          timeoutMs: target.timeoutMs,
        });
      } catch (error) {
        if (error instanceof AppError) throw error;
        throw unreachable(target.where, networkReason(error) ?? `Unity Catalog request failed (${(error as Error).message})`, error);
      }
      if (answer.status === 401 && attempt === 1) {
        this.tokens.invalidate(token);
        continue;
      }
      return answer;
    }
  }

  /** Unity Catalog's own message for a failed call, without anything that looks like a token. */
  private failure(answer: HttpAnswer, what: string): AppError {
    const body = jsonBody(answer) as { error_code?: unknown; message?: unknown } | undefined;
    const code = typeof body?.error_code === 'string' ? `${body.error_code}: ` : '';
    const message = typeof body?.message === 'string' ? body.message.replace(/\b(Bearer|Basic)\s+\S+/gi, '$1 …').slice(0, 300) : `HTTP ${answer.status}`;
    const detail = `Unity Catalog on the ${this.target.where} refused to ${what}: ${code}${message}`;
    if (answer.status === 401) return new AppError('SOURCE_AUTH_FAILED', `${detail} (the OAuth token was refused twice).`);
    if (answer.status === 403) return new AppError('SOURCE_AUTH_FAILED', `${detail} (the service principal lacks the privilege).`);
    return new AppError('SOURCE_QUERY_FAILED', `${detail}.`);
  }

  /** The schema's SchemaInfo, or undefined when Unity Catalog has no such schema (404). */
  async schema(catalog: string, schema: string): Promise<{ name?: string; comment?: string } | undefined> {
    const answer = await this.get(`/api/2.1/unity-catalog/schemas/${segment(`${catalog}.${schema}`)}`);
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw this.failure(answer, `describe schema '${catalog}.${schema}'`);
    return jsonBody(answer) as { name?: string; comment?: string };
  }

  /**
   * Every table and view of a schema, reading `next_page_token` pages until
   * none is left (a page may be empty and still have a successor). Columns
   * are left out of the listing (`omit_columns`): they come with each table.
   */
  async tables(catalog: string, schema: string): Promise<UcTable[]> {
    const all: UcTable[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < 100_000; page++) {
      const query = new URLSearchParams({ catalog_name: catalog, schema_name: schema, max_results: '0', omit_columns: 'true', omit_properties: 'true' });
      if (pageToken) query.set('page_token', pageToken);
      const answer = await this.get(`/api/2.1/unity-catalog/tables?${query}`);
      if (answer.status === 404) throw new AppError('SCHEMA_NOT_FOUND', `Schema '${schema}' not found in catalog '${catalog}' on the ${this.target.where}.`);
      if (answer.status !== 200) throw this.failure(answer, `list the tables of '${catalog}.${schema}'`);
      const body = jsonBody(answer) as { tables?: UcTable[]; next_page_token?: string } | undefined;
      all.push(...(body?.tables ?? []));
      pageToken = body?.next_page_token || undefined;
      if (!pageToken) return all;
    }
    throw new AppError('SOURCE_QUERY_FAILED', `Unity Catalog on the ${this.target.where} kept answering more pages of tables.`);
  }

  /** One table's TableInfo with its columns and constraints, or undefined when it does not exist (404). */
  async table(catalog: string, schema: string, table: string): Promise<UcTable | undefined> {
    const answer = await this.get(`/api/2.1/unity-catalog/tables/${segment(`${catalog}.${schema}.${table}`)}?include_browse=true`);
    if (answer.status === 404) return undefined;
    if (answer.status !== 200) throw this.failure(answer, `describe table '${catalog}.${schema}.${table}'`);
    return jsonBody(answer) as UcTable;
  }
}
