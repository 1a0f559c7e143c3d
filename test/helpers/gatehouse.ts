import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { main } from '../../src/cli/index.js';
import type { GatehouseStatus } from '../../src/main.js';
import { connectTestClient, type TestClient, type TestClientOptions } from './client.js';
import { GATEHOUSE_BIN, REPO } from './paths.js';
import { eventually, runToExit, spawnProcess, type Spawned } from './processes.js';

export type Front = 'stdio' | 'http';

/** Every client-facing transport with every downstream transport: the matrix transparency runs over. */
export const TRANSPORT_MATRIX = [
  { front: 'stdio', downstream: 'stdio' },
  { front: 'stdio', downstream: 'http' },
  { front: 'http', downstream: 'stdio' },
  { front: 'http', downstream: 'http' },
] as const;

/** `node --import tsx src/cli/run.ts <args>`: the CLI from source. */
export const gatehouseArgs = (...args: string[]) => ['--import', 'tsx', GATEHOUSE_BIN, ...args];

/** The environment of a spawned Gatehouse: its own approval store unless the test pins one. */
export const spawnEnv = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
  ...process.env,
  GATEHOUSE_TEST_STORE: randomUUID(),
  ...env,
});

export const runGatehouseCli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runToExit(process.execPath, gatehouseArgs(...args), { ...process.env, ...env });

/** GET /status of a running Gatehouse. */
export async function fetchStatus(baseUrl: string): Promise<GatehouseStatus> {
  const response = await fetch(`${baseUrl}/status`);
  return (await response.json()) as GatehouseStatus;
}

/** `gatehouse status --url <baseUrl>`, run in this process: its exit code and the lines it printed. */
export async function statusCommand(baseUrl: string): Promise<{ code: number; lines: string[] }> {
  const out: string[] = [];
  const io = { out: (t: string) => void out.push(t), err: (t: string) => void out.push(t) };
  // The command sets process.exitCode on an unhealthy status; the test process keeps its own.
  const exitCode = process.exitCode;
  try {
    const code = await main(['node', 'gatehouse', 'status', '--url', baseUrl], io);
    return { code, lines: out.join('\n').split('\n') };
  } finally {
    process.exitCode = exitCode;
  }
}

/** The JSON lines of a pino log (Gatehouse's stderr), skipping anything else. */
export function logEntries(stderr: string): Record<string, unknown>[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * The first log entry that matches, waiting for it: a log line may trail the MCP result it
 * belongs to, because stderr and the MCP stream are separate pipes.
 */
export async function loggedEntry(
  stderr: () => string,
  match: (entry: Record<string, unknown>) => boolean,
  what: string,
): Promise<Record<string, unknown>> {
  const find = () => logEntries(stderr()).find(match);
  await eventually(() => find() !== undefined, what);
  return find()!;
}

export interface HttpGatehouse extends Spawned {
  /** `http://127.0.0.1:<port>`: /status and /healthz live here. */
  baseUrl: string;
  mcpUrl: string;
}

/** `gatehouse serve --http --port 0`, resolved once the "Gatehouse ready" line names its URL. */
export async function startHttpGatehouse(
  configFile: string,
  env: NodeJS.ProcessEnv = {},
  /**
   * No file it writes may grow past this (a soft `ulimit -f`): a full disk, for the files of this one
   * process. Its children inherit the limit; one may lift it (`ulimit -S -f unlimited`).
   */
  fileSizeLimitKiB?: number,
): Promise<HttpGatehouse> {
  const args = gatehouseArgs('serve', '--http', '--port', '0', '--config', configFile);
  const spawned =
    fileSizeLimitKiB === undefined
      ? spawnProcess(process.execPath, args, spawnEnv(env))
      : spawnProcess(
          'bash',
          ['-c', `ulimit -S -f ${fileSizeLimitKiB}; exec "$0" "$@"`, process.execPath, ...args],
          spawnEnv(env),
        );
  // A Gatehouse that never gets ready must not outlive the test (nor keep holding its store).
  const line = await spawned
    .waitForStderr((l) => l.includes('"msg":"Gatehouse ready'))
    .catch(async (error: unknown) => {
      await spawned.stop();
      throw error;
    });
  const mcpUrl = (JSON.parse(line) as { url: string }).url;
  return { ...spawned, mcpUrl, baseUrl: mcpUrl.replace(/\/mcp$/, '') };
}

export interface StdioGatehouse {
  client: TestClient;
  transport: StdioClientTransport;
  stderr(): string;
}

/** A client that launches Gatehouse on stdio, as Claude Desktop does. */
export async function connectStdioGatehouse(
  configFile: string,
  options: TestClientOptions = {},
  env: NodeJS.ProcessEnv = {},
): Promise<StdioGatehouse> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: gatehouseArgs('serve', '--config', configFile),
    cwd: REPO,
    env: spawnEnv(env) as Record<string, string>,
    stderr: 'pipe',
  });
  let stderr = '';
  (transport.stderr as Readable).setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const client = await connectTestClient(transport, options);
  return { client, transport, stderr: () => stderr };
}

export const connectHttp = (mcpUrl: string, options: TestClientOptions = {}) =>
  connectTestClient(new StreamableHTTPClientTransport(new URL(mcpUrl)), options);

export interface ConnectedHttpGatehouse extends HttpGatehouse {
  client: TestClient;
}

/** `startHttpGatehouse` with one client connected; `stop()` closes the client, then Gatehouse. */
export async function startConnectedHttpGatehouse(
  configFile: string,
  env: NodeJS.ProcessEnv = {},
): Promise<ConnectedHttpGatehouse> {
  const gatehouse = await startHttpGatehouse(configFile, env);
  const client = await connectHttp(gatehouse.mcpUrl).catch(async (error: unknown) => {
    await gatehouse.stop();
    throw error;
  });
  return {
    ...gatehouse,
    client,
    async stop(signal) {
      await client.close();
      return gatehouse.stop(signal);
    },
  };
}

/**
 * One Gatehouse behind either client transport. On HTTP every connect() opens a session on one
 * process; on stdio every connect() launches a Gatehouse of its own (there is one client per process).
 */
export interface GatehouseUnderTest {
  front: Front;
  connect(options?: TestClientOptions): Promise<TestClient>;
  logs(): string;
  stop(): Promise<void>;
}

export async function openGatehouse(
  front: Front,
  configFile: string,
  env: NodeJS.ProcessEnv = {},
): Promise<GatehouseUnderTest> {
  if (front === 'http') {
    const gatehouse = await startHttpGatehouse(configFile, env);
    const clients: TestClient[] = [];
    return {
      front,
      async connect(options) {
        const client = await connectHttp(gatehouse.mcpUrl, options);
        clients.push(client);
        return client;
      },
      logs: gatehouse.stderr,
      async stop() {
        await Promise.allSettled(clients.map((c) => c.close()));
        await gatehouse.stop();
      },
    };
  }
  const launched: StdioGatehouse[] = [];
  return {
    front,
    async connect(options) {
      const gatehouse = await connectStdioGatehouse(configFile, options, env);
      launched.push(gatehouse);
      return gatehouse.client;
    },
    logs: () => launched.map((g) => g.stderr()).join(''),
    async stop() {
      await Promise.allSettled(launched.map((g) => g.client.close()));
    },
  };
}
