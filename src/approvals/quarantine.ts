import { z } from 'zod';
import { ApprovalRequestSchema, type ApprovalRequest } from './request.js';
import { isOpen, verifyDigest } from './states.js';

/**
 * Records of the store that cannot be trusted: one that no longer matches the request schema, or whose
 * stored invocation no longer hashes to its digest (someone or something changed the file), or that
 * breaks what only a hand-edited store breaks (an id twice, two open requests for one call). Such a
 * record is set aside as it was found: it never executes and takes no decisions, it stays visible in
 * the API, the page and `status`, and every other request is served as usual. One bad record must not
 * take the approval service down, and must not run either.
 */

export const QUARANTINE_CODES = [
  'RECORD_INVALID',
  'DIGEST_MISMATCH',
  'DUPLICATE_ID',
  'DUPLICATE_OPEN_DIGEST',
] as const;

export const QuarantinedRecordSchema = z.strictObject({
  /** The record's own id when it has a usable one, made unique among quarantined records. */
  id: z.string().min(1),
  quarantinedAt: z.iso.datetime({ offset: true }),
  problem: z.strictObject({ code: z.enum(QUARANTINE_CODES), message: z.string() }),
  /** The record exactly as it was found, whatever it holds. */
  record: z.unknown(),
});
export type QuarantinedRecord = z.infer<typeof QuarantinedRecordSchema>;

/** What an operator does about a quarantined record; shown with it everywhere. */
export const QUARANTINE_RECOVERY =
  'It never runs and takes no decisions. Gatehouse keeps the record as it found it, under "quarantined" ' +
  'in the store file. Only Gatehouse writes that file: find out what changed it. To clear the record, ' +
  'stop Gatehouse, delete the entry from "quarantined" and start again; if the call is still wanted, the ' +
  'requester makes it again, which creates a new request.';

/**
 * Splits a store's raw records into requests that can be trusted and quarantined records, with the
 * reason for each. `taken` holds ids already in use by quarantined records (from an earlier start).
 */
export function screenRecords(
  records: readonly unknown[],
  now: Date,
  taken: ReadonlySet<string> = new Set(),
): { valid: ApprovalRequest[]; quarantined: QuarantinedRecord[] } {
  const checked = records.map(check);
  const ids = countBy(records.map(rawId));
  const openDigests = countBy(
    checked.map((c) => ('request' in c && isOpen(c.request.state) ? c.request.digest : undefined)),
  );
  const valid: ApprovalRequest[] = [];
  const quarantined: QuarantinedRecord[] = [];
  const used = new Set(taken);
  checked.forEach((result, index) => {
    const record = records[index];
    const id = rawId(record);
    let problem = 'problem' in result ? result.problem : undefined;
    if (!problem && id !== undefined && ids.get(id)! > 1) {
      problem = { code: 'DUPLICATE_ID', message: `${ids.get(id)} records in the store have the id ${id}` };
    }
    if (!problem && 'request' in result && isOpen(result.request.state)) {
      const count = openDigests.get(result.request.digest)!;
      if (count > 1) {
        problem = {
          code: 'DUPLICATE_OPEN_DIGEST',
          message: `${count} open requests in the store are bound to the same call (digest ${result.request.digest})`,
        };
      }
    }
    if (!problem && 'request' in result) {
      valid.push(result.request);
      return;
    }
    quarantined.push({
      id: unique(id ?? `record-${index + 1}`, used),
      quarantinedAt: now.toISOString(),
      problem: problem!,
      record,
    });
  });
  return { valid, quarantined };
}

type Problem = QuarantinedRecord['problem'];

function check(record: unknown): { request: ApprovalRequest } | { problem: Problem } {
  const parsed = ApprovalRequestSchema.safeParse(record);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`);
    const shown =
      issues.slice(0, 5).join('; ') + (issues.length > 5 ? `; and ${issues.length - 5} more` : '');
    return { problem: { code: 'RECORD_INVALID', message: `the record is not a valid request: ${shown}` } };
  }
  if (!verifyDigest(parsed.data)) {
    return {
      problem: {
        code: 'DIGEST_MISMATCH',
        message:
          'the stored invocation (server, tool, tool definition, arguments, caller or policy version) ' +
          'does not match its digest: the record was changed after it was written',
      },
    };
  }
  return { request: parsed.data };
}

function rawId(record: unknown): string | undefined {
  const id = (record as { id?: unknown } | null)?.id;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

function countBy(keys: readonly (string | undefined)[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) if (key !== undefined) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

function unique(base: string, used: Set<string>): string {
  let id = base;
  for (let n = 2; used.has(id); n++) id = `${base}~${n}`;
  used.add(id);
  return id;
}

/** One quarantined record as an operator reads it: which, why, and what to do. */
export function quarantineProblem(record: QuarantinedRecord): string {
  return `approval ${record.id} is quarantined (${record.problem.code}): ${record.problem.message}. ${QUARANTINE_RECOVERY}`;
}
