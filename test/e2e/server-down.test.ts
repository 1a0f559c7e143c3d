import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultText as text } from '../helpers/compare.js';
import { fixtureServer, gatehouseConfig, scratchDir } from '../helpers/config.js';
import {
  fetchStatus,
  startConnectedHttpGatehouse,
  type ConnectedHttpGatehouse,
} from '../helpers/gatehouse.js';
import { eventually, freePort } from '../helpers/processes.js';

/**
 * What Gatehouse says about a server that is down: why it could not connect, in words that point the
 * right way, and, to a model calling one of its tools, which server is down and since when.
 */

const scratch = scratchDir('server-down');
let gatehouse: ConnectedHttpGatehouse;
let refusedUrl: string;

beforeAll(async () => {
  refusedUrl = `http://127.0.0.1:${await freePort()}/mcp`;
  const config = scratch.write(
    'config.json',
    gatehouseConfig(
      { refused: { url: refusedUrl }, crashy: fixtureServer('crashy') },
      // A crashed server stays down for the length of the test.
      { restart: { initialDelayMs: 120_000, maxDelayMs: 120_000 } },
    ),
  );
  gatehouse = await startConnectedHttpGatehouse(config);
});
afterAll(async () => {
  await gatehouse?.stop();
  scratch.remove();
});

const server = async (name: string) =>
  (await fetchStatus(gatehouse.baseUrl)).servers.find((s) => s.name === name)!;

describe('an HTTP server that refuses the connection', () => {
  it('is reported as a refused connection at its URL, not as a command that exited', async () => {
    const refused = await server('refused');
    expect(refused.state).toBe('failed');
    expect(refused.lastError).toContain(`POST to ${refusedUrl} failed: connection refused`);
    expect(refused.lastError).toContain('ECONNREFUSED');
    expect(refused.lastError).not.toMatch(/did the command exit/);
  });
});

describe('a tool whose server is down', () => {
  it('answers a tool error naming the server, its state and its last error, not "not found"', async () => {
    const call = (name: string) => gatehouse.client.client.callTool({ name, arguments: { message: 'hi' } });
    expect(text(await call('crashy__echo'))).toBe('hi');
    await call('crashy__crash');
    await eventually(async () => (await server('crashy')).state === 'restarting', 'crashy is down');

    const result = await call('crashy__echo');
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(
      /^Gatehouse: crashy__echo is unavailable: its server "crashy" has been down since \S+Z \(restarting; last error: .+\)/,
    );
    expect(result._meta).toMatchObject({
      'gatehouse/error': { code: 'DOWNSTREAM_UNAVAILABLE', server: 'crashy', state: 'restarting' },
    });
    // A name no server ever listed is still unknown.
    await expect(call('crashy__nothing')).rejects.toThrow(/Tool crashy__nothing not found/);
  });
});
