/**
 * Where Gatehouse's CPU goes, as the CPU spends it: `node --import tsx bench/perf.ts [stdio|http]
 * [2025-11-25|2026-07-28]` runs Gatehouse from dist/ with `--perf-basic-prof` (so that perf can name
 * JIT code), makes BENCH_WARMUP (3,000) allowed echo calls, then samples the Gatehouse process with
 * Linux perf (`perf record -F 2999 -g`) for BENCH_SECONDS (10) while calls go on.
 *
 * Each sample is charged to the first JavaScript frame on its stack: a syscall's kernel work, V8's
 * builtins and its runtime go to the JavaScript that called them. The process's CPU over the window
 * (from /proc) is shared out by samples, per call. Unlike bench/profile.ts, which samples V8's
 * main thread by the clock, a perf sample is CPU time on any of the process's threads, kernel
 * included, and time spent waiting for a core is in no sample. Needs `perf` (Debian: linux-perf) and
 * kernel.perf_event_paranoid at 2 or below.
 */
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { ownerOf, runScript, shareTable, tally, watchedGatehouse } from './attribution.js';
import { echoCalls, processCpuUs, type Caller } from './setup.js';

const WARMUP = Number(process.env.BENCH_WARMUP ?? 3000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const TOP = Number(process.env.BENCH_TOP ?? 40);
const FREQUENCY = 2999;

/** A JIT frame as --perf-basic-prof names it: `JS:*name file:///…/x.js:12:3` (or `node:…`). */
const JS_FRAME = /^JS:[*^~]?(\S*) (\S+?):(\d+):\d+$/;
/**
 * What runs with no JavaScript on the stack, by a symbol anywhere on it, the most specific first:
 * the writing of perf's own map (`--perf-basic-prof`), the collector, Node's HTTP parser reading a
 * request before any JavaScript sees it, waking for events (kernel work included).
 */
const NATIVE: [RegExp, string][] = [
  [/vfprintf|_IO_|PerfBasicLogger/, "perf's own map of JIT code (--perf-basic-prof, not Gatehouse)"],
  [/Scaveng|MarkCompact|Heap::|Sweep|Evacuat|Marking/, 'the collector'],
  [/llhttp|node::.*Parser/, "Node's HTTP parser (llhttp)"],
  [/uv__io_poll|epoll/, 'waiting for and waking on events (epoll, kernel included)'],
];

function nativeWork(frames: Sample['frames']): string {
  for (const [pattern, what] of NATIVE) if (frames.some(([symbol]) => pattern.test(symbol))) return what;
  return frames[0]?.[1].includes('kernel') ? 'the kernel' : 'Node and V8';
}

interface Sample {
  tid: number;
  /** Leaf first: [symbol, dso]. */
  frames: [string, string][];
}

/** `perf script -F tid,ip,sym,dso` output, one sample per blank-line-separated block. */
function parseScript(text: string): Sample[] {
  const samples: Sample[] = [];
  let current: Sample | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (!line.startsWith('\t') && !line.startsWith(' '.repeat(8))) {
      current = { tid: Number(line.trim().split(/\s+/)[0]), frames: [] };
      samples.push(current);
      continue;
    }
    const frame = /^\s*[0-9a-f]+ (.*) \((.*)\)$/.exec(line);
    if (frame && current) current.frames.push([frame[1]!, frame[2]!]);
  }
  return samples;
}

function record(pid: number, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const perf = spawn(
      'perf',
      [
        'record',
        '-F',
        String(FREQUENCY),
        '-g',
        '-p',
        String(pid),
        '-o',
        file,
        '--',
        'sleep',
        String(SECONDS),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    perf.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    perf.once('error', reject);
    perf.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`perf record exited ${code}: ${stderr.trim()}`)),
    );
  });
}

/** Calls until `done` settles; resolves to how many were made. */
async function callsUntil(client: Caller, done: Promise<void>): Promise<number> {
  let stop = false;
  void done.finally(() => (stop = true)).catch(() => undefined);
  let calls = 0;
  while (!stop) {
    await echoCalls(client, 100);
    calls += 100;
  }
  return calls;
}

function report(samples: Sample[], pid: number, cpuUs: number, calls: number): void {
  const usPerSample = cpuUs / samples.length;
  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const kernelBy = new Map<string, number>();
  for (const sample of samples) {
    const leaf = sample.frames[0];
    const inKernel = leaf?.[1].includes('kernel') ?? false;
    let charged: { fn: string; who: string } | undefined;
    for (const [symbol] of sample.frames) {
      const js = JS_FRAME.exec(symbol);
      if (js) {
        charged = { fn: js[1] || '(anonymous)', who: ownerOf(js[2]!) };
        break;
      }
    }
    const who =
      sample.tid !== pid
        ? '(other threads: the collector, the thread pool)'
        : (charged?.who ?? `(no JavaScript) ${nativeWork(sample.frames)}`);
    tally(byOwner, who, usPerSample);
    if (charged && sample.tid === pid) tally(byFunction, `${charged.fn} ${charged.who}`, usPerSample);
    if (inKernel) tally(kernelBy, charged ? `${charged.fn} ${charged.who}` : who, usPerSample);
  }
  const options = { calls, total: cpuUs, top: TOP, unit: 'CPU µs/call' };
  const sum = (rows: Map<string, number>, pick: (name: string) => boolean) =>
    [...rows].filter(([name]) => pick(name)).reduce((total, [, us]) => total + us, 0) / calls;
  console.log(`CPU: ${(cpuUs / calls).toFixed(0)} µs/call over ${calls} calls (${samples.length} samples)`);
  console.log(
    `Gatehouse's own files: ${sum(byOwner, (n) => n.startsWith('gatehouse:')).toFixed(0)} µs/call; ` +
      `the kernel: ${sum(kernelBy, () => true).toFixed(0)} µs/call`,
  );
  console.log(shareTable('By package or file (the first JavaScript frame of each sample)', byOwner, options));
  console.log(shareTable('By function', byFunction, options));
  console.log(shareTable('Kernel time, by the JavaScript that entered the kernel', kernelBy, options));
}

async function main(): Promise<void> {
  if (spawnSync('perf', ['--version']).error) {
    throw new Error('perf is not installed (Debian: apt-get install linux-perf)');
  }
  const { mode, era, dir, gatehouse, stop } = await watchedGatehouse(() => ['--perf-basic-prof']);
  const data = path.join(dir, 'perf.data');
  try {
    await echoCalls(gatehouse.client, WARMUP);
    const before = processCpuUs(gatehouse.pid);
    const recorded = record(gatehouse.pid, data);
    const calls = await callsUntil(gatehouse.client, recorded);
    await recorded;
    const cpuUs = processCpuUs(gatehouse.pid) - before;
    const script = spawnSync('perf', ['script', '-i', data, '-F', 'tid,ip,sym,dso'], {
      maxBuffer: 1 << 30,
      encoding: 'utf8',
    });
    if (script.status !== 0) throw new Error(`perf script failed: ${script.stderr}`);
    console.log(`${mode}, ${era} client; perf data: ${data}`);
    report(parseScript(script.stdout), gatehouse.pid, cpuUs, calls);
  } finally {
    await stop();
    rmSync(`/tmp/perf-${gatehouse.pid}.map`, { force: true });
  }
}

runScript(main);
