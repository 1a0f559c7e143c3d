import { z } from 'zod';
import { describeEvent } from './describe.js';
import { AuditEventSchema, type AuditEvent } from './events.js';
import { ReceiptSchema, verifyReceipt, type Receipt } from './receipt.js';
import { isObject } from '../shared/json.js';

/**
 * Reads a receipt as a holder has it (the receipt itself, or a whole tool result whose
 * `_meta["gatehouse/receipt"]` carries it) and sorts what it says into what the signature proves and
 * what it merely states:
 *
 * - proven: the record's leaf is in the log at the checkpoint a trusted key signed; with the record's
 *   line, everything in that record too (who ran what, the approvals, the argument digest);
 * - checked: approval fields beside the proof that the signed record repeats must repeat it exactly; a
 *   receipt that contradicts its own record is refused;
 * - stated: fields the receipt carries without the record's line (or that the record does not hold)
 *   are shown as the receipt's word only.
 */

export const RECEIPT_META_KEY = 'gatehouse/receipt';

const Approver = z.union([
  z.string(),
  z.looseObject({ id: z.string(), at: z.string().optional() }),
  z.looseObject({ approver: z.looseObject({ id: z.string() }), at: z.string().optional() }),
]);

/** The approval fields beside the proof, read leniently: the receipt's writer may add more. */
const ApprovalFieldsSchema = z.looseObject({
  approvalId: z.string().optional(),
  argumentsDigest: z.string().optional(),
  approvers: z.array(Approver).optional(),
  approvals: z.array(Approver).optional(),
  rule: z.string().optional(),
  rules: z.array(z.string()).optional(),
  policyVersion: z.string().optional(),
});

export interface ReceiptFacts {
  ok: boolean;
  /** Why it does not verify. */
  reason?: string;
  seq?: number;
  treeSize?: number;
  origin?: string;
  key?: string;
  /** The signed record, when the receipt carries its line. */
  record?: { time: string; event?: AuditEvent; description: string };
  approvalId?: string;
  argumentsDigest?: string;
  approvers: { id: string; at?: string }[];
  rules: string[];
  policyVersion?: string;
  /** Which of the approval fields the signed record confirmed. */
  confirmed: string[];
}

/** The receipt inside whatever the holder saved. */
export function extractReceipt(input: unknown): unknown {
  if (isObject(input) && isObject(input._meta) && RECEIPT_META_KEY in input._meta) {
    return input._meta[RECEIPT_META_KEY];
  }
  return input;
}

export function readReceipt(input: unknown, keys: Parameters<typeof verifyReceipt>[1]): ReceiptFacts {
  const receipt = extractReceipt(input);
  const facts: ReceiptFacts = { ok: false, approvers: [], rules: [], confirmed: [] };
  if (!isObject(receipt)) return { ...facts, reason: 'not a receipt: expected a JSON object' };
  const proof = Object.fromEntries(Object.entries(receipt).filter(([k]) => k in ReceiptSchema.shape));
  const verdict = verifyReceipt(proof, keys);
  if (!verdict.ok) return { ...facts, reason: verdict.reason };
  const base = proof as Receipt;
  const fields = ApprovalFieldsSchema.safeParse(
    Object.fromEntries(Object.entries(receipt).filter(([k]) => !(k in ReceiptSchema.shape))),
  );
  if (!fields.success) {
    const issue = fields.error.issues[0]!;
    return { ...facts, reason: `the approval fields: ${issue.path.map(String).join('.')}: ${issue.message}` };
  }
  const approval = fields.data;
  Object.assign(facts, {
    seq: base.seq,
    treeSize: base.treeSize,
    origin: verdict.checkpoint.origin,
    key: verdict.key,
    approvers: [...(approval.approvers ?? []), ...(approval.approvals ?? [])].map(approverOf),
    rules: approval.rules ?? (approval.rule === undefined ? [] : [approval.rule]),
    ...(approval.approvalId !== undefined && { approvalId: approval.approvalId }),
    ...(approval.argumentsDigest !== undefined && { argumentsDigest: approval.argumentsDigest }),
    ...(approval.policyVersion !== undefined && { policyVersion: approval.policyVersion }),
  });
  if (base.line === undefined) return { ...facts, ok: true };

  const line = JSON.parse(base.line) as { time: string; record: unknown };
  const parsed = AuditEventSchema.safeParse(line.record);
  const event = parsed.success ? parsed.data : undefined;
  facts.record = {
    time: line.time,
    ...(event && { event }),
    description: event ? describeEvent(event) : 'a record this version of Gatehouse does not know',
  };
  const contradiction = event && contradict(facts, event);
  if (contradiction) return { ...facts, reason: contradiction };
  return { ...facts, ok: true };
}

function approverOf(approver: z.infer<typeof Approver>): { id: string; at?: string } {
  if (typeof approver === 'string') return { id: approver };
  const id = typeof approver.id === 'string' ? approver.id : (approver.approver as { id: string }).id;
  return approver.at === undefined ? { id } : { id, at: approver.at };
}

/** The first approval field the signed record contradicts; records what it confirmed. */
function contradict(facts: ReceiptFacts, event: AuditEvent): string | undefined {
  const record = event as {
    approvalId?: string;
    argumentsDigest?: string;
    approvals?: { approver: { id: string }; at: string }[];
    rules?: string[];
    policyVersion?: string;
  };
  if (facts.approvalId !== undefined && 'approvalId' in record) {
    if (record.approvalId !== facts.approvalId) {
      return `the receipt names approval ${facts.approvalId}, but its signed record is of approval ${record.approvalId ?? '(none)'}`;
    }
    facts.confirmed.push('approvalId');
  }
  if (facts.argumentsDigest !== undefined && record.argumentsDigest !== undefined) {
    if (record.argumentsDigest !== facts.argumentsDigest) {
      return `the receipt's argument digest ${facts.argumentsDigest} is not the one its signed record holds (${record.argumentsDigest})`;
    }
    facts.confirmed.push('argumentsDigest');
  }
  if (facts.approvers.length > 0 && record.approvals !== undefined) {
    for (const approver of facts.approvers) {
      const found = record.approvals.find(
        (a) => a.approver.id === approver.id && (approver.at === undefined || a.at === approver.at),
      );
      if (!found) {
        return `the receipt names approver ${approver.id}${approver.at ? ` at ${approver.at}` : ''}, whom its signed record does not list`;
      }
    }
    facts.confirmed.push('approvers');
  }
  if (facts.rules.length > 0 && record.rules !== undefined) {
    const missing = facts.rules.find((rule) => !record.rules!.includes(rule));
    if (missing !== undefined) {
      return `the receipt names rule ${missing}, which its signed record does not (${record.rules.join(', ') || 'none'})`;
    }
    facts.confirmed.push('rules');
  }
  if (facts.policyVersion !== undefined && record.policyVersion !== undefined) {
    if (record.policyVersion !== facts.policyVersion) {
      return `the receipt names policy version ${facts.policyVersion}, its signed record ${record.policyVersion}`;
    }
    facts.confirmed.push('policyVersion');
  }
  return undefined;
}
