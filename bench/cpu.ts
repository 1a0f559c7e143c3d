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
  benchEras,
  cpuMeter,
  echoCalls,
  gatehouseBin,
  startEverythingHttp,
  throughGatehouse,
  type Era,
  type ThroughGatehouse,
} from './setup.js';
import { fmt } from './stats.js';

const WARMUP = Number(process.env.BENCH_WARMUP ?? 3000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const PER_ROUND = { stdio: 2000, http: 1000 } as const;
const TURN = Number(process.env.BENCH_TURN ?? 100);

interface Running extends ThroughGatehouse {
  bin: string;
  rounds: number[];
}

async function measure(all: Running[], perRound: number): Promise<void> {
  for (const run of all) await echoCalls(run.client, WARMUP);
  const reversed = [...all].reverse();
  for (let round = 0; round < ROUNDS; round++) {
    const meters = all.map((run) => cpuMeter(run.pid, run.serverPid));
    for (let turn = 0; turn * TURN < perRound; turn++) {
      const calls = Math.min(TURN, perRound - turn * TURN);
      for (const run of turn % 2 === 0 ? all : reversed) await echoCalls(run.client, calls);
    }
    all.forEach((run, k) => run.rounds.push(meters[k]!.perCall(perRound).gatehouse));
  }
}

export interface CpuRow {
  bin: string;
  era: Era;
  transport: 'stdio' | 'http';
  median: number;
  lowest: number;
  highest: number;
  /** This build's CPU ÷ the first build's in the same rounds (same era and transport), median over rounds. */
  ratio: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export async function benchCpu(): Promise<CpuRow[]> {
  const bins = [gatehouseBin, ...(process.env.BENCH_BASELINE?.split(',').filter(Boolean) ?? [])];
  const dir = benchDir();
  const eras = benchEras();
  const rows: CpuRow[] = [];
  const collect = (transport: CpuRow['transport'], runs: Running[]) => {
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
      });
    }
  };

  const stdio: Running[] = [];
  try {
    for (const bin of bins)
      for (const era of eras) stdio.push({ bin, rounds: [], ...(await throughGatehouse(dir, { bin, era })) });
    await measure(stdio, PER_ROUND.stdio);
    collect('stdio', stdio);
  } finally {
    await Promise.all(stdio.map((r) => r.stop()));
  }

  const server = await startEverythingHttp();
  const http: Running[] = [];
  try {
    const downstream = { url: server.url, pid: server.child.pid! };
    for (const bin of bins)
      for (const era of eras)
        http.push({ bin, rounds: [], ...(await throughGatehouse(dir, { bin, era, server: downstream })) });
    await measure(http, PER_ROUND.http);
    collect('http', http);
  } finally {
    await Promise.all(http.map((r) => r.stop()));
    server.child.kill('SIGTERM');
  }
  return rows;
}

export function cpuRoundsTable(rows: CpuRow[]): string {
  const lines = [
    `Builds side by side, ${WARMUP} warm-up calls each, then ${ROUNDS} rounds of ${PER_ROUND.stdio} (stdio) or ${PER_ROUND.http} (HTTP) sequential calls each, the builds taking turns of ${TURN} calls.`,
    '',
    '| build | era | transport | Gatehouse own CPU µs/call, median round | lowest round | highest round | ÷ this build, median of rounds |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const name = r.bin === gatehouseBin ? 'this build' : r.bin;
    lines.push(
      `| ${name} | ${r.era} | ${r.transport} | ${fmt(r.median, 0)} | ${fmt(r.lowest, 0)} | ${fmt(r.highest, 0)} | ${fmt(r.ratio, 2)} |`,
    );
  }
  return lines.join('\n');
}
