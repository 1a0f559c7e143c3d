/**
 * Gatehouse's own CPU per allowed call, settled, for builds side by side: this one and any named in
 * BENCH_BASELINE (comma-separated paths of other builds' bin/gatehouse.js, such as main's). On a
 * shared machine the CPU a call costs moves with the load by a third or more between runs minutes
 * apart, so one build measured after another compares the load as much as the builds. Here every
 * build runs at once, each warmed up, and they take turns in short rounds (the order reversed every
 * other round); the median, the lowest and the highest round of each are printed. Each build is run
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

interface Running extends ThroughGatehouse {
  bin: string;
  rounds: number[];
}

async function measure(all: Running[], perRound: number): Promise<void> {
  for (const run of all) await echoCalls(run.client, WARMUP);
  for (let round = 0; round < ROUNDS; round++) {
    for (const run of round % 2 === 0 ? all : [...all].reverse()) {
      const cpu = cpuMeter(run.pid, run.serverPid);
      await echoCalls(run.client, perRound);
      run.rounds.push(cpu.perCall(perRound).gatehouse);
    }
  }
}

export interface CpuRow {
  bin: string;
  era: Era;
  transport: 'stdio' | 'http';
  median: number;
  lowest: number;
  highest: number;
}

export async function benchCpu(): Promise<CpuRow[]> {
  const bins = [gatehouseBin, ...(process.env.BENCH_BASELINE?.split(',').filter(Boolean) ?? [])];
  const dir = benchDir();
  const eras = benchEras();
  const rows: CpuRow[] = [];
  const collect = (transport: CpuRow['transport'], runs: Running[]) => {
    for (const run of runs) {
      const sorted = [...run.rounds].sort((a, b) => a - b);
      rows.push({
        bin: run.bin,
        era: run.era,
        transport,
        median: sorted[Math.floor(sorted.length / 2)]!,
        lowest: sorted[0]!,
        highest: sorted[sorted.length - 1]!,
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
    `Builds side by side, ${WARMUP} warm-up calls each, then ${ROUNDS} alternating rounds of ${PER_ROUND.stdio} (stdio) or ${PER_ROUND.http} (HTTP) sequential calls.`,
    '',
    '| build | era | transport | Gatehouse own CPU µs/call, median round | lowest round | highest round |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const name = r.bin === gatehouseBin ? 'this build' : r.bin;
    lines.push(
      `| ${name} | ${r.era} | ${r.transport} | ${fmt(r.median, 0)} | ${fmt(r.lowest, 0)} | ${fmt(r.highest, 0)} |`,
    );
  }
  return lines.join('\n');
}
