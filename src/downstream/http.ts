import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import type { FetchLike, Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Agent, fetch as undiciFetch } from 'undici';
import type { HttpServerConfig } from '../config/schema.js';
import { undici } from '../shared/undici.js';
import { NodeStreamableHttpClientTransport, type StreamableHttpTransportOptions } from './httpTransport.js';

/**
 * One keep-alive pool for all HTTP downstreams: connection reuse is most of the proxy's HTTP cost.
 * Made with the first HTTP downstream, so that a Gatehouse without any never loads undici.
 */
let pool: Agent | undefined;
const dispatcher = (): Agent =>
  (pool ??= new (undici().Agent)({ keepAliveTimeout: 30_000, connections: 64, pipelining: 1 }));

const pooledFetch: FetchLike = (url, init) =>
  undici().fetch(url, { ...(init as object), dispatcher: dispatcher() } as Parameters<
    typeof undiciFetch
  >[1]) as unknown as Promise<Response>;

export type HttpTransportKind = 'streamable-http' | 'sse';

export function createHttpTransport(
  config: HttpServerConfig,
  kind: HttpTransportKind,
  headersFor?: StreamableHttpTransportOptions['headersFor'],
): Transport {
  const url = new URL(config.url);
  const headers = { ...config.headers };
  // Streamable HTTP carries every call, so it runs on undici's request() rather than fetch.
  return kind === 'sse'
    ? new SSEClientTransport(url, { requestInit: { headers }, fetch: pooledFetch })
    : new NodeStreamableHttpClientTransport(url, { headers, dispatcher: dispatcher(), headersFor });
}

/** The order in which transports are tried: Streamable HTTP first, SSE when the server only speaks that. */
export function transportOrder(config: HttpServerConfig): HttpTransportKind[] {
  return config.type === 'sse' ? ['sse'] : ['streamable-http', 'sse'];
}

/**
 * Whether a failed Streamable HTTP attempt means "this server predates Streamable HTTP": the spec's
 * backwards-compatibility rule is to fall back on a 4xx answer to the initialize POST.
 */
export function shouldFallBackToSse(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'number' && code >= 400 && code < 500 && code !== 401 && code !== 403;
}
