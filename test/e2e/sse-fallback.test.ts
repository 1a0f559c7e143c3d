import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ConnectionStatus } from '../../src/downstream/connection.js';
import { connectTestClient, type TestClient } from '../helpers/client.js';
import { asExposed, fromServer } from '../helpers/compare.js';
import { gatehouseConfig, scratchDir } from '../helpers/config.js';
import { startEverythingHttp, type HttpDownstream } from '../helpers/downstreams.js';
import { connectHttp, startHttpGatehouse, type HttpGatehouse } from '../helpers/gatehouse.js';

/** A downstream that only speaks the legacy SSE transport is reached by falling back from Streamable HTTP. */

const scratch = scratchDir('sse');
let server: HttpDownstream;
let gatehouse: HttpGatehouse;
let via: TestClient;
let direct: TestClient;

beforeAll(async () => {
  server = await startEverythingHttp('sse');
  // No "type": Gatehouse tries Streamable HTTP first, as for any URL.
  gatehouse = await startHttpGatehouse(
    scratch.write('config.json', gatehouseConfig({ legacy: { url: server.url } })),
  );
  [via, direct] = await Promise.all([
    connectHttp(gatehouse.mcpUrl),
    connectTestClient(new SSEClientTransport(new URL(server.url)), { name: 'direct-client' }),
  ]);
});
afterAll(async () => {
  await Promise.allSettled([via?.close(), direct?.close()]);
  await gatehouse?.stop();
  await server?.stop();
  scratch.remove();
});

it('connects over SSE after Streamable HTTP is refused', async () => {
  const status = (await (await fetch(`${gatehouse.baseUrl}/status`)).json()) as {
    servers: ConnectionStatus[];
  };
  expect(status.servers).toEqual([
    expect.objectContaining({ name: 'legacy', state: 'ready', transport: 'sse' }),
  ]);
});

it('lists and calls tools as directly', async () => {
  const [{ tools }, own] = await Promise.all([via.client.listTools(), direct.client.listTools()]);
  expect(fromServer(tools, 'legacy__')).toEqual(asExposed(own.tools, 'legacy__'));
  const args = { name: 'get-structured-content', arguments: { location: 'Chicago' } };
  const [through, reference] = await Promise.all([
    via.client.callTool({ ...args, name: `legacy__${args.name}` }),
    direct.client.callTool(args),
  ]);
  expect(through).toEqual(reference);
});
