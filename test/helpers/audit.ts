import { readAuditRecords } from '../../src/audit/files.js';
import type { AuditEvent } from '../../src/audit/events.js';
import { AuditEventSchema } from '../../src/audit/events.js';
import { readKeyFile } from '../../src/audit/keys.js';
import { verifyAuditLog } from '../../src/audit/verify.js';

/** Every record of the audit log in `dir`, each checked against the event vocabulary. */
export async function auditEvents(dir: string): Promise<(AuditEvent & { seq: number; time: string })[]> {
  const events: (AuditEvent & { seq: number; time: string })[] = [];
  for await (const line of readAuditRecords(dir)) {
    events.push({ ...AuditEventSchema.parse(line.record), seq: line.seq, time: line.time });
  }
  return events;
}

/** The events about one call or approval request, in log order, by name. */
export const storyOf = (events: AuditEvent[], id: string): string[] =>
  events
    .filter((e) => ('callId' in e && e.callId === id) || ('approvalId' in e && e.approvalId === id))
    .map((e) => e.event);

/** `gatehouse audit verify`'s verdict on `dir`, with the keys of `keyFile`. */
export async function verifyTrail(dir: string, keyFile: string) {
  const keys = await readKeyFile(keyFile);
  return verifyAuditLog(dir, { keys: keys.verifiers });
}
