/**
 * Where Gatehouse's own CPU goes on allowed calls: `node --import tsx bench/profile.ts [stdio|http]
 * [2025-11-25|2026-07-28]` runs Gatehouse from dist/ under `node --cpu-prof`, makes BENCH_WARMUP
 * (2,000) then BENCH_CALLS (5,000) allowed echo calls through it by a client of that protocol era
 * (2025-11-25 unless named), and prints the self time by package and by function over
 * the latter. The .cpuprofile stays in the
 * printed folder for Chrome's DevTools.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ownerOf, runScript, shareTable, tally, watchedGatehouse } from './attribution.js';
import { echoCalls, type Caller } from './setup.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 5000);
const TOP = Number(process.env.BENCH_TOP ?? 40);
/** The sampling interval: V8's default (1,000 µs) leaves a function of a few µs a call to chance. */
const INTERVAL_US = Number(process.env.BENCH_PROFILE_INTERVAL ?? 100);

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const WARMUP = Number(process.env.BENCH_WARMUP ?? 2000);

/** The monotonic clock in µs, as the profile's timestamps read it. */
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** Warm-up calls, then the measured ones: the stretch of the profile that counts (no start-up). */
async function calls(client: Caller): Promise<{ from: number; to: number }> {
  await echoCalls(client, WARMUP);
  const from = nowUs();
  await echoCalls(client, CALLS);
  return { from, to: nowUs() };
}

function report(file: string, window: { from: number; to: number }): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at >= window.from && at <= window.to) self.set(id, (self.get(id) ?? 0) + delta);
  });
  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)' || functionName === '(program)') continue;
    busy += us;
    const who = ownerOf(url);
    tally(byOwner, who, us);
    tally(byFunction, `${functionName || '(anonymous)'} ${who}:${lineNumber + 1}`, us);
  }
  console.log(
    `busy (not idle, not "program"): ${(busy / CALLS).toFixed(1)} µs/call over ${CALLS} calls after ${WARMUP} warm-up calls`,
  );
  const options = { calls: CALLS, total: busy, top: TOP };
  console.log(shareTable('By package or file', byOwner, options));
  console.log(shareTable('By function', byFunction, options));
}

async function main(): Promise<void> {
  let profiles = '';
  const { mode, era, gatehouse, stop } = await watchedGatehouse((dir) => {
    profiles = path.join(dir, 'profiles');
    mkdirSync(profiles);
    return ['--cpu-prof', `--cpu-prof-dir=${profiles}`, `--cpu-prof-interval=${INTERVAL_US}`];
  });
  const window = await calls(gatehouse.client);
  await stop();
  // The profile is written as the process exits.
  for (let i = 0; i < 100 && !readdirSync(profiles, { withFileTypes: true }).some((f) => f.isFile()); i++)
    await new Promise((resolve) => setTimeout(resolve, 100));
  const file = readdirSync(profiles).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile in ${profiles}`);
  console.log(`${mode}, ${era} client`);
  console.log(`profile: ${path.join(profiles, file)} (measured from ${window.from} to ${window.to} µs)`);
  report(path.join(profiles, file), window);
}

runScript(main);
