import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';

/**
 * How long a stdio Gatehouse takes to answer its first request, as a client that launches it sees it:
 * `node --import tsx bench/firstAnswer.ts RUNS -- COMMAND [ARGS...]` starts the command RUNS times,
 * writes a 2026-07-28 `server/discover` the moment it is spawned (as Claude Code does), then
 * `tools/list`, and prints the milliseconds from spawn to each answer, and their medians.
 */
const separator = process.argv.indexOf('--');
const runs = Number(process.argv[2] ?? 5);
const [command, ...args] = process.argv.slice(separator + 1);
if (separator < 0 || !command || !(runs > 0)) {
  throw new Error('usage: firstAnswer.ts RUNS -- COMMAND [ARGS...]');
}

const meta = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'first-answer', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

interface Run {
  discover: number;
  toolsList: number;
  tools: number;
}

async function once(): Promise<Run> {
  const started = performance.now();
  const child = spawn(command!, args, { stdio: ['pipe', 'pipe', 'ignore'] });
  const answers = new Map<number, { at: number; frame: { result?: { tools?: unknown[] } } }>();
  const waiters = new Map<number, () => void>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    const frame = JSON.parse(line) as { id?: number; result?: { tools?: unknown[] } };
    if (typeof frame.id !== 'number') return;
    answers.set(frame.id, { at: performance.now() - started, frame });
    waiters.get(frame.id)?.();
  });
  const request = (id: number, method: string) => {
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params: { _meta: meta } })}\n`);
    return new Promise<void>((resolve) => (answers.has(id) ? resolve() : waiters.set(id, resolve)));
  };
  await request(1, 'server/discover');
  await request(2, 'tools/list');
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.stdin.end();
  await exited;
  return {
    discover: answers.get(1)!.at,
    toolsList: answers.get(2)!.at,
    tools: answers.get(2)!.frame.result?.tools?.length ?? -1,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const results: Run[] = [];
for (let i = 0; i < runs; i++) {
  const run = await once();
  results.push(run);
  process.stdout.write(
    `run ${i + 1}: discover answered at ${run.discover.toFixed(0)} ms, tools/list at ${run.toolsList.toFixed(0)} ms (${run.tools} tools)\n`,
  );
}
process.stdout.write(
  `median of ${runs}: discover ${median(results.map((r) => r.discover)).toFixed(0)} ms, ` +
    `tools/list ${median(results.map((r) => r.toolsList)).toFixed(0)} ms\n`,
);
