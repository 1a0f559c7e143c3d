import { readTrail } from './entries.js';
import { approvalIdOf } from './story.js';
import { verifyAuditLog, type VerifyOptions, type VerifyReport } from './verify.js';

/**
 * The audit trail of replicas that share one approval store: each replica writes and signs its own
 * log, and one request's records may be spread over them (requested on one replica, decided on a
 * second, executed on a third). Checked together, every log must verify on its own, and every record
 * about a request must find that request's `approval.requested` in one of the logs: a record whose
 * request is in none of them means a replica's log is missing from the set.
 */
export interface ReplicaLogsReport {
  ok: boolean;
  logs: VerifyReport[];
  /** Records about a request that none of the logs records as requested, in log order. */
  orphans: { dir: string; seq: number; approvalId: string; event: string }[];
}

export async function verifyReplicaLogs(
  dirs: readonly string[],
  options: VerifyOptions,
): Promise<ReplicaLogsReport> {
  const logs: VerifyReport[] = [];
  for (const dir of dirs) logs.push(await verifyAuditLog(dir, options));
  const requested = new Set<string>();
  const mentions: ReplicaLogsReport['orphans'] = [];
  for (const dir of dirs) {
    for await (const entry of readTrail(dir)) {
      const approvalId = entry.event && approvalIdOf(entry.event);
      if (!approvalId) continue;
      const event = entry.event!.event;
      if (event === 'approval.requested') requested.add(approvalId);
      // A quarantined record may come from a store older than every log.
      else if (event !== 'approval.quarantined') mentions.push({ dir, seq: entry.seq, approvalId, event });
    }
  }
  const orphans = mentions.filter((m) => !requested.has(m.approvalId));
  return { ok: logs.every((l) => l.ok) && orphans.length === 0, logs, orphans };
}
