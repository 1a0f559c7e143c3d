import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectTestClient, type TestClient } from '../helpers/client.js';
import { resultText } from '../helpers/compare.js';
import { everythingStdio, gatehouseConfig, scratchDir } from '../helpers/config.js';
import { startHttpGatehouse, type HttpGatehouse } from '../helpers/gatehouse.js';

/**
 * The spec lets a Streamable HTTP client skip the GET stream. Requests and logs a downstream sends
 * during a call must then travel on that call's own response stream, or the client never sees them.
 */
const scratch = scratchDir('no-get');
let gatehouse: HttpGatehouse;
let client: TestClient;
let gets = 0;

beforeAll(async () => {
  gatehouse = await startHttpGatehouse(
    scratch.write(
      'config.json',
      gatehouseConfig({ everything: everythingStdio() }, { timeouts: { callMs: 10_000 } }),
    ),
  );
  // A client that never holds a GET stream: the server is told GET is not allowed.
  const fetchWithoutGet: typeof fetch = async (input, init) => {
    if ((init?.method ?? 'GET') === 'GET') {
      gets += 1;
      return new Response(null, { status: 405 });
    }
    return fetch(input, init);
  };
  client = await connectTestClient(
    new StreamableHTTPClientTransport(new URL(gatehouse.mcpUrl), { fetch: fetchWithoutGet }),
  );
});

afterAll(async () => {
  await client?.close();
  await gatehouse?.stop();
  scratch.remove();
});

it('a sampling request during a call reaches a client that has no GET stream', async () => {
  const result = await client.client.callTool({
    name: 'everything__trigger-sampling-request',
    arguments: { prompt: 'Say hello', maxTokens: 20 },
  });
  expect(gets).toBeGreaterThan(0);
  expect(resultText(result)).toContain('test-model');
  // The downstream may also ask for roots around the same time; order between the two is not ours.
  expect(client.serverRequests.map((r) => r.method)).toContain('sampling/createMessage');
});
