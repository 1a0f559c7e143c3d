/**
 * Gatehouse's overhead on a tool call, measured against the direct path in the same run, once both
 * are warm (3,000 calls each first): 2,000 sequential calls of a trivial tool (server-everything's `echo`) over stdio and over Streamable
 * HTTP, and 16 concurrent HTTP clients. Gatehouse runs from dist/ (what `npm start` runs).
 *
 * Besides latency, each path's CPU time per call: the client's (this process), the server's, and
 * Gatehouse's own (its process tree minus the downstream server), read from /proc before and after
 * the measured calls. CPU time is the steadier measure on a shared machine.
 */
import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  benchDir,
  cpuMeter,
  everythingArgs,
  gatehouseBin,
  startEverythingHttp,
  startGatehouseHttp,
  writeConfig,
  type CpuPerCall,
} from './setup.js';
import { fmt, summarize, type Summary } from './stats.js';

const SEQUENTIAL = Number(process.env.BENCH_CALLS ?? 2000);
const CONCURRENT_CLIENTS = 16;
const PER_CLIENT = Number(process.env.BENCH_CONCURRENT_CALLS ?? 125);
/**
 * Calls on each path before anything is measured, spread over its clients. Node compiles the hot path
 * over the first few thousand calls: Gatehouse's CPU per call falls from about 2.5 times its settled
 * cost over the first 500 calls to it by about 3,000. What these calls cost is printed as "cold".
 */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3000);

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

/** One path of a comparison: the clients that call it, the tool name they call, the processes behind. */
interface Path {
  clients: Client[];
  tool: string;
  /** The Gatehouse process, whose own CPU time per call is measured. */
  gatehousePid?: number;
  /** A server that is not Gatehouse's child (HTTP), whose CPU time counts as the downstream's. */
  serverPid?: number;
}

interface Measured {
  latency: Summary;
  cpu: CpuPerCall;
  /** CPU per call over the warm-up calls, from a fresh process. */
  cold: CpuPerCall;
}

/**
 * Both paths warmed up, then measured one after the other with the same calls: `perClient` calls on
 * every client of a path at once (one client: sequential calls). Alternating the paths in rounds was
 * tried and charged each switch (a process waking from idle) to Gatehouse's percentiles.
 */
async function compare(direct: Path, gatehouse: Path, perClient: number) {
  const paths = [direct, gatehouse];
  const cold: CpuPerCall[] = [];
  for (const path of paths) {
    const cpu = cpuMeter(path.gatehousePid, path.serverPid);
    const each = Math.ceil(WARMUP / path.clients.length);
    await Promise.all(path.clients.map((c) => timeCalls(c, path.tool, each)));
    cold.push(cpu.perCall(each * path.clients.length));
  }
  const measured: Measured[] = [];
  for (const [i, path] of paths.entries()) {
    const cpu = cpuMeter(path.gatehousePid, path.serverPid);
    const start = performance.now();
    const all = (await Promise.all(path.clients.map((c) => timeCalls(c, path.tool, perClient)))).flat();
    const wall = performance.now() - start;
    measured.push({ cpu: cpu.perCall(all.length), latency: summarize(all, wall), cold: cold[i]! });
  }
  return { direct: measured[0]!, gatehouse: measured[1]! };
}

const connectMany = (url: string, n: number) =>
  Promise.all(Array.from({ length: n }, () => connect(new StreamableHTTPClientTransport(new URL(url)))));

function peakRssMb(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

export interface ProxyBenchRow {
  path: string;
  direct: Measured;
  gatehouse: Measured;
  gatehouseRssMb: number;
}

export async function benchProxy(): Promise<ProxyBenchRow[]> {
  const dir = benchDir();
  const rows: ProxyBenchRow[] = [];

  // stdio: client → server, and client → Gatehouse → server, both over stdio.
  {
    const directTransport = new StdioClientTransport({
      command: process.execPath,
      args: everythingArgs('stdio'),
      stderr: 'ignore',
    });
    const direct = await connect(directTransport);
    const config = writeConfig(dir, { command: process.execPath, args: everythingArgs('stdio') });
    const viaTransport = new StdioClientTransport({
      command: process.execPath,
      args: [gatehouseBin, 'serve', '--config', config],
      stderr: 'ignore',
    });
    const via = await connect(viaTransport);
    const measured = await compare(
      { clients: [direct], tool: 'echo', serverPid: directTransport.pid ?? undefined },
      { clients: [via], tool: 'everything__echo', gatehousePid: viaTransport.pid ?? undefined },
      SEQUENTIAL,
    );
    rows.push({
      path: `stdio, ${SEQUENTIAL} sequential calls`,
      ...measured,
      gatehouseRssMb: peakRssMb(viaTransport.pid ?? undefined),
    });
    await direct.close();
    await via.close();
  }

  // Streamable HTTP: client → server, and client → Gatehouse → server, both over HTTP.
  const server = await startEverythingHttp();
  const gatehouse = await startGatehouseHttp(writeConfig(dir, { url: server.url }));
  const serverPid = server.child.pid;
  const gatehousePid = gatehouse.child.pid;
  try {
    const [direct] = await connectMany(server.url, 1);
    const [via] = await connectMany(gatehouse.url, 1);
    const sequential = await compare(
      { clients: [direct!], tool: 'echo', serverPid },
      { clients: [via!], tool: 'everything__echo', gatehousePid, serverPid },
      SEQUENTIAL,
    );
    rows.push({
      path: `HTTP, ${SEQUENTIAL} sequential calls`,
      ...sequential,
      gatehouseRssMb: peakRssMb(gatehousePid),
    });
    await direct!.close();
    await via!.close();

    const directs = await connectMany(server.url, CONCURRENT_CLIENTS);
    const vias = await connectMany(gatehouse.url, CONCURRENT_CLIENTS);
    const concurrent = await compare(
      { clients: directs, tool: 'echo', serverPid },
      { clients: vias, tool: 'everything__echo', gatehousePid, serverPid },
      PER_CLIENT,
    );
    rows.push({
      path: `HTTP, ${CONCURRENT_CLIENTS} concurrent clients × ${PER_CLIENT} calls`,
      ...concurrent,
      gatehouseRssMb: peakRssMb(gatehousePid),
    });
    await Promise.all([...directs, ...vias].map((c) => c.close()));
  } finally {
    await gatehouse.stop();
    server.child.kill('SIGTERM');
  }
  return rows;
}

export function proxyTable(rows: ProxyBenchRow[]): string {
  const lines = [
    '| path | direct p50 ms | Gatehouse p50 ms | added p50 ms | direct p99 ms | Gatehouse p99 ms | p99 ratio | direct calls/s | Gatehouse calls/s | Gatehouse peak RSS MB |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { path, direct: d, gatehouse: g, gatehouseRssMb } of rows) {
    const [dl, gl] = [d.latency, g.latency];
    lines.push(
      `| ${path} | ${fmt(dl.p50)} | ${fmt(gl.p50)} | ${fmt(gl.p50 - dl.p50)} | ${fmt(dl.p99)} | ${fmt(gl.p99)} | ${fmt(gl.p99 / dl.p99, 2)}x | ${fmt(dl.perSecond, 0)} | ${fmt(gl.perSecond, 0)} | ${fmt(gatehouseRssMb, 0)} |`,
    );
  }
  return lines.join('\n');
}

/**
 * CPU time per call, in µs. "direct" is the client and the server of the direct path; Gatehouse's
 * own is its process tree's CPU minus its downstream's, and its ratio is against that direct cost.
 */
export function cpuTable(rows: ProxyBenchRow[]): string {
  const lines = [
    `| path | direct: client | direct: server | direct total | via: client | via: server | Gatehouse own | Gatehouse own ÷ direct total | Gatehouse own, first ${WARMUP} calls (cold) |`,
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { path, direct: d, gatehouse: g } of rows) {
    const directTotal = d.cpu.client + d.cpu.downstream;
    lines.push(
      `| ${path} | ${fmt(d.cpu.client, 0)} | ${fmt(d.cpu.downstream, 0)} | ${fmt(directTotal, 0)} | ${fmt(g.cpu.client, 0)} | ${fmt(g.cpu.downstream, 0)} | **${fmt(g.cpu.gatehouse, 0)}** | ${fmt(g.cpu.gatehouse / directTotal, 2)}x | ${fmt(g.cold.gatehouse, 0)} |`,
    );
  }
  return lines.join('\n');
}
