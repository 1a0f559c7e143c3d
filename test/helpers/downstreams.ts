import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { connectTestClient, type TestClient, type TestClientOptions } from './client.js';
import { EVERYTHING, REPO } from './paths.js';
import { freePort, isAlive, spawnProcess, type Spawned } from './processes.js';

export interface HttpDownstream extends Spawned {
  url: string;
}

/**
 * server-everything over HTTP: `streamableHttp` serves /mcp, `sse` serves the legacy /sse + /message
 * pair. Both take their port from PORT.
 */
export async function startEverythingHttp(mode: 'streamableHttp' | 'sse'): Promise<HttpDownstream> {
  const port = await freePort();
  const spawned = spawnProcess(process.execPath, [EVERYTHING, mode], { ...process.env, PORT: String(port) });
  await spawned.waitForStderr((line) => line.includes(`port ${port}`));
  return { ...spawned, url: `http://127.0.0.1:${port}/${mode === 'sse' ? 'sse' : 'mcp'}` };
}

/** A client straight to a server, without Gatehouse: the reference every transparency test compares to. */
export async function connectDirect(
  target: { command: string; args: string[] } | { url: string },
  options: TestClientOptions = {},
): Promise<TestClient> {
  options = { name: 'direct-client', ...options };
  if ('url' in target)
    return connectTestClient(new StreamableHTTPClientTransport(new URL(target.url)), options);
  const transport = new StdioClientTransport({ ...target, cwd: REPO, stderr: 'ignore' });
  const client = await connectTestClient(transport, options);
  return {
    ...client,
    // Most servers ignore the end of stdin, and the SDK then waits 2 s before it signals them.
    close: async () => {
      if (transport.pid && isAlive(transport.pid)) process.kill(transport.pid, 'SIGTERM');
      await client.close();
    },
  };
}
