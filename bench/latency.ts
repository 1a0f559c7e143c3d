/**
 * Latency percentiles of sequential stdio calls, for builds side by side: this one and any named in
 * BENCH_BASELINE (as in bench/cpu.ts). p99 on this shared machine moves by half between runs minutes
 * apart, so the builds alternate, each run on a fresh Gatehouse (BENCH_RUNS runs of BENCH_CALLS calls
 * after BENCH_WARMUP warm-up calls), and the median run of each build is what compares.
 */
import { benchBuilds, benchDir, buildName, echoCalls, throughGatehouse, type Era } from './setup.js';
import { fmt, median, percentile } from './stats.js';

const WARMUP = Number(process.env.BENCH_WARMUP ?? 3000);
const CALLS = Number(process.env.BENCH_CALLS ?? 4000);
const RUNS = Number(process.env.BENCH_RUNS ?? 6);

interface Run {
  p50: number;
  p99: number;
  max: number;
}

async function run(bin: string, era: Era): Promise<Run> {
  const gatehouse = await throughGatehouse(benchDir(), { bin, era });
  try {
    await echoCalls(gatehouse.client, WARMUP);
    const ms: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      const start = performance.now();
      await gatehouse.client.callTool('everything__echo', `m${i}`);
      ms.push(performance.now() - start);
    }
    ms.sort((a, b) => a - b);
    return { p50: percentile(ms, 50), p99: percentile(ms, 99), max: ms[CALLS - 1]! };
  } finally {
    await gatehouse.stop();
  }
}

export async function benchLatency(): Promise<string> {
  const bins = benchBuilds();
  const era: Era = '2025-11-25';
  const runs = new Map<string, Run[]>(bins.map((bin) => [bin, []]));
  for (let round = 0; round < RUNS; round++) {
    // The order reversed every other round, so neither build always runs right after start-up noise.
    for (const bin of round % 2 === 0 ? bins : [...bins].reverse()) runs.get(bin)!.push(await run(bin, era));
  }
  const lines = [
    `stdio, ${era} client, ${RUNS} runs a build, alternating, each ${CALLS} sequential calls after ${WARMUP} warm-up calls on a fresh Gatehouse; the median run's figure, lowest–highest in brackets.`,
    '',
    '| build | p50 ms | p99 ms | slowest call ms |',
    '|---|---|---|---|',
  ];
  const cell = (values: number[]) =>
    `${fmt(median(values), 3)} (${fmt(Math.min(...values), 3)}–${fmt(Math.max(...values), 3)})`;
  for (const [bin, of] of runs) {
    lines.push(
      `| ${buildName(bin)} | ${cell(of.map((r) => r.p50))} | ${cell(of.map((r) => r.p99))} | ${cell(of.map((r) => r.max))} |`,
    );
  }
  return lines.join('\n');
}
