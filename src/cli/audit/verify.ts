import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readReceipt, type ReceiptFacts } from '../../audit/receiptFacts.js';
import { verifyReplicaLogs } from '../../audit/replicas.js';
import { verifyAuditLog, type VerifyReport } from '../../audit/verify.js';
import { GatehouseError } from '../../errors.js';
import { visible } from '../approvals.js';
import type { CliIo } from '../options.js';
import {
  auditLocation,
  keyFileOf,
  keyLabels,
  verifierKeys,
  type KeyFlags,
  type LocationFlags,
  type VerifierKeys,
} from './location.js';

/** `gatehouse audit verify` and `verify-receipt`: exit 0 when everything holds, 1 naming what does not. */

export interface VerifyFlags extends LocationFlags, KeyFlags {
  from?: string;
  witness?: string[];
  /** Other replicas' logs, checked together with this one. */
  replica?: string[];
  json?: boolean;
}

export interface Verification {
  report: VerifyReport;
  keys: VerifierKeys;
  witnesses: string[];
}

/** Verifies the log of `flags` (shared with the report, which shows the same result). */
export async function verifyFromFlags(flags: VerifyFlags): Promise<Verification> {
  const from = flags.from === undefined ? undefined : Number(flags.from);
  if (from !== undefined && (!Number.isSafeInteger(from) || from < 0 || !/^\d+$/.test(flags.from!))) {
    throw new GatehouseError('USAGE', `--from ${flags.from}: give a record's seq (0, 1, 2, ...)`);
  }
  const keys = await verifierKeys(flags, () => keyFileOf(flags));
  const location = auditLocation(flags);
  // The mirror the config names is a witness whenever it holds checkpoints: it is what catches a log
  // rewritten together with its own checkpoint file.
  const mirror = location.mirrorCheckpoints;
  const witnesses = [...(flags.witness ?? []), ...(mirror && existsSync(mirror) ? [mirror] : [])];
  const report = await verifyAuditLog(location.dir, { keys: keys.keys, from, witnesses });
  return { report, keys, witnesses };
}

export async function auditVerify(flags: VerifyFlags, io: CliIo): Promise<number> {
  if (flags.replica?.length) return verifyReplicas(flags, flags.replica, io);
  const verification = await verifyFromFlags(flags);
  const { report } = verification;
  if (flags.json) io.out(JSON.stringify(report, null, 2));
  else io.out(formatVerification(verification).join('\n'));
  return report.ok ? 0 : 1;
}

/** This log and the other replicas' logs, each on its own and then together. */
async function verifyReplicas(flags: VerifyFlags, replicas: readonly string[], io: CliIo): Promise<number> {
  const mine = await verifyFromFlags(flags);
  const dirs = [mine.report.dir, ...replicas.map((dir) => path.resolve(dir))];
  const result = await verifyReplicaLogs(dirs, {
    keys: mine.keys.keys,
    ...(flags.from === undefined ? {} : { from: Number(flags.from) }),
  });
  if (flags.json) {
    io.out(JSON.stringify(result, null, 2));
    return result.ok ? 0 : 1;
  }
  const lines = result.logs.flatMap((report, i) =>
    formatVerification({ report, keys: mine.keys, witnesses: i === 0 ? mine.witnesses : [] }),
  );
  if (result.orphans.length === 0) {
    lines.push(
      result.ok
        ? `OK: ${dirs.length} replica logs verify together: every request they record was requested in one of them`
        : `FAILED: not every replica log verifies`,
    );
  } else {
    const first = result.orphans[0]!;
    lines.push(
      `FAILED: ${result.orphans.length} record(s) concern requests that none of the ${dirs.length} logs records as ` +
        'requested: a replica log is missing from the set',
      `  first: ${first.event} of approval ${first.approvalId}, record ${first.seq} in ${first.dir}`,
    );
  }
  io.out(lines.join('\n'));
  return result.ok ? 0 : 1;
}

export function formatVerification({ report, keys, witnesses }: Verification): string[] {
  const lines: string[] = [];
  const latest = report.latestCheckpoint;
  if (report.ok) {
    lines.push(`OK: the audit log in ${report.dir} verifies`);
  } else {
    const problem = report.problem!;
    lines.push(
      `FAILED: the audit log in ${report.dir} does not verify`,
      `  first bad record: ${problem.seq ?? '(none named)'}${problem.at ? ` at ${problem.at}` : ''}`,
      `  why: ${problem.message} [${problem.reason}]`,
    );
  }
  lines.push(
    `  records: ${report.records}${report.ok ? '' : ' read before the problem'}, ${report.checked} checked line by line`,
    `  checkpoints: ${report.checkpoints} verified` +
      (latest
        ? `; the latest, ${latest.source}, covers ${latest.size} record(s), root ${latest.rootHash}, signed by ${latest.key}`
        : ''),
    `  keys: ${keys.source} (${keyLabels(keys.keys)})`,
  );
  if (witnesses.length > 0) lines.push(`  witnesses: ${witnesses.join(', ')}`);
  if (report.uncovered) {
    lines.push(
      `  note: records ${report.uncovered.from} to ${report.uncovered.to} are not covered by a signed checkpoint yet: ` +
        'their links hold, but no signature vouches for them (Gatehouse signs one within audit.checkpoint.everySeconds)',
    );
  }
  if (keys.local) {
    lines.push(
      '  note: the keys came from the key file beside the log; whoever can rewrite the log may hold it too. ' +
        'An auditor verifies with the published verifier key: --key or --keys.',
    );
  }
  return lines;
}

export async function auditVerifyReceipt(file: string, flags: KeyFlags, io: CliIo): Promise<number> {
  if ((flags.key ?? []).length === 0 && flags.keys === undefined) {
    throw new GatehouseError(
      'USAGE',
      'verify-receipt needs the verifier key to trust: --key PUBKEY or --keys FILE',
    );
  }
  const { keys } = await verifierKeys(flags, () => {
    throw new GatehouseError('INTERNAL', 'no key file for receipts');
  });
  let input: unknown;
  try {
    input = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const reason =
      error instanceof SyntaxError ? 'not JSON' : ((error as NodeJS.ErrnoException).code ?? error);
    throw new GatehouseError('USAGE', `${file}: cannot read the receipt (${String(reason)})`);
  }
  const facts = readReceipt(input, keys);
  io.out(formatReceipt(file, facts).join('\n'));
  return facts.ok ? 0 : 1;
}

function formatReceipt(file: string, facts: ReceiptFacts): string[] {
  if (!facts.ok && facts.seq === undefined) return [`FAILED: ${file}: ${facts.reason}`];
  const lines = [
    facts.ok ? `OK: ${file} verifies` : `FAILED: ${file}: ${facts.reason}`,
    `  proven: record ${facts.seq} is in the log "${visible(facts.origin!)}" of ${facts.treeSize} record(s), ` +
      `under a checkpoint signed by ${facts.key}`,
  ];
  if (facts.record) {
    lines.push(`  proven: the record, written ${facts.record.time}: ${visible(facts.record.description)}`);
  } else {
    lines.push('  (the receipt does not carry the record itself: its content is not shown, only its place)');
  }
  const how = (field: string) =>
    facts.confirmed.includes(field) ? 'proven (in the signed record)' : 'stated';
  if (facts.approvalId !== undefined)
    lines.push(`  ${how('approvalId')}: approval ${visible(facts.approvalId)}`);
  if (facts.approvers.length > 0) {
    const approvers = facts.approvers.map((a) => `${visible(a.id)}${a.at ? ` at ${a.at}` : ''}`).join(', ');
    lines.push(`  ${how('approvers')}: approved by ${approvers}`);
  }
  if (facts.argumentsDigest !== undefined) {
    lines.push(
      `  ${how('argumentsDigest')}: arguments digest ${visible(facts.argumentsDigest)} ` +
        "(keyed: matching it to arguments takes the audit's digest key)",
    );
  }
  if (facts.rules.length > 0) lines.push(`  ${how('rules')}: rule ${facts.rules.map(visible).join(', ')}`);
  if (facts.policyVersion !== undefined)
    lines.push(`  ${how('policyVersion')}: policy version ${visible(facts.policyVersion)}`);
  return lines;
}
