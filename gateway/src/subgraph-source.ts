import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { Fetcher } from '@apollo/utils.fetcher';
import { API_KEY_HEADER } from '../../lib/auth/api-key.js';
import { CALLER_KEY_ID_HEADER } from '../../lib/http/service.js';
import type { Logger } from '../../lib/logging/logger.js';
import type { GatewayContext } from './context.js';

type GatewayGraphQLResponse = Awaited<ReturnType<RemoteGraphQLDataSource['process']>>;

interface HttpErrorExtensions {
  response?: { status?: number; body?: unknown };
}

/**
 * How the gateway talks to one subgraph: it sends that subgraph's own API key,
 * the caller's request id and the id of the key the caller presented here
 * (which the subgraph believes because the call carries its own key), and
 * turns transport failures into GraphQL errors that carry a 502 status and
 * name the service, so REST shims can answer the contract's envelope; where
 * the subgraph is goes to the log only. Errors the subgraph itself returns
 * pass through untouched.
 */
export class SubgraphSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    private readonly serviceName: string,
    url: string,
    private readonly apiKey: string,
    fetcher: Fetcher,
    private readonly log: Logger,
  ) {
    super({ url, fetcher });
  }

  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    request.http?.headers.set(API_KEY_HEADER, this.apiKey);
    const call = context as Partial<GatewayContext> | undefined;
    if (call?.requestId) request.http?.headers.set('x-request-id', call.requestId);
    if (call?.keyId) request.http?.headers.set(CALLER_KEY_ID_HEADER, call.keyId);
  }

  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<GatewayGraphQLResponse> {
    try {
      return await super.process(options);
    } catch (error) {
      const response = (error as { extensions?: HttpErrorExtensions }).extensions?.response;
      const body = response?.body as { errors?: GatewayGraphQLResponse['errors'] } | undefined;
      if (body && Array.isArray(body.errors) && body.errors.length > 0) return { errors: body.errors };
      const detail =
        response?.status === 403
          ? `The ${this.serviceName} service refused the gateway's API key (check the ${this.serviceName}serviceapikey secret).`
          : response?.status
            ? `The ${this.serviceName} service answered HTTP ${response.status}.`
            : `The ${this.serviceName} service is unreachable.`;
      this.log.warn({ subgraph: this.serviceName, url: this.url, status: response?.status, err: error }, 'subgraph call failed');
      return { errors: [{ message: detail, extensions: { code: 'SUBGRAPH_UNAVAILABLE', status: 502, detail, serviceName: this.serviceName } }] };
    }
  }
}
