import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultText } from '../helpers/compare.js';
import { gatehouseConfig, scratchDir } from '../helpers/config.js';
import {
  fetchStatus,
  startConnectedHttpGatehouse,
  type ConnectedHttpGatehouse,
} from '../helpers/gatehouse.js';
import { EVERYTHING } from '../helpers/paths.js';
import { eventually, freePort, spawnProcess, type Spawned } from '../helpers/processes.js';

/**
 * An HTTP downstream that goes away and comes back as a new process, which forgets every session.
 * Over HTTP nothing tells Gatehouse the server died, as a child's exit does over stdio: a failed
 * request, a broken stream or a refused session must, and Gatehouse must reconnect on its own.
 */

const scratch = scratchDir('http-downstream-restart');

/** server-everything's two HTTP modes: Streamable HTTP, and the legacy SSE transport Gatehouse falls back to. */
describe.each([
  { mode: 'streamableHttp', path: '/mcp', type: 'http' },
  { mode: 'sse', path: '/sse', type: 'sse' },
] as const)('an HTTP downstream ($mode) that restarts', ({ mode, path, type }) => {
  let port: number;
  let server: Spawned;
  let gatehouse: ConnectedHttpGatehouse;

  async function startServer(): Promise<Spawned> {
    const spawned = spawnProcess(process.execPath, [EVERYTHING, mode], {
      ...process.env,
      PORT: String(port),
    });
    await spawned.waitForStderr((line) => line.includes(`port ${port}`));
    return spawned;
  }

  const echo = (message: string) =>
    gatehouse.client.client.callTool({
      name: 'everything__echo',
      arguments: { message },
    }) as Promise<CallToolResult>;
  const serverStatus = async () => (await fetchStatus(gatehouse.baseUrl)).servers[0]!;

  beforeAll(async () => {
    port = await freePort();
    server = await startServer();
    const config = gatehouseConfig({ everything: { type, url: `http://127.0.0.1:${port}${path}` } });
    gatehouse = await startConnectedHttpGatehouse(scratch.write(`${mode}.json`, config));
  });
  afterAll(async () => {
    await gatehouse?.stop();
    await server?.stop();
  });

  it('while down, a call fails clearly and at once; once back, clients hear list_changed and calls work', async () => {
    expect(resultText(await echo('before'))).toBe('Echo: before');
    const fresh = gatehouse.client.fromNow();
    const { restarts } = await serverStatus();

    await server.stop();
    // Either the call finds the connection still up and fails on it, or Gatehouse has already seen
    // the server go (the legacy event stream breaks at once) and says which server is down. Never a
    // hang, never "not found", never an opaque internal error: a tool error the model can read.
    const failed = await echo('while down');
    expect(failed.isError).toBe(true);
    expect(resultText(failed)).toMatch(
      /^Gatehouse: (server "everything" |everything__echo is unavailable: its server "everything" has been down)/,
    );
    await eventually(async () => (await serverStatus()).state !== 'ready', 'status shows it is not ready');
    expect((await serverStatus()).lastError).toBeTruthy();

    server = await startServer();
    await gatehouse.client.waitForNotification('notifications/tools/list_changed', fresh);
    await eventually(async () => (await serverStatus()).state === 'ready', 'it is ready again');
    expect((await serverStatus()).restarts).toBeGreaterThan(restarts);
    expect(resultText(await echo('after'))).toBe('Echo: after');
  });

  it('a restart between two calls is noticed without a call, and the next call works', async () => {
    const { restarts } = await serverStatus();
    await server.stop();
    server = await startServer();
    // The event stream breaks with the old process: Gatehouse starts over rather than reopen it into
    // a session the new process never heard of (Streamable HTTP: the session is refused; legacy SSE:
    // the stream's error).
    await eventually(
      async () => {
        const now = await serverStatus();
        return now.state === 'ready' && now.restarts > restarts;
      },
      'Gatehouse reconnected',
      20_000,
    );
    expect(resultText(await echo('after a silent restart'))).toBe('Echo: after a silent restart');
  });
});

afterAll(() => scratch.remove());
