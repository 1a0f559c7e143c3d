/**
 * The approval path as `npm start` runs it (dist/): how fast a gated call gets its pending result
 * (the request is fsync'd to the store first), and how long from the approver's deciding POST to the
 * downstream call starting. Clocks: both processes read epoch time with sub-millisecond precision.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { request } from 'undici';
import { ALICE_TOKEN, BOB_PASSWORD, stampConfig, stamps, startGatehouse } from './gatehouse.js';
import { fmt, percentile } from './stats.js';

const PENDING_CALLS = Number(process.env.BENCH_PENDING_CALLS ?? 200);
const DECISIONS = Number(process.env.BENCH_DECISIONS ?? 50);

export interface ApprovalBench {
  pendingMs: number[];
  postMs: number[];
  toDownstreamMs: number[];
}

export async function benchApprovals(): Promise<ApprovalBench> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-bench-approvals-'));
  const stampLog = path.join(dir, 'stamps.jsonl');
  const { url, base, child } = await startGatehouse(await stampConfig(dir, 'config', stampLog));
  try {
    const client = new Client({ name: 'bench', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { authorization: `Bearer ${ALICE_TOKEN}` } },
      }),
    );
    const call = async (id: string) => {
      const result = await client.callTool({ name: 'stamp__stamp', arguments: { id } });
      return (result.structuredContent as { approvalId: string }).approvalId;
    };
    for (let i = 0; i < 20; i++) await call(`warmup-${i}`);

    const pendingMs: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < PENDING_CALLS; i++) {
      const start = performance.now();
      ids.push(await call(`call-${i}`));
      pendingMs.push(performance.now() - start);
    }

    const issued = await request(`${base}/api/tokens`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`bob:${BOB_PASSWORD}`).toString('base64')}` },
    });
    const { token } = (await issued.body.json()) as { token: string };
    const postMs: number[] = [];
    const postedAt = new Map<string, number>();
    for (let i = 0; i < DECISIONS; i++) {
      const start = performance.timeOrigin + performance.now();
      postedAt.set(`call-${i}`, start);
      const response = await request(`${base}/api/approvals/${ids[i]}/decision`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ decision: 'approve' }),
      });
      await response.body.text();
      if (response.statusCode !== 200) throw new Error(`decision answered ${response.statusCode}`);
      postMs.push(performance.timeOrigin + performance.now() - start);
      // One at a time: the next POST must not queue behind this execution.
      await waitFor(() => stamps(stampLog).has(`call-${i}`));
    }
    const arrived = stamps(stampLog);
    const toDownstreamMs = [...postedAt].map(([id, at]) => arrived.get(id)! - at);
    await client.close();
    return { pendingMs, postMs, toDownstreamMs };
  } finally {
    child.kill('SIGTERM');
  }
}

async function waitFor(ready: () => boolean): Promise<void> {
  for (let i = 0; i < 5_000 && !ready(); i++) await new Promise((r) => setTimeout(r, 1));
}

export function approvalsTable(b: ApprovalBench): string {
  const row = (what: string, sample: number[]) => {
    const sorted = [...sample].sort((x, y) => x - y);
    return `| ${what} | ${sorted.length} | ${fmt(percentile(sorted, 50), 2)} | ${fmt(percentile(sorted, 99), 2)} |`;
  };
  return [
    '| measure | n | median ms | p99 ms |',
    '|---|---|---|---|',
    row("gated call → pending result (request fsync'd first)", b.pendingMs),
    row('deciding POST → its response', b.postMs),
    row('deciding POST → downstream call starts', b.toDownstreamMs),
  ].join('\n');
}
