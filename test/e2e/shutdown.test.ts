import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, expect, it } from 'vitest';
import type { ConnectionStatus } from '../../src/downstream/connection.js';
import type { TestClient } from '../helpers/client.js';
import { everythingStdio, fixtureServer, gatehouseConfig, scratchDir } from '../helpers/config.js';
import { connectHttp, connectStdioGatehouse, startHttpGatehouse } from '../helpers/gatehouse.js';
import { eventually, isAlive } from '../helpers/processes.js';

/** Stopping Gatehouse ends every downstream process group: children and their children. */

const scratch = scratchDir('shutdown');
afterAll(() => scratch.remove());

const config = () =>
  scratch.write(
    'config.json',
    gatehouseConfig({ forks: fixtureServer('forks'), everything: everythingStdio() }),
  );

async function forkPids(client: TestClient): Promise<number[]> {
  const result = (await client.client.callTool({ name: 'forks__pids', arguments: {} })) as CallToolResult;
  const { pid, grandchild } = JSON.parse((result.content[0] as { text: string }).text) as Record<
    string,
    number
  >;
  return [pid!, grandchild!];
}

it('SIGTERM to an HTTP Gatehouse ends its children and grandchildren', async () => {
  const gatehouse = await startHttpGatehouse(config());
  const client = await connectHttp(gatehouse.mcpUrl);
  const status = (await (await fetch(`${gatehouse.baseUrl}/status`)).json()) as {
    servers: ConnectionStatus[];
  };
  const pids = [...status.servers.map((s) => s.pid!), ...(await forkPids(client))];
  expect(pids).toHaveLength(4);
  expect(pids.every(isAlive)).toBe(true);

  await client.close();
  expect(await gatehouse.stop('SIGTERM')).toBe(0);
  await eventually(() => !pids.some(isAlive), `pids ${pids.join(', ')} are gone`, 5_000);
});

it('a stdio Gatehouse whose client goes away ends its children and grandchildren', async () => {
  const gatehouse = await connectStdioGatehouse(config());
  const pids = [gatehouse.transport.pid!, ...(await forkPids(gatehouse.client))];
  expect(pids.every(isAlive)).toBe(true);

  await gatehouse.client.close();
  await eventually(() => !pids.some(isAlive), `pids ${pids.join(', ')} are gone`, 5_000);
});
