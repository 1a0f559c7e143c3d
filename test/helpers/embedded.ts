import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { serve, type Gatehouse } from '../../src/main.js';
import { connectTestClient, type TestClient, type TestClientOptions } from './client.js';

/**
 * Gatehouse inside the test process, serving MCP over HTTP on a free port. What serve() returns is at
 * hand: tests decide approvals through `gatehouse.approvals`, the channel-neutral way every channel
 * uses, and read requests as stored.
 */
export interface EmbeddedGatehouse {
  gatehouse: Gatehouse;
  mcpUrl: string;
  /** An MCP client over Streamable HTTP, with `token` as its bearer token when given. */
  connect(options?: TestClientOptions & { token?: string }): Promise<TestClient>;
  /** Closes the clients it connected, then stops Gatehouse. */
  stop(): Promise<void>;
}

export async function startEmbeddedGatehouse(
  configFile: string,
  options: { logFile?: string } = {},
): Promise<EmbeddedGatehouse> {
  const config = loadConfig(configFile);
  // A log file keeps the test output readable; a spawned Gatehouse on the same config logs to stderr.
  const logger = createLogger({ level: config.log.level, file: options.logFile ?? config.log.file });
  const gatehouse = await serve({ config, logger, http: true });
  const mcpUrl = `${gatehouse.http!.url}/mcp`;
  const clients: TestClient[] = [];
  return {
    gatehouse,
    mcpUrl,
    async connect(options = {}) {
      const client = await connectHttpAs(mcpUrl, options);
      clients.push(client);
      return client;
    },
    async stop() {
      await Promise.allSettled(clients.map((c) => c.close()));
      await gatehouse.stop();
      logger.flush();
    },
  };
}

/** An MCP client over Streamable HTTP, with `token` as its bearer token when given. */
export function connectHttpAs(
  mcpUrl: string,
  { token, ...options }: TestClientOptions & { token?: string } = {},
) {
  const headers = token ? { authorization: `Bearer ${token}` } : undefined;
  return connectTestClient(
    new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers } }),
    options,
  );
}
