/**
 * What the proxy benchmark and the profiler share: Gatehouse from dist/ with an allow-all policy set,
 * server-everything as the downstream, clients of either protocol era, and CPU time read from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { modernHttpClient, modernStdioClient } from '../test/helpers/modernClient.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const everything = path.join(
  root,
  'node_modules/@modelcontextprotocol/server-everything/dist/index.js',
);
/** Gatehouse as `npm start` runs it; BENCH_GATEHOUSE names another build's bin/gatehouse.js (before/after). */
export const gatehouseBin = process.env.BENCH_GATEHOUSE ?? path.join(root, 'bin/gatehouse.js');

/** The builds a benchmark compares side by side: this one, then those BENCH_BASELINE names. */
export const benchBuilds = (): string[] => [
  gatehouseBin,
  ...(process.env.BENCH_BASELINE?.split(',').filter(Boolean) ?? []),
];

/** A build as a table names it. */
export const buildName = (bin: string): string => (bin === gatehouseBin ? 'this build' : bin);

export const everythingArgs = (transport: 'stdio' | 'streamableHttp') => [everything, transport];

export const benchDir = () => mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-'));

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function waitForLine(child: ChildProcess, pattern: RegExp): Promise<string> {
  const lines = createInterface({ input: child.stderr! });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`process exited (${code}) before "${pattern}"`)));
    lines.on('line', (line) => {
      if (pattern.test(line)) resolve(line);
    });
  });
}

/**
 * A Gatehouse config as a user would write it for one server, with the defaults otherwise (the audit
 * trail on): log level warn, and an explicit allow-all policy set evaluated on every call.
 */
export function writeConfig(dir: string, server: object): string {
  // A folder each: the audit log beside the config is one Gatehouse's.
  const file = path.join(mkdtempSync(path.join(dir, 'gatehouse-')), 'config.json');
  writeFileSync(
    file,
    JSON.stringify({
      mcpServers: { everything: server },
      log: { level: 'warn' },
      http: { port: 0 },
      policies: path.join(root, 'fixtures/policies/allow-all'),
      approvals: { store: `${file}.store.json` },
    }),
  );
  return file;
}

export async function startEverythingHttp(): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort();
  const child = spawn(process.execPath, everythingArgs('streamableHttp'), {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await waitForLine(child, /listening on port/i);
  child.stderr!.resume();
  return { child, url: `http://127.0.0.1:${port}/mcp` };
}

export async function startGatehouseHttp(
  config: string,
  nodeArgs: string[] = [],
  bin = gatehouseBin,
): Promise<{ child: ChildProcess; url: string; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    // info: the ready line, which carries the URL, is logged at info.
    [...nodeArgs, bin, 'serve', '--http', '--config', config, '--log-level', 'info'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const line = await waitForLine(child, /Gatehouse ready/);
  const url = (JSON.parse(line) as { url: string }).url;
  child.stderr!.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** User plus system CPU time of one process so far, in µs (from clock ticks of 10 ms). */
export function processCpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** The pid and its descendants, found through /proc's parent links. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const parent = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // The process ended while /proc was read.
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]!) ?? []));
  return tree;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/**
 * CPU meters for one measured stretch: Gatehouse's own (its process tree minus its downstream
 * servers, which run server-everything), the downstream's, and this process's (the client's).
 */
export function cpuMeter(gatehousePid: number | undefined, downstreamPid?: number) {
  const gatehouse = () => {
    if (gatehousePid === undefined) return { own: 0, downstream: 0 };
    let own = 0;
    let downstream = 0;
    for (const pid of processTree(gatehousePid)) {
      const us = processCpuUs(pid);
      if (pid !== gatehousePid && commandLine(pid).includes(everything)) downstream += us;
      else own += us;
    }
    return { own, downstream };
  };
  const read = () => {
    const g = gatehouse();
    const { user, system } = process.cpuUsage();
    return {
      gatehouse: g.own,
      downstream: g.downstream + (downstreamPid ? processCpuUs(downstreamPid) : 0),
      client: user + system,
    };
  };
  const start = read();
  return {
    /** CPU µs spent since the meter started, per call. */
    perCall(calls: number) {
      const end = read();
      return {
        gatehouse: (end.gatehouse - start.gatehouse) / calls,
        downstream: (end.downstream - start.downstream) / calls,
        client: (end.client - start.client) / calls,
      };
    },
  };
}

export type CpuPerCall = ReturnType<ReturnType<typeof cpuMeter>['perCall']>;

/**
 * The protocol eras a client may speak to Gatehouse. 2025-11-25 is the SDK v1 Client; 2026-07-28 is
 * the raw client the tests use (no initialize, the `_meta` envelope on every request, the standard
 * headers over HTTP).
 */
export const ERAS = ['2025-11-25', '2026-07-28'] as const;
export type Era = (typeof ERAS)[number];

/** The eras BENCH_ERAS names (comma-separated), both unless it is set. */
export function benchEras(): Era[] {
  const named = process.env.BENCH_ERAS?.split(',').filter(Boolean) ?? [...ERAS];
  for (const era of named)
    if (!(ERAS as readonly string[]).includes(era))
      throw new Error(`BENCH_ERAS: unknown era "${era}" (known: ${ERAS.join(', ')})`);
  return named as Era[];
}

/** A client of either era, as the benchmarks call it: one tool call with a message. */
export interface Caller {
  /** Calls `tool` with `{ message }`; throws when the call fails or answers an error result. */
  callTool(tool: string, message: string): Promise<void>;
  close(): Promise<void>;
  /** stdio: the process the client spawned. */
  pid?: number;
}

/** Where a client connects: a process it spawns and speaks to on stdio, or a Streamable HTTP URL. */
export type Target = { command: string; args: string[] } | { url: string };

function checked(tool: string, result: object): void {
  if ('isError' in result && result.isError)
    throw new Error(`${tool} answered an error result: ${JSON.stringify(result)}`);
}

async function legacyCaller(target: Target): Promise<Caller> {
  const client = new Client({ name: 'bench', version: '1' });
  const transport =
    'url' in target
      ? new StreamableHTTPClientTransport(new URL(target.url))
      : new StdioClientTransport({ ...target, stderr: 'ignore' });
  await client.connect(transport);
  return {
    pid: transport instanceof StdioClientTransport ? (transport.pid ?? undefined) : undefined,
    callTool: async (tool, message) =>
      checked(tool, await client.callTool({ name: tool, arguments: { message } })),
    close: () => client.close(),
  };
}

function modernCaller(target: Target): Caller {
  const client =
    'url' in target
      ? modernHttpClient(target.url)
      : modernStdioClient(target.command, target.args, process.env);
  return {
    pid: client.pid,
    callTool: async (tool, message) =>
      checked(tool, (await client.call('tools/call', { name: tool, arguments: { message } })) as object),
    close: () => client.close(),
  };
}

/** A client of `era` connected to `target`. */
export async function connectCaller(era: Era, target: Target): Promise<Caller> {
  return era === '2026-07-28' ? modernCaller(target) : legacyCaller(target);
}

/** A client connected to a Gatehouse that runs one server-everything, and what measuring it needs. */
export interface ThroughGatehouse {
  client: Caller;
  era: Era;
  /** The Gatehouse process. */
  pid: number;
  /** The downstream server, when it is not Gatehouse's child (HTTP). */
  serverPid?: number;
  stop(): Promise<void>;
}

/**
 * A Gatehouse on stdio (its downstream a child of its own), or on HTTP in front of `server` (a
 * server-everything on Streamable HTTP), with a client of `era` (2025-11-25 unless given) connected
 * to it.
 */
export async function throughGatehouse(
  dir: string,
  options: { bin?: string; nodeArgs?: string[]; server?: { url: string; pid: number }; era?: Era } = {},
): Promise<ThroughGatehouse> {
  const { bin = gatehouseBin, nodeArgs = [], server, era = '2025-11-25' } = options;
  if (!server) {
    const config = writeConfig(dir, { command: process.execPath, args: everythingArgs('stdio') });
    const client = await connectCaller(era, {
      command: process.execPath,
      args: [...nodeArgs, bin, 'serve', '--config', config],
    });
    return { client, era, pid: client.pid!, stop: () => client.close() };
  }
  const gatehouse = await startGatehouseHttp(writeConfig(dir, { url: server.url }), nodeArgs, bin);
  const client = await connectCaller(era, { url: gatehouse.url });
  return {
    client,
    era,
    pid: gatehouse.child.pid!,
    serverPid: server.pid,
    stop: async () => {
      await client.close();
      await gatehouse.stop();
    },
  };
}

/** `n` sequential allowed calls of the echo tool: through Gatehouse by default, `echo` directly. */
export async function echoCalls(client: Caller, n: number, tool = 'everything__echo'): Promise<void> {
  for (let i = 0; i < n; i++) await client.callTool(tool, `m${i}`);
}

/** echoCalls, and the CPU (user + system, µs) this process spent on them: the client's share of the calls. */
export async function echoCallsCpuUs(client: Caller, n: number, tool?: string): Promise<number> {
  const start = process.cpuUsage();
  await echoCalls(client, n, tool);
  const { user, system } = process.cpuUsage(start);
  return user + system;
}
