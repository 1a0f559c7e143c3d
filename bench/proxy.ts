/**
 * Gatehouse's overhead on a tool call, measured against the direct path in the same run, once both
 * are warm (3,000 calls each first): 2,000 sequential calls of a trivial tool (server-everything's `echo`) over stdio and over Streamable
 * HTTP, and 16 concurrent HTTP clients, by a client of each protocol era (BENCH_ERAS narrows them).
 * Gatehouse runs from dist/ (what `npm start` runs).
 *
 * Besides latency, each path's CPU time per call: the client's (this process), the server's, and
 * Gatehouse's own (its process tree minus the downstream server), read from /proc before and after
 * the measured calls. CPU time is the steadier measure on a shared machine.
 */
import { readFileSync } from 'node:fs';
import {
  benchDir,
  benchEras,
  connectCaller,
  cpuMeter,
  everythingArgs,
  startEverythingHttp,
  startGatehouseHttp,
  throughGatehouse,
  writeConfig,
  type Caller,
  type CpuPerCall,
  type Era,
  type ThroughGatehouse,
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

async function timeCalls(client: Caller, tool: string, n: number): Promise<number[]> {
  const durations: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await client.callTool(tool, `m${i}`);
    durations.push(performance.now() - start);
  }
  return durations;
}

/** One path of a comparison: the clients that call it, the tool name they call, the processes behind. */
interface Path {
  clients: Caller[];
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
 * Every path warmed up, then measured one after the other with the same calls: `perClient` calls on
 * every client of a path at once (one client: sequential calls). Alternating the paths in rounds was
 * tried and charged each switch (a process waking from idle) to Gatehouse's percentiles.
 */
async function compare(paths: Path[], perClient: number): Promise<Measured[]> {
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
  return measured;
}

const connectMany = (era: Era, url: string, n: number) =>
  Promise.all(Array.from({ length: n }, () => connectCaller(era, { url })));

function peakRssMb(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

export interface ProxyBenchRow {
  path: string;
  /** The protocol era of the client calling through Gatehouse (the direct path is always 2025-11-25). */
  era: Era;
  direct: Measured;
  gatehouse: Measured;
  gatehouseRssMb: number;
}

/**
 * The direct path, then Gatehouse once per era (a process of its own each, so each era's cold calls
 * are its own), measured in the same stretch: every era's row shares the one direct measurement.
 * server-everything speaks 2025-11-25 only, so the direct call is the SDK v1 Client's in every row.
 */
function rowsOf(path: string, eras: Era[], measured: Measured[], pids: (number | undefined)[]) {
  const [direct, ...vias] = measured;
  return vias.map((gatehouse, i) => ({
    path,
    era: eras[i]!,
    direct: direct!,
    gatehouse,
    gatehouseRssMb: peakRssMb(pids[i]),
  }));
}

export async function benchProxy(): Promise<ProxyBenchRow[]> {
  const dir = benchDir();
  const eras = benchEras();
  const rows: ProxyBenchRow[] = [];

  // stdio: client → server, and client → Gatehouse → server, both over stdio.
  {
    const direct = await connectCaller('2025-11-25', {
      command: process.execPath,
      args: everythingArgs('stdio'),
    });
    const vias: ThroughGatehouse[] = [];
    try {
      for (const era of eras) vias.push(await throughGatehouse(dir, { era }));
      const measured = await compare(
        [
          { clients: [direct], tool: 'echo', serverPid: direct.pid },
          ...vias.map((via) => ({ clients: [via.client], tool: 'everything__echo', gatehousePid: via.pid })),
        ],
        SEQUENTIAL,
      );
      rows.push(
        ...rowsOf(
          `stdio, ${SEQUENTIAL} sequential calls`,
          eras,
          measured,
          vias.map((via) => via.pid),
        ),
      );
    } finally {
      await direct.close();
      await Promise.all(vias.map((via) => via.stop()));
    }
  }

  // Streamable HTTP: client → server, and client → Gatehouse → server, both over HTTP.
  const server = await startEverythingHttp();
  const serverPid = server.child.pid;
  const gatehouses: Awaited<ReturnType<typeof startGatehouseHttp>>[] = [];
  try {
    for (const _era of eras) gatehouses.push(await startGatehouseHttp(writeConfig(dir, { url: server.url })));
    const pids = gatehouses.map((g) => g.child.pid);
    const paths = async (n: number) => [
      { clients: await connectMany('2025-11-25', server.url, n), tool: 'echo', serverPid },
      ...(await Promise.all(
        eras.map(async (era, i) => ({
          clients: await connectMany(era, gatehouses[i]!.url, n),
          tool: 'everything__echo',
          gatehousePid: pids[i],
          serverPid,
        })),
      )),
    ];
    const closeAll = (all: Path[]) => Promise.all(all.flatMap((p) => p.clients.map((c) => c.close())));

    const sequential = await paths(1);
    rows.push(
      ...rowsOf(`HTTP, ${SEQUENTIAL} sequential calls`, eras, await compare(sequential, SEQUENTIAL), pids),
    );
    await closeAll(sequential);

    const concurrent = await paths(CONCURRENT_CLIENTS);
    rows.push(
      ...rowsOf(
        `HTTP, ${CONCURRENT_CLIENTS} concurrent clients × ${PER_CLIENT} calls`,
        eras,
        await compare(concurrent, PER_CLIENT),
        pids,
      ),
    );
    await closeAll(concurrent);
  } finally {
    await Promise.all(gatehouses.map((g) => g.stop()));
    server.child.kill('SIGTERM');
  }
  return rows;
}

/** Printed under the tables: what the direct path of a 2026-07-28 row is. */
export const ERA_NOTE =
  'The direct path is the SDK v1 Client at 2025-11-25 calling server-everything, which serves 2025-11-25 only: the 2026-07-28 rows share it as their baseline. Their client is a raw 2026-07-28 JSON-RPC client (test/helpers/modernClient.ts: the `_meta` envelope on every request, no initialize; over HTTP the standard headers).';

export function proxyTable(rows: ProxyBenchRow[]): string {
  const lines = [
    '| path | era | direct p50 ms | Gatehouse p50 ms | added p50 ms | direct p99 ms | Gatehouse p99 ms | p99 ratio | direct calls/s | Gatehouse calls/s | Gatehouse peak RSS MB |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { path, era, direct: d, gatehouse: g, gatehouseRssMb } of rows) {
    const [dl, gl] = [d.latency, g.latency];
    lines.push(
      `| ${path} | ${era} | ${fmt(dl.p50)} | ${fmt(gl.p50)} | ${fmt(gl.p50 - dl.p50)} | ${fmt(dl.p99)} | ${fmt(gl.p99)} | ${fmt(gl.p99 / dl.p99, 2)}x | ${fmt(dl.perSecond, 0)} | ${fmt(gl.perSecond, 0)} | ${fmt(gatehouseRssMb, 0)} |`,
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
    `| path | era | direct: client | direct: server | direct total | via: client | via: server | Gatehouse own | Gatehouse own ÷ direct total | Gatehouse own, first ${WARMUP} calls (cold) |`,
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { path, era, direct: d, gatehouse: g } of rows) {
    const directTotal = d.cpu.client + d.cpu.downstream;
    lines.push(
      `| ${path} | ${era} | ${fmt(d.cpu.client, 0)} | ${fmt(d.cpu.downstream, 0)} | ${fmt(directTotal, 0)} | ${fmt(g.cpu.client, 0)} | ${fmt(g.cpu.downstream, 0)} | **${fmt(g.cpu.gatehouse, 0)}** | ${fmt(g.cpu.gatehouse / directTotal, 2)}x | ${fmt(g.cold.gatehouse, 0)} |`,
    );
  }
  return lines.join('\n');
}
