import type { ApprovalSummary } from './summary.js';

/**
 * Gatehouse's own words for a request, the same on every channel that shows one: its headline (what
 * state it is in, how it ended) and its times.
 */

/** What the request's message says first: where it stands, or how it ended. */
export function headline(summary: ApprovalSummary): string {
  switch (summary.outcome?.kind) {
    case 'executed':
      return 'Approved and run';
    case 'executed-with-tool-error':
      return 'Approved and run, but the tool reported an error';
    case 'failed':
      return 'Approved, but the call failed';
    case 'rejected':
      return 'Rejected';
    case 'expired':
      return 'Expired without a decision';
    case 'cancelled':
      return 'Cancelled';
    case 'unknown':
      return 'Outcome unknown: Gatehouse stopped while it ran';
    default:
      return summary.state === 'pending' ? 'Approval requested' : 'Approved: running';
  }
}

/** `2026-11-30 17:20 UTC`: the same for every viewer, whatever their time zone. */
export function clock(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
