/**
 * Gatehouse's own CPU per allowed call, settled, for builds side by side: this one and any named in
 * BENCH_BASELINE (comma-separated paths of other builds' bin/gatehouse.js, such as main's). On a
 * shared machine the CPU a call costs moves with the load by a third or more between runs minutes
 * apart, and by as much between rounds seconds apart, so one build measured after another compares
 * the load as much as the builds. Here every build runs at once, each warmed up, and they take turns
 * of BENCH_TURN (100) calls (the order reversed every other turn): a round's calls of every build
 * share the same seconds of load. (Turns of one call would measure every call with caches another
 * process has just filled: a quarter to a third more CPU a call, in one run on this machine.) The median, the lowest and the highest round of each are printed, and, against
 * the first build of the same era and transport, the median of the rounds' ratios. Each build is run
 * with a client of each protocol era (BENCH_ERAS narrows them, for a build that predates 2026-07-28).
 */
import {
  benchDir,
  benchBuilds,
  benchEras,
  buildName,
  connectCaller,
  cpuMeter,
  echoCalls,
  echoCallsCpuUs,
  everythingArgs,
  processCpuUs,
  startEverythingHttp,
  throughGatehouse,
  type Caller,
  type Era,
  type ThroughGatehouse,
} from './setup.js';
import { fmt, median } from './stats.js';

const WARMUP = Number(process.env.BENCH_WARMUP ?? 3000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const PER_ROUND = { stdio: 2000, http: 1000 } as const;
const TURN = Number(process.env.BENCH_TURN ?? 100);

interface Running extends ThroughGatehouse {
  bin: string;
  rounds: number[];
}

/**
 * The direct path, taking its turns with the builds: the SDK v1 client calling a server-everything of
 * its own. Its CPU (this process's during its turns, plus its server's) is what the machine charged
 * for a call without Gatehouse in the same seconds: a load that doubles every build's figure doubles
 * this one too, so a build's share of it moves less between runs than its microseconds.
 */
interface Direct {
  client: Caller;
  serverPid: number;
  rounds: number[];
  stop(): Promise<void>;
}

async function measure(all: Running[], direct: Direct, perRound: number): Promise<void> {
  for (const run of all) await echoCalls(run.client, WARMUP);
  await echoCalls(direct.client, WARMUP, 'echo');
  const turns: (Running | Direct)[] = [...all, direct];
  const reversed = [...turns].reverse();
  for (let round = 0; round < ROUNDS; round++) {
    const meters = all.map((run) => cpuMeter(run.pid, run.serverPid));
    const directServer = processCpuUs(direct.serverPid);
    let directClient = 0;
    for (let turn = 0; turn * TURN < perRound; turn++) {
      const calls = Math.min(TURN, perRound - turn * TURN);
      for (const run of turn % 2 === 0 ? turns : reversed) {
        if (run === direct) directClient += await echoCallsCpuUs(direct.client, calls, 'echo');
        else await echoCalls((run as Running).client, calls);
      }
    }
    all.forEach((run, k) => run.rounds.push(meters[k]!.perCall(perRound).gatehouse));
    direct.rounds.push((directClient + processCpuUs(direct.serverPid) - directServer) / perRound);
  }
}

export interface CpuRow {
  /** A build's bin/gatehouse.js, or 'direct' for the direct path. */
  bin: string;
  era: Era;
  transport: 'stdio' | 'http';
  median: number;
  lowest: number;
  highest: number;
  /** This build's CPU ÷ the first build's in the same rounds (same era and transport), median over rounds. */
  ratio: number;
  /** This build's CPU ÷ the direct path's (client and server) in the same rounds, median over rounds. */
  ofDirect: number;
}

async function directStdio(): Promise<Direct> {
  const client = await connectCaller('2025-11-25', {
    command: process.execPath,
    args: everythingArgs('stdio'),
  });
  return { client, serverPid: client.pid!, rounds: [], stop: () => client.close() };
}

async function directHttp(): Promise<Direct> {
  const server = await startEverythingHttp();
  const client = await connectCaller('2025-11-25', { url: server.url });
  return {
    client,
    serverPid: server.child.pid!,
    rounds: [],
    stop: async () => {
      await client.close();
      server.child.kill('SIGTERM');
    },
  };
}

export async function benchCpu(): Promise<CpuRow[]> {
  const bins = benchBuilds();
  const dir = benchDir();
  const eras = benchEras();
  const rows: CpuRow[] = [];
  const collect = (transport: CpuRow['transport'], runs: Running[], direct: Direct) => {
    for (const run of runs) {
      const first = runs.find((other) => other.era === run.era)!;
      rows.push({
        bin: run.bin,
        era: run.era,
        transport,
        median: median(run.rounds),
        lowest: Math.min(...run.rounds),
        highest: Math.max(...run.rounds),
        ratio: median(run.rounds.map((us, round) => us / first.rounds[round]!)),
        ofDirect: median(run.rounds.map((us, round) => us / direct.rounds[round]!)),
      });
    }
    rows.push({
      bin: 'direct',
      era: '2025-11-25',
      transport,
      median: median(direct.rounds),
      lowest: Math.min(...direct.rounds),
      highest: Math.max(...direct.rounds),
      ratio: Number.NaN,
      ofDirect: 1,
    });
  };

  const transports = process.env.BENCH_TRANSPORTS?.split(',') ?? ['stdio', 'http'];
  if (transports.includes('stdio')) {
    const stdio: Running[] = [];
    const stdioDirect = await directStdio();
    try {
      for (const bin of bins)
        for (const era of eras)
          stdio.push({ bin, rounds: [], ...(await throughGatehouse(dir, { bin, era })) });
      await measure(stdio, stdioDirect, PER_ROUND.stdio);
      collect('stdio', stdio, stdioDirect);
    } finally {
      await Promise.all([...stdio.map((r) => r.stop()), stdioDirect.stop()]);
    }
  }
  if (!transports.includes('http')) return rows;

  const server = await startEverythingHttp();
  const httpDirect = await directHttp();
  const http: Running[] = [];
  try {
    const downstream = { url: server.url, pid: server.child.pid! };
    for (const bin of bins)
      for (const era of eras)
        http.push({ bin, rounds: [], ...(await throughGatehouse(dir, { bin, era, server: downstream })) });
    await measure(http, httpDirect, PER_ROUND.http);
    collect('http', http, httpDirect);
  } finally {
    await Promise.all([...http.map((r) => r.stop()), httpDirect.stop()]);
    server.child.kill('SIGTERM');
  }
  return rows;
}

export function cpuRoundsTable(rows: CpuRow[]): string {
  const lines = [
    `Builds side by side with the direct path, ${WARMUP} warm-up calls each, then ${ROUNDS} rounds of ${PER_ROUND.stdio} (stdio) or ${PER_ROUND.http} (HTTP) sequential calls each, taking turns of ${TURN} calls. A build's figure is Gatehouse's own CPU; the direct path's is its client's and server's together (the SDK v1 client calling server-everything).`,
    '',
    '| build | era | transport | CPU µs/call, median round | lowest round | highest round | ÷ this build, median of rounds | ÷ direct path, median of rounds |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const name = r.bin === 'direct' ? 'direct path (no Gatehouse)' : buildName(r.bin);
    const ratio = Number.isNaN(r.ratio) ? '' : fmt(r.ratio, 2);
    lines.push(
      `| ${name} | ${r.era} | ${r.transport} | ${fmt(r.median, 0)} | ${fmt(r.lowest, 0)} | ${fmt(r.highest, 0)} | ${ratio} | ${fmt(r.ofDirect, 2)} |`,
    );
  }
  return lines.join('\n');
}
