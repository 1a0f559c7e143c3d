/**
 * The audit log (src/audit): appends per second, synced one at a time and group-committed under
 * concurrent callers; what `append` costs a caller that does not wait for the fsync (an allowed call);
 * start-up and `verify` speed in records per second; and the time to verify one receipt offline.
 * Real files in the system temp directory, so the fsync numbers are the disk's.
 */
import { sha256Canonical } from '../src/approvals/digest.js';
import { createEventBus, redactEvents } from '../src/audit/bus.js';
import { openAuditLog, type AuditLog } from '../src/audit/log.js';
import { openAuditTrail } from '../src/audit/trail.js';
import { AuditSchema } from '../src/config/schema.js';
import { silentLogger } from '../src/log.js';
import { createRedactor } from '../src/redact/index.js';
import { verifyReceipt } from '../src/audit/receipt.js';
import { tempDir, testKey } from '../src/audit/testkit.js';
import { verifyAuditLog } from '../src/audit/verify.js';
import { fmt, percentile } from './stats.js';

const SYNCED = Number(process.env.BENCH_AUDIT_SYNCED ?? 500);
const GROUPED = Number(process.env.BENCH_AUDIT_GROUPED ?? 20_000);
const CALLERS = Number(process.env.BENCH_AUDIT_CALLERS ?? 64);
const VERIFY_RECORDS = Number(process.env.BENCH_AUDIT_VERIFY ?? 50_000);

/** A record shaped like an executed call's: caller, tool, redacted arguments, digests (about 700 bytes). */
const record = (n: number) => ({
  event: 'call.executed',
  caller: { id: 'alice', groups: ['developers'], transport: 'http', client: 'claude-code' },
  server: 'fs',
  tool: 'write_file',
  decision: { effect: 'allow', rules: ['allow-workspace-writes'], policyVersion: `sha256:${'a'.repeat(64)}` },
  arguments: { path: `/workspace/src/app/file-${n}.ts`, content: '[redacted: 512 bytes]' },
  argumentsDigest: `hmac-sha256:${'b'.repeat(64)}`,
  outcome: 'ok',
  resultDigest: `sha256:${'c'.repeat(64)}`,
  durationMs: 12,
  n,
});

const key = testKey('bench.example/gatehouse');
const open = (dir: string, maxDelayMs = 2) =>
  openAuditLog({
    dir,
    signer: key.signer,
    settings: { groupCommit: { maxDelayMs, maxRecords: 512 }, checkpoint: { everyRecords: 1000 } },
  });

const sorted = (sample: number[]) => [...sample].sort((a, b) => a - b);
const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

async function synced(log: AuditLog): Promise<{ perSecond: number; latency: number[] }> {
  const latency: number[] = [];
  const start = process.hrtime.bigint();
  for (let n = 0; n < SYNCED; n++) {
    const t = process.hrtime.bigint();
    await log.append(record(n), { sync: true });
    latency.push(ms(t));
  }
  return { perSecond: (SYNCED / ms(start)) * 1000, latency };
}

/** CALLERS callers, each appending and awaiting durability, GROUPED records in all. */
async function grouped(log: AuditLog): Promise<{ perSecond: number; latency: number[]; callUs: number[] }> {
  const latency: number[] = [];
  const callUs: number[] = [];
  let next = 0;
  const caller = async () => {
    while (next < GROUPED) {
      const n = next++;
      const t = process.hrtime.bigint();
      const durable = log.append(record(n));
      // What a caller pays before it may go on without waiting for the fsync.
      callUs.push(ms(t) * 1000);
      await durable;
      latency.push(ms(t));
    }
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CALLERS }, caller));
  return { perSecond: (GROUPED / ms(start)) * 1000, latency, callUs };
}

const CALLS = Number(process.env.BENCH_AUDIT_CALLS ?? 5_000);

/**
 * What the audit trail adds to one allowed call, measured on the real parts main.ts wires: the
 * redaction and keyed digest of its arguments, then its three records (decided, executing, executed,
 * with the result's digest) through the bus, each redacted and queued for the next group commit.
 */
async function allowedCallWork(dir: string): Promise<number[]> {
  const config = AuditSchema.parse({ dir: `${dir}/trail`, keyFile: `${dir}/trail.key` });
  const trail = await openAuditTrail({ config, logger: silentLogger });
  const redactor = createRedactor({ ...config.redact, digestKey: trail.digestKey });
  const bus = createEventBus(trail, silentLogger, redactEvents(redactor));
  const caller = { id: 'alice', groups: ['developers'], transport: 'http' as const };
  const sample: number[] = [];
  try {
    for (let n = 0; n < CALLS + 500; n++) {
      const args = { path: `/workspace/src/app/file-${n}.ts`, content: 'x'.repeat(400), overwrite: true };
      const result = { content: [{ type: 'text', text: `wrote ${args.path}` }] };
      const t = process.hrtime.bigint();
      const redacted = redactor.redactArguments(args);
      const call = {
        callId: `call-${n}`,
        caller,
        server: 'fs',
        tool: 'write_file',
        exposedName: 'fs__write_file',
      };
      const policy = { rules: ['workspace-writes'], policyVersion: `sha256:${'a'.repeat(16)}` };
      await bus.publishQueued({
        event: 'call.decided',
        ...call,
        effect: 'allow',
        mode: 'enforce',
        reason: 'writes inside the workspace',
        ...policy,
        arguments: redacted,
      });
      const fields = { ...call, ...policy, argumentsDigest: redacted.digest };
      await bus.publishQueued({ event: 'call.executing', ...fields });
      await bus.publishQueued({
        event: 'call.executed',
        ...fields,
        isError: false,
        resultDigest: `sha256:${sha256Canonical(result)}`,
      });
      // The first 500 warm the JIT.
      if (n >= 500) sample.push(ms(t) * 1000);
      // Let the group commits run between calls, as they do between a real call's records and the next.
      if (n % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
  } finally {
    await trail.close();
  }
  return sample;
}

export async function benchAudit(): Promise<string> {
  const { path: dir, remove } = await tempDir('gatehouse-bench-audit-');
  try {
    const allowed = await allowedCallWork(dir);
    const log = await open(dir);
    // Warm the JIT and the file.
    for (let n = 0; n < 200; n++) await log.append(record(n));
    const s = await synced(log);
    const g = await grouped(log);
    await log.close();

    // A log of VERIFY_RECORDS records for start-up, verify and receipts.
    const big = `${dir}/big`;
    const writer = await open(big, 0);
    await Promise.all(Array.from({ length: VERIFY_RECORDS }, (_, n) => writer.append(record(n))));
    await writer.close();

    let t = process.hrtime.bigint();
    const reopened = await open(big);
    const startupMs = ms(t);
    const receipts = Array.from({ length: 200 }, (_, i) =>
      reopened.inclusionProof((i * 997) % VERIFY_RECORDS),
    );
    await reopened.close();

    t = process.hrtime.bigint();
    const report = await verifyAuditLog(big, { keys: [key.verifierKey] });
    const verifyMs = ms(t);
    if (!report.ok) throw new Error(`the benchmark log does not verify: ${report.problem?.message}`);

    const receiptUs: number[] = [];
    for (let round = 0; round < 5; round++) {
      for (const receipt of receipts) {
        const r = process.hrtime.bigint();
        if (!verifyReceipt(receipt, [key.verifier]).ok)
          throw new Error('a benchmark receipt does not verify');
        receiptUs.push(ms(r) * 1000);
      }
    }

    const row = (what: string, n: number, perSecond: string, sample: number[], unit: string, digits = 2) => {
      const s2 = sorted(sample);
      return `| ${what} | ${n} | ${perSecond} | ${fmt(percentile(s2, 50), digits)} ${unit} | ${fmt(percentile(s2, 99), digits)} ${unit} |`;
    };
    const rate = (value: number) => Math.round(value).toLocaleString('en-US');
    return [
      '| measure | n | per second | median | p99 |',
      '|---|---|---|---|---|',
      row('append, `sync: true`, one at a time (fsync each)', SYNCED, rate(s.perSecond), s.latency, 'ms'),
      row(
        `append, group commit, ${CALLERS} concurrent callers (until durable)`,
        GROUPED,
        rate(g.perSecond),
        g.latency,
        'ms',
      ),
      row(
        "one allowed call's audit work: redact and digest its arguments, queue its three records",
        CALLS,
        '',
        allowed,
        'µs',
        1,
      ),
      row(
        '`append()` call itself (what an allowed call adds if it does not wait)',
        GROUPED,
        '',
        g.callUs,
        'µs',
        1,
      ),
      `| start-up: read, check and rebuild ${rate(VERIFY_RECORDS)} records | 1 | ${rate((VERIFY_RECORDS / startupMs) * 1000)} records | ${fmt(startupMs, 0)} ms | |`,
      `| \`verify\` (canonical JSON, links, tree, checkpoints) | 1 | ${rate((VERIFY_RECORDS / verifyMs) * 1000)} records | ${fmt(verifyMs, 0)} ms | |`,
      row(
        'verify one receipt offline (signature and inclusion proof)',
        receiptUs.length,
        '',
        receiptUs,
        'µs',
        0,
      ),
    ].join('\n');
  } finally {
    await remove();
  }
}

// `node --import tsx bench/audit.ts` runs this benchmark alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  benchAudit().then((table) => console.log(table));
}
