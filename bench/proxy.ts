/**
 * Gatehouse's overhead on a tool call, measured against the direct path in the same run:
 * 2,000 sequential calls of a trivial tool (server-everything's `echo`) over stdio and over Streamable
 * HTTP, and 16 concurrent HTTP clients. Gatehouse runs from dist/ (what `npm start` runs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { fmt, summarize, type Summary } from './stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const everything = path.join(root, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const gatehouseBin = path.join(root, 'bin/gatehouse.js');
const SEQUENTIAL = Number(process.env.BENCH_CALLS ?? 2000);
const CONCURRENT_CLIENTS = 16;
const PER_CLIENT = Number(process.env.BENCH_CONCURRENT_CALLS ?? 125);
const WARMUP = 100;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForLine(child: ChildProcess, pattern: RegExp): Promise<string> {
  const lines = createInterface({ input: child.stderr! });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`process exited (${code}) before "${pattern}"`)));
    lines.on('line', (line) => {
      if (pattern.test(line)) resolve(line);
    });
  });
}

async function connect(transport: StdioClientTransport | StreamableHTTPClientTransport): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(transport);
  return client;
}

async function timeCalls(client: Client, tool: string, n: number): Promise<number[]> {
  const durations: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await client.callTool({ name: tool, arguments: { message: `m${i}` } });
    durations.push(performance.now() - start);
  }
  return durations;
}

async function sequential(client: Client, tool: string): Promise<Summary> {
  await timeCalls(client, tool, WARMUP);
  const start = performance.now();
  const durations = await timeCalls(client, tool, SEQUENTIAL);
  return summarize(durations, performance.now() - start);
}

async function concurrent(url: string, tool: string): Promise<Summary> {
  const clients = await Promise.all(
    Array.from({ length: CONCURRENT_CLIENTS }, () =>
      connect(new StreamableHTTPClientTransport(new URL(url))),
    ),
  );
  await Promise.all(clients.map((c) => timeCalls(c, tool, 10)));
  const start = performance.now();
  const all = await Promise.all(clients.map((c) => timeCalls(c, tool, PER_CLIENT)));
  const summary = summarize(all.flat(), performance.now() - start);
  await Promise.all(clients.map((c) => c.close()));
  return summary;
}

function peakRssMb(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

function writeConfig(dir: string, server: object): string {
  const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      mcpServers: { everything: server },
      log: { level: 'warn' },
      http: { port: 0 },
      // The overhead of a real decision: an explicit allow-all policy set, evaluated on every call.
      policies: path.join(root, 'fixtures/policies/allow-all'),
      approvals: { store: `${file}.store.json` },
    }),
  );
  return file;
}

async function startGatehouseHttp(config: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [gatehouseBin, 'serve', '--http', '--config', config, '--log-level', 'info'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const line = await waitForLine(child, /Gatehouse ready/);
  const url = (JSON.parse(line) as { url: string }).url;
  child.stderr!.resume();
  return { child, url };
}

export interface ProxyBenchRow {
  path: string;
  direct: Summary;
  gatehouse: Summary;
  gatehouseRssMb: number;
}

export async function benchProxy(): Promise<ProxyBenchRow[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-'));
  const rows: ProxyBenchRow[] = [];

  // stdio: client → server, and client → Gatehouse → server, both over stdio.
  {
    const direct = await connect(
      new StdioClientTransport({ command: process.execPath, args: [everything, 'stdio'], stderr: 'ignore' }),
    );
    const config = writeConfig(dir, { command: process.execPath, args: [everything, 'stdio'] });
    const viaTransport = new StdioClientTransport({
      command: process.execPath,
      args: [gatehouseBin, 'serve', '--config', config, '--log-level', 'info'],
      stderr: 'ignore',
    });
    const via = await connect(viaTransport);
    const d = await sequential(direct, 'echo');
    const g = await sequential(via, 'everything__echo');
    rows.push({
      path: `stdio, ${SEQUENTIAL} sequential calls`,
      direct: d,
      gatehouse: g,
      gatehouseRssMb: peakRssMb(viaTransport.pid ?? undefined),
    });
    await direct.close();
    await via.close();
  }

  // Streamable HTTP: client → server, and client → Gatehouse → server, both over HTTP.
  const port = await freePort();
  const server = spawn(process.execPath, [everything, 'streamableHttp'], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await waitForLine(server, /listening on port/i);
  server.stderr!.resume();
  const directUrl = `http://127.0.0.1:${port}/mcp`;
  const gatehouse = await startGatehouseHttp(writeConfig(dir, { url: directUrl }));
  try {
    const direct = await connect(new StreamableHTTPClientTransport(new URL(directUrl)));
    const via = await connect(new StreamableHTTPClientTransport(new URL(gatehouse.url)));
    const d = await sequential(direct, 'echo');
    const g = await sequential(via, 'everything__echo');
    rows.push({
      path: `HTTP, ${SEQUENTIAL} sequential calls`,
      direct: d,
      gatehouse: g,
      gatehouseRssMb: peakRssMb(gatehouse.child.pid),
    });
    await direct.close();
    await via.close();

    const dc = await concurrent(directUrl, 'echo');
    const gc = await concurrent(gatehouse.url, 'everything__echo');
    rows.push({
      path: `HTTP, ${CONCURRENT_CLIENTS} concurrent clients × ${PER_CLIENT} calls`,
      direct: dc,
      gatehouse: gc,
      gatehouseRssMb: peakRssMb(gatehouse.child.pid),
    });
  } finally {
    gatehouse.child.kill('SIGTERM');
    server.kill('SIGTERM');
  }
  return rows;
}

export function proxyTable(rows: ProxyBenchRow[]): string {
  const lines = [
    '| path | direct p50 ms | Gatehouse p50 ms | added p50 ms | direct p99 ms | Gatehouse p99 ms | p99 ratio | direct calls/s | Gatehouse calls/s | Gatehouse peak RSS MB |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.path} | ${fmt(r.direct.p50)} | ${fmt(r.gatehouse.p50)} | ${fmt(r.gatehouse.p50 - r.direct.p50)} | ${fmt(r.direct.p99)} | ${fmt(r.gatehouse.p99)} | ${fmt(r.gatehouse.p99 / r.direct.p99, 2)}x | ${fmt(r.direct.perSecond, 0)} | ${fmt(r.gatehouse.perSecond, 0)} | ${fmt(r.gatehouseRssMb, 0)} |`,
    );
  }
  return lines.join('\n');
}
