import type { AuditCaller, AuditEvent, AuditPrincipal, RedactedArguments } from './events.js';
import type { TrailEntry } from './entries.js';

/**
 * The story of one approval request, folded from its events in log order: who asked, for what, under
 * which rules; where it was delivered; who decided, when and how; which decisions were refused; how it
 * ended. `audit show` prints one; the evidence report tabulates them all.
 */

export type ApprovalEnd =
  | 'pending'
  | 'approved'
  | 'rejected'
  | 'expired'
  | 'cancelled'
  | 'quarantined'
  | 'executing'
  | 'executed'
  | 'tool error'
  | 'failed'
  | 'unknown';

export interface ApprovalStory {
  approvalId: string;
  callId?: string;
  /** Absent when the log holds later events of a request whose own record it lacks. */
  requested?: {
    seq: number;
    time: string;
    caller: AuditCaller;
    server: string;
    tool: string;
    exposedName: string;
    rules: string[];
    reason: string;
    policyVersion: string;
    approvers: string[];
    quorum: number;
    expiresAt: string;
    arguments: RedactedArguments;
  };
  server?: string;
  tool?: string;
  deliveries: { time: string; channel: string; ok: boolean; target?: string; error?: string }[];
  decisions: {
    seq: number;
    time: string;
    approver: AuditPrincipal;
    verdict: 'approve' | 'reject';
    at: string;
    channel: string;
    reason?: string;
    state: string;
  }[];
  refusals: {
    seq: number;
    time: string;
    approver: AuditPrincipal;
    verdict: 'approve' | 'reject';
    channel: string;
    code: string;
    message: string;
  }[];
  /** The decision that settled the request (its state left `pending`). */
  settled?: { time: string; at: string; verdict: 'approve' | 'reject' };
  end: ApprovalEnd;
  /** When it reached `end`, and what the record says about it. */
  endTime?: string;
  endDetail?: string;
  /** Every event of the request, in log order. */
  entries: TrailEntry[];
}

type ApprovalEvent = Extract<AuditEvent, { approvalId?: string }>;

/** The approval id an event concerns, if any. */
export function approvalIdOf(event: AuditEvent): string | undefined {
  return 'approvalId' in event ? (event as ApprovalEvent).approvalId : undefined;
}

export function callIdOf(event: AuditEvent): string | undefined {
  return 'callId' in event ? (event as { callId: string }).callId : undefined;
}

/** Folds events into stories, one per approval id, in the order requests first appear. */
export function approvalStories() {
  const stories = new Map<string, ApprovalStory>();
  const storyOf = (approvalId: string): ApprovalStory => {
    let story = stories.get(approvalId);
    if (!story) {
      story = { approvalId, deliveries: [], decisions: [], refusals: [], end: 'pending', entries: [] };
      stories.set(approvalId, story);
    }
    return story;
  };
  return {
    add(entry: TrailEntry): void {
      const event = entry.event;
      const approvalId = event && approvalIdOf(event);
      if (!event || approvalId === undefined) return;
      const story = storyOf(approvalId);
      story.entries.push(entry);
      apply(story, entry, event);
    },
    get: (approvalId: string) => stories.get(approvalId),
    all: (): ApprovalStory[] => [...stories.values()],
  };
}

function finish(story: ApprovalStory, end: ApprovalEnd, time: string, detail?: string): void {
  story.end = end;
  story.endTime = time;
  story.endDetail = detail;
}

function apply(story: ApprovalStory, { seq, time }: TrailEntry, event: AuditEvent): void {
  switch (event.event) {
    case 'approval.requested': {
      const { event: _name, approvalId: _id, callId, digest: _d, toolDefinitionDigest: _t, ...rest } = event;
      story.requested = { seq, time, ...rest };
      story.callId = callId;
      [story.server, story.tool] = [event.server, event.tool];
      return;
    }
    case 'approval.delivered': {
      const { event: _name, approvalId: _id, ...delivery } = event;
      story.deliveries.push({ time, ...delivery });
      return;
    }
    case 'approval.decided': {
      const { event: _name, approvalId: _id, ...decision } = event;
      story.decisions.push({ seq, time, ...decision });
      if (event.state !== 'pending' && story.settled === undefined) {
        story.settled = { time, at: event.at, verdict: event.verdict };
      }
      if (event.state === 'approved' || event.state === 'rejected') finish(story, event.state, time);
      return;
    }
    case 'approval.refused': {
      const { event: _name, approvalId: _id, ...refusal } = event;
      story.refusals.push({ seq, time, ...refusal });
      return;
    }
    case 'approval.expired':
      return finish(story, 'expired', time, `it expired at ${event.expiresAt}`);
    case 'approval.cancelled':
      return finish(story, 'cancelled', time, `${event.by ? `${event.by.id}: ` : ''}${event.reason}`);
    case 'approval.quarantined':
      return finish(story, 'quarantined', time, event.reason);
    case 'call.executing':
      return finish(story, 'executing', time);
    case 'call.executed':
      return finish(
        story,
        event.isError ? 'tool error' : 'executed',
        time,
        `result ${event.resultDigest}${event.isError ? ', the tool reported an error' : ''}`,
      );
    case 'call.failed':
      return finish(
        story,
        'failed',
        time,
        `${event.reachedServer ? '' : 'stopped before reaching the server: '}${event.error.code}: ${event.error.message}`,
      );
    case 'call.unknown':
      [story.server, story.tool] = [story.server ?? event.server, story.tool ?? event.tool];
      return finish(story, 'unknown', time, event.reason);
    default:
      return;
  }
}

/** An approval that ran, or was cleared to: the privileged actions of the report. */
export function wasApproved(story: ApprovalStory): boolean {
  return (
    story.settled?.verdict === 'approve' || story.entries.some((e) => e.event?.event === 'call.executing')
  );
}
