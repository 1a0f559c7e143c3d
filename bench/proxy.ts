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

/** One path of a comparison: the clients that call it and the tool name they call. */
interface Path {
  clients: Client[];
  tool: string;
  /** The Gatehouse process, whose CPU time per call is measured. */
  pid?: number;
}

/**
 * Both paths warmed up, then measured one after the other with the same calls: `perClient` calls on
 * every client of a path at once (one client: sequential calls). Alternating the paths in rounds was
 * tried and charged each switch (a process waking from idle) to Gatehouse's percentiles.
 */
async function compare(direct: Path, gatehouse: Path, perClient: number) {
  const paths = [direct, gatehouse];
  for (const path of paths) await Promise.all(path.clients.map((c) => timeCalls(c, path.tool, WARMUP)));
  const measured: Summary[] = [];
  let cpuUsPerCall = Number.NaN;
  for (const path of paths) {
    const cpuBefore = cpuMs(path.pid);
    const start = performance.now();
    const all = await Promise.all(path.clients.map((c) => timeCalls(c, path.tool, perClient)));
    measured.push(summarize(all.flat(), performance.now() - start));
    if (path.pid) cpuUsPerCall = ((cpuMs(path.pid) - cpuBefore) * 1000) / all.flat().length;
  }
  return { direct: measured[0]!, gatehouse: measured[1]!, gatehouseCpuUs: cpuUsPerCall };
}

/** User plus system CPU time of a process so far, from /proc (clock ticks of 10 ms). */
function cpuMs(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const connectMany = (url: string, n: number) =>
  Promise.all(Array.from({ length: n }, () => connect(new StreamableHTTPClientTransport(new URL(url)))));

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
  /** Gatehouse's CPU time per call: less sensitive to a noisy machine than latency. */
  gatehouseCpuUs: number;
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
    const {
      direct: d,
      gatehouse: g,
      gatehouseCpuUs,
    } = await compare(
      { clients: [direct], tool: 'echo' },
      { clients: [via], tool: 'everything__echo', pid: viaTransport.pid ?? undefined },
      SEQUENTIAL,
    );
    rows.push({
      path: `stdio, ${SEQUENTIAL} sequential calls`,
      direct: d,
      gatehouse: g,
      gatehouseRssMb: peakRssMb(viaTransport.pid ?? undefined),
      gatehouseCpuUs,
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
    const [direct] = await connectMany(directUrl, 1);
    const [via] = await connectMany(gatehouse.url, 1);
    const sequential = await compare(
      { clients: [direct!], tool: 'echo' },
      { clients: [via!], tool: 'everything__echo', pid: gatehouse.child.pid },
      SEQUENTIAL,
    );
    rows.push({
      path: `HTTP, ${SEQUENTIAL} sequential calls`,
      ...sequential,
      gatehouseRssMb: peakRssMb(gatehouse.child.pid),
    });
    await direct!.close();
    await via!.close();

    const directs = await connectMany(directUrl, CONCURRENT_CLIENTS);
    const vias = await connectMany(gatehouse.url, CONCURRENT_CLIENTS);
    const concurrent = await compare(
      { clients: directs, tool: 'echo' },
      { clients: vias, tool: 'everything__echo', pid: gatehouse.child.pid },
      PER_CLIENT,
    );
    rows.push({
      path: `HTTP, ${CONCURRENT_CLIENTS} concurrent clients × ${PER_CLIENT} calls`,
      ...concurrent,
      gatehouseRssMb: peakRssMb(gatehouse.child.pid),
    });
    await Promise.all([...directs, ...vias].map((c) => c.close()));
  } finally {
    gatehouse.child.kill('SIGTERM');
    server.kill('SIGTERM');
  }
  return rows;
}

export function proxyTable(rows: ProxyBenchRow[]): string {
  const lines = [
    '| path | direct p50 ms | Gatehouse p50 ms | added p50 ms | direct p99 ms | Gatehouse p99 ms | p99 ratio | direct calls/s | Gatehouse calls/s | Gatehouse CPU µs/call | Gatehouse peak RSS MB |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.path} | ${fmt(r.direct.p50)} | ${fmt(r.gatehouse.p50)} | ${fmt(r.gatehouse.p50 - r.direct.p50)} | ${fmt(r.direct.p99)} | ${fmt(r.gatehouse.p99)} | ${fmt(r.gatehouse.p99 / r.direct.p99, 2)}x | ${fmt(r.direct.perSecond, 0)} | ${fmt(r.gatehouse.perSecond, 0)} | ${fmt(r.gatehouseCpuUs, 0)} | ${fmt(r.gatehouseRssMb, 0)} |`,
    );
  }
  return lines.join('\n');
}
