/**
 * The floor under Gatehouse's HTTP figure: what Node's HTTP server and undici cost a proxy that does
 * nothing else. A forwarder (bench/fixtures/floorProxy.ts, a process of its own) reads each request's
 * body, parses it as JSON, posts it to server-everything with the MCP headers it came with, reads the
 * whole answer and writes it back: the two legs every HTTP call through Gatehouse travels, without a
 * decision, an audit record or a protocol of its own. It takes turns with the direct path (the SDK v1
 * client calling server-everything), as `BENCH_ONLY=cpu` runs builds, so both meet the same load;
 * its CPU divided by the direct call's in the same round is comparable with the cpu benchmark's
 * "÷ direct path" column.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import {
  connectCaller,
  echoCalls,
  echoCallsCpuUs,
  processCpuUs,
  root,
  startEverythingHttp,
} from './setup.js';
import { fmt, median } from './stats.js';

const WARMUP = Number(process.env.BENCH_WARMUP ?? 3000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const PER_ROUND = 1000;
const TURN = Number(process.env.BENCH_TURN ?? 100);

export async function benchFloor(): Promise<string> {
  const server = await startEverythingHttp();
  const forwarder = fork(path.join(root, 'bench/fixtures/floorProxy.ts'), [server.url], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    forwarder.once('message', (message) => resolve(message as number));
    forwarder.once('exit', (code) => reject(new Error(`the forwarder exited (${code}) before listening`)));
  });
  const through = await connectCaller('2025-11-25', { url: `http://127.0.0.1:${port}/mcp` });
  const direct = await connectCaller('2025-11-25', { url: server.url });
  const floor: number[] = [];
  const ofDirect: number[] = [];
  try {
    await echoCalls(through, WARMUP, 'echo');
    await echoCalls(direct, WARMUP, 'echo');
    for (let round = 0; round < ROUNDS; round++) {
      const forwarderStart = processCpuUs(forwarder.pid!);
      let directCpu = 0;
      for (let turn = 0; turn * TURN < PER_ROUND; turn++) {
        const calls = Math.min(TURN, PER_ROUND - turn * TURN);
        const serverStart = processCpuUs(server.child.pid!);
        directCpu += await echoCallsCpuUs(direct, calls, 'echo');
        directCpu += processCpuUs(server.child.pid!) - serverStart;
        await echoCalls(through, calls, 'echo');
      }
      const us = (processCpuUs(forwarder.pid!) - forwarderStart) / PER_ROUND;
      floor.push(us);
      ofDirect.push(us / (directCpu / PER_ROUND));
    }
  } finally {
    await Promise.all([through.close(), direct.close()]);
    forwarder.kill('SIGTERM');
    server.child.kill('SIGTERM');
  }
  return [
    `A forwarder with no logic (node:http in front, undici behind, the body parsed as JSON once), ${WARMUP} warm-up calls, then ${ROUNDS} rounds of ${PER_ROUND} sequential calls taking turns of ${TURN} with the direct path.`,
    '',
    '| forwarder CPU µs/call, median round | lowest round | highest round | ÷ direct path, median of rounds |',
    '|---|---|---|---|',
    `| ${fmt(median(floor), 0)} | ${fmt(Math.min(...floor), 0)} | ${fmt(Math.max(...floor), 0)} | ${fmt(median(ofDirect), 2)} |`,
  ].join('\n');
}
