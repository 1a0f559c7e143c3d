/**
 * `npm run bench`: every benchmark, printed as the markdown tables the README carries.
 * `BENCH_ONLY=proxy|cpu|floor|latency|approvals|replicas|decision|audit|redact` runs one.
 * BENCH_BASELINE (cpu, latency) names other builds to compare side by side; BENCH_TURN (cpu, floor)
 * how many calls each takes in turn; BENCH_ERAS (proxy, cpu) narrows the protocol eras of the
 * clients (2025-11-25,2026-07-28 by default); BENCH_TRANSPORTS (cpu) the transports (stdio,http).
 */
import { execFileSync } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { cpus } from 'node:os';
import { approvalsTable, benchApprovals } from './approvals.js';
import { benchAudit } from './audit.js';
import { benchCpu, cpuRoundsTable } from './cpu.js';
import { benchDecision } from './decision.js';
import { benchFloor } from './floor.js';
import { benchLatency } from './latency.js';
import { benchProxy, cpuTable, ERA_NOTE, proxyTable } from './proxy.js';
import { benchRedact } from './redact.js';
import { benchReplicas, replicasTable } from './replicas.js';

const only = process.env.BENCH_ONLY;
// The SDK v1 client's Streamable HTTP transport hands one AbortSignal to every fetch, and undici
// drops each fetch's listener on it only when the request is collected: thousands of calls in a row
// pass Node's warning threshold without a leak (the benchmark's client, not Gatehouse).
setMaxListeners(0);
// A benchmark whose promise never settles would let Node exit 0 on an empty event loop: fail instead.
process.exitCode = 1;
const wanted = (name: string) => !only || only === name;

async function run(): Promise<void> {
  // Gatehouse is measured as `npm start` runs it: from dist/.
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
  console.log(`Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
  if (wanted('proxy')) {
    console.log('\n## Proxy overhead (tool call through Gatehouse vs direct)\n');
    const rows = await benchProxy();
    console.log(proxyTable(rows));
    console.log('\n## CPU per allowed call, µs (Gatehouse own = its process tree minus the downstream)\n');
    console.log(cpuTable(rows));
    console.log(`\n${ERA_NOTE}`);
  }
  if (wanted('cpu')) {
    console.log('\n## Gatehouse own CPU per allowed call, settled (builds side by side)\n');
    console.log(cpuRoundsTable(await benchCpu()));
  }
  if (wanted('floor')) {
    console.log('\n## The floor: a forwarder with no logic, CPU per HTTP call\n');
    console.log(await benchFloor());
  }
  if (wanted('latency')) {
    console.log('\n## Latency percentiles, builds side by side\n');
    console.log(await benchLatency());
  }
  if (wanted('approvals')) {
    console.log('\n## Approvals\n');
    console.log(approvalsTable(await benchApprovals()));
  }
  if (wanted('replicas')) {
    console.log('\n## Approvals on PostgreSQL and lowdb, with one and three replicas\n');
    console.log(replicasTable(await benchReplicas()));
  }
  if (wanted('decision')) console.log(`\n## Policy decision\n\n${await benchDecision()}`);
  if (wanted('audit')) console.log(`\n## Audit log\n\n${await benchAudit()}`);
  if (wanted('redact')) console.log(`\n## Redaction\n\n${await benchRedact()}`);
}

run().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
