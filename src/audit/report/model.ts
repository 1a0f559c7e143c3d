import type { TrailEntry } from '../entries.js';
import type { AuditPrincipal } from '../events.js';
import { inPeriod, type Period } from '../period.js';
import { approvalStories, wasApproved, type ApprovalEnd, type ApprovalStory } from '../story.js';
import type { VerifyReport } from '../verify.js';

/**
 * What the evidence report shows, computed from the trail alone (pure: entries in, numbers out), so a
 * test can hold every number on the page to the records it came from.
 *
 * What counts in the period: a call decision whose record falls in it; an approval request any of whose
 * records (request, decision, execution) falls in it, shown whole; a refusal in it; a time to decision
 * whose deciding record falls in it; the policy version in force when the period began and every one
 * loaded during it.
 */

export const SELF_APPROVAL_CODE = 'APPROVER_IS_REQUESTER';

export interface PolicyVersionRow {
  version: string;
  time: string;
  /** `in force at the start` (loaded before the period), `loaded`, or `started` (named by a start). */
  how: 'in force at the start' | 'loaded' | 'started';
  files?: string[];
  rules?: number;
}

export interface ApprovalRow {
  approvalId: string;
  callId?: string;
  server: string;
  tool: string;
  requester?: AuditPrincipal;
  requestedAt?: string;
  rules: string[];
  policyVersion?: string;
  reason?: string;
  decisions: {
    approver: string;
    verdict: 'approve' | 'reject';
    at: string;
    channel: string;
    reason?: string;
  }[];
  end: ApprovalEnd;
  endTime?: string;
  endDetail?: string;
}

export interface RefusalRow {
  time: string;
  approvalId: string;
  approver: string;
  verdict: string;
  channel: string;
  code: string;
  message: string;
  requester?: string;
}

export const DECISION_KINDS = ['allow', 'deny', 'approve', 'shadow'] as const;
export type DecisionKind = (typeof DECISION_KINDS)[number];

export interface DurationBucket {
  label: string;
  /** Upper bound (exclusive) in ms; the last is unbounded. */
  upToMs: number;
  count: number;
}

export interface ReportModel {
  generatedAt: string;
  period: { since?: string; until?: string };
  /** Records in the period, the first and last times among them, and those this version cannot read. */
  records: { count: number; first?: string; last?: string; unknown: number };
  policies: PolicyVersionRow[];
  policyRejections: { time: string; version: string; error: string }[];
  decisions: Record<DecisionKind, number>;
  /** Effects that shadow mode decided but did not enforce. */
  shadow: Record<'allow' | 'deny' | 'approve', number>;
  privileged: ApprovalRow[];
  /** Requests that ended without running: rejected, expired, cancelled, quarantined. */
  refused: ApprovalRow[];
  refusals: RefusalRow[];
  selfApprovals: number;
  timeToDecision: {
    /** Milliseconds from request to the decision that settled it, in record order. */
    samples: number[];
    medianMs?: number;
    p90Ms?: number;
    buckets: DurationBucket[];
  };
  verification?: VerifyReport & { keys: string; witnesses: string[] };
}

const MINUTE = 60_000;
const BUCKETS: readonly [string, number][] = [
  ['< 1 min', MINUTE],
  ['1–5 min', 5 * MINUTE],
  ['5–15 min', 15 * MINUTE],
  ['15–60 min', 60 * MINUTE],
  ['1–4 h', 240 * MINUTE],
  ['4–24 h', 1440 * MINUTE],
  ['≥ 24 h', Number.POSITIVE_INFINITY],
];

const NOT_RUN: ReadonlySet<ApprovalEnd> = new Set(['rejected', 'expired', 'cancelled', 'quarantined']);

/** The median (the mean of the two middle values for an even count) of sorted values. */
export function median(sorted: readonly number[]): number | undefined {
  if (sorted.length === 0) return undefined;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The nearest-rank percentile of sorted values: the smallest value with p% of them at or below it. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

export function reportBuilder(period: Period) {
  const stories = approvalStories();
  const touched = new Set<string>();
  const records: ReportModel['records'] = { count: 0, unknown: 0 };
  const policies: PolicyVersionRow[] = [];
  /** The version in force as the trail is read, and whether the period's start has been passed. */
  let current: PolicyVersionRow | undefined;
  let started = false;
  const policyRejections: ReportModel['policyRejections'] = [];
  const decisions: ReportModel['decisions'] = { allow: 0, deny: 0, approve: 0, shadow: 0 };
  const shadow: ReportModel['shadow'] = { allow: 0, deny: 0, approve: 0 };
  const refusals: RefusalRow[] = [];
  const settledIn = new Set<string>();
  const enterPeriod = () => {
    started = true;
    if (current) policies.push({ ...current, how: 'in force at the start' });
  };

  function add(entry: TrailEntry): void {
    stories.add(entry);
    const event = entry.event;
    const within = inPeriod(period, entry.time);
    if (within && !started) enterPeriod();
    const previous = current?.version;
    if (event?.event === 'policy.loaded') {
      current = {
        version: event.version,
        time: entry.time,
        how: 'loaded',
        files: event.files,
        rules: event.rules,
      };
    } else if (event?.event === 'gatehouse.started' && event.policyVersion !== previous) {
      current = { version: event.policyVersion, time: entry.time, how: 'started' };
    }
    if (!within) return;
    records.count++;
    records.first ??= entry.time;
    records.last = entry.time;
    if (!event) {
      records.unknown++;
      return;
    }
    if ('approvalId' in event && typeof event.approvalId === 'string') touched.add(event.approvalId);
    switch (event.event) {
      case 'policy.loaded':
        // The load a start reports for the version it already named completes that row.
        if (policies.at(-1)?.how === 'started' && policies.at(-1)!.version === event.version) policies.pop();
        policies.push(current!);
        return;
      case 'gatehouse.started':
        // A start names the version it serves; a row only when no load record said so already.
        if (event.policyVersion !== previous) policies.push(current!);
        return;
      case 'policy.rejected':
        policyRejections.push({ time: entry.time, version: event.version, error: event.error });
        return;
      case 'call.decided':
        if (event.mode === 'shadow') {
          decisions.shadow++;
          shadow[event.effect]++;
        } else {
          decisions[event.effect]++;
        }
        return;
      case 'approval.refused':
        refusals.push({
          time: entry.time,
          approvalId: event.approvalId,
          approver: event.approver.id,
          verdict: event.verdict,
          channel: event.channel,
          code: event.code,
          message: event.message,
        });
        return;
      case 'approval.decided':
        if (event.state !== 'pending') settledIn.add(event.approvalId);
        return;
      default:
        return;
    }
  }

  function finish(verification?: ReportModel['verification'], now = new Date()): ReportModel {
    if (!started && period.since) enterPeriod();
    const inPeriodStories = stories.all().filter((s) => touched.has(s.approvalId));
    const samples = stories
      .all()
      .filter((s) => settledIn.has(s.approvalId) && s.requested && s.settled)
      .map((s) => Math.max(0, Date.parse(s.settled!.at) - Date.parse(s.requested!.time)));
    const sorted = [...samples].sort((a, b) => a - b);
    let lower = 0;
    const buckets = BUCKETS.map(([label, upToMs]) => {
      const count = sorted.filter((ms) => ms >= lower && ms < upToMs).length;
      lower = upToMs;
      return { label, upToMs, count };
    });
    for (const refusal of refusals) refusal.requester = stories.get(refusal.approvalId)?.requested?.caller.id;
    return {
      generatedAt: now.toISOString(),
      period: {
        ...(period.since && { since: period.since.toISOString() }),
        ...(period.until && { until: period.until.toISOString() }),
      },
      records,
      policies,
      policyRejections,
      decisions,
      shadow,
      privileged: inPeriodStories.filter(wasApproved).map(row),
      refused: inPeriodStories.filter((s) => !wasApproved(s) && NOT_RUN.has(s.end)).map(row),
      refusals,
      selfApprovals: refusals.filter((r) => r.code === SELF_APPROVAL_CODE).length,
      timeToDecision: { samples, medianMs: median(sorted), p90Ms: percentile(sorted, 90), buckets },
      ...(verification && { verification }),
    };
  }

  return { add, finish };
}

function row(story: ApprovalStory): ApprovalRow {
  const r = story.requested;
  return {
    approvalId: story.approvalId,
    ...(story.callId !== undefined && { callId: story.callId }),
    server: story.server ?? '?',
    tool: story.tool ?? '?',
    ...(r && {
      requester: { id: r.caller.id, groups: r.caller.groups },
      requestedAt: r.time,
      policyVersion: r.policyVersion,
      reason: r.reason,
    }),
    rules: r?.rules ?? [],
    decisions: story.decisions.map((d) => ({
      approver: d.approver.id,
      verdict: d.verdict,
      at: d.at,
      channel: d.channel,
      ...(d.reason !== undefined && { reason: d.reason }),
    })),
    end: story.end,
    ...(story.endTime !== undefined && { endTime: story.endTime }),
    ...(story.endDetail !== undefined && { endDetail: story.endDetail }),
  };
}
