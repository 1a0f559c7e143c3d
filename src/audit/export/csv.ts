import { stringify } from 'csv-stringify/sync';
import { canonicalJson } from '../../approvals/digest.js';
import { describeEvent, eventFacts } from '../describe.js';
import type { TrailEntry } from '../entries.js';

/**
 * The trail as CSV for spreadsheets: one row a record, the columns an auditor filters on, a sentence,
 * and the whole record as JSON in the last column so nothing is lost.
 *
 * Every cell is quoted (RFC 4180, doubled inner quotes) and a cell that starts with = + - @ tab or CR
 * (or their full-width forms) gets a leading apostrophe, as OWASP's CSV injection guidance asks:
 * arguments, reasons and tool names are attacker-controlled, and a spreadsheet would run a formula.
 * csv-stringify does both (`escape_formulas`, `quoted`).
 */

export const CSV_COLUMNS = [
  'seq',
  'time',
  'event',
  'approval_id',
  'call_id',
  'actor',
  'actor_groups',
  'server',
  'tool',
  'decision',
  'rules',
  'policy_version',
  'outcome',
  'summary',
  'record',
] as const;

const OPTIONS = { escape_formulas: true, quoted: true, eof: true } as const;

export const csvHeader = (): string => stringify([[...CSV_COLUMNS]], OPTIONS);

export function csvRow(entry: TrailEntry): string {
  const facts = entry.event ? eventFacts(entry.event) : {};
  const cells: string[] = [
    String(entry.seq),
    entry.time,
    entry.event?.event ?? String(entry.record.event ?? ''),
    facts.approvalId ?? '',
    facts.callId ?? '',
    facts.actor?.id ?? '',
    facts.actor?.groups.join(' ') ?? '',
    facts.server ?? '',
    facts.tool ?? '',
    facts.decision ?? '',
    facts.rules?.join(' ') ?? '',
    facts.policyVersion ?? '',
    facts.outcome ?? '',
    entry.event ? describeEvent(entry.event) : `not an event this version knows: ${entry.unknown}`,
    canonicalJson(entry.record),
  ];
  return stringify([cells], OPTIONS);
}
