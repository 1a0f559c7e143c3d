import { GatehouseError } from '../errors.js';
import { invocationDigest, toolDefinitionDigest } from './digest.js';
import {
  APPROVAL_STATES,
  ApprovalRequestSchema,
  type ApprovalRequest,
  type ApprovalState,
  type Execution,
  type ExecutionError,
  type Identity,
  type Requirement,
  type ToolDefinition,
} from './request.js';

/**
 * The approval state machine, pure: every function takes a request and `now` and returns a new request
 * or throws a GatehouseError. The store applies these inside its compare-and-set, so the rules here are
 * the only place that decides what a decision or an expiry does.
 */

/**
 * Allowed changes. `approved` may still end without running: expired (the executor re-checks the ttl),
 * cancelled (the client gave up before execution began) or failed with no `startedAt` (the re-check
 * found a deny or a changed tool definition). `unknown` is a request found `executing` after a crash:
 * it may or may not have run, so it is never re-run on its own.
 */
export const TRANSITIONS: Readonly<Record<ApprovalState, readonly ApprovalState[]>> = {
  pending: ['approved', 'rejected', 'expired', 'cancelled'],
  approved: ['executing', 'failed', 'expired', 'cancelled'],
  executing: ['executed', 'failed', 'unknown'],
  executed: [],
  failed: [],
  rejected: [],
  expired: [],
  cancelled: [],
  unknown: [],
};

/** Every state but pending: decided, running or ended (the page's "recent"). */
export const NOT_PENDING: readonly ApprovalState[] = APPROVAL_STATES.filter((state) => state !== 'pending');

/** States in which a request still binds its digest: a retry of the same call joins it. */
export const OPEN_STATES: readonly ApprovalState[] = ['pending', 'approved', 'executing'];

export function canTransition(from: ApprovalState, to: ApprovalState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isOpen(state: ApprovalState): boolean {
  return OPEN_STATES.includes(state);
}

export function isTerminal(state: ApprovalState): boolean {
  return TRANSITIONS[state].length === 0;
}

/** When a request in a final state ended: its execution finished, or it was closed without one. */
export function endedAt(request: ApprovalRequest): string | undefined {
  if (!isTerminal(request.state)) return undefined;
  return request.execution?.finishedAt ?? request.closed?.at;
}

/** What the decision point and the call provide; the rest of a request is derived. */
export interface NewApprovalRequest {
  id: string;
  server: string;
  tool: string;
  exposedName: string;
  toolDefinitionDigest: string;
  /** What toolDefinitionDigest is the digest of, shown to approvers. */
  toolDefinition?: ToolDefinition;
  /** See ApprovalRequest.definitionChangedSince. */
  definitionChangedSince?: ApprovalRequest['definitionChangedSince'];
  arguments: Record<string, unknown> | undefined;
  caller: Identity & { transport?: 'stdio' | 'http'; client?: { name: string; version: string } };
  reason: string;
  /** One per matching approve rule; approvers, quorum and rule ids are derived from them. */
  requirements: Requirement[];
  ttlMs: number;
  channels?: string[];
  policyVersion: string;
}

/** A pending request bound to the digest of its invocation. Throws on input the schema refuses. */
export function newApprovalRequest(input: NewApprovalRequest, now: Date): ApprovalRequest {
  const requirements = [...input.requirements].sort((a, b) => compare(a.rule, b.rule));
  const request = {
    id: input.id,
    digest: invocationDigest({ ...input, callerId: input.caller.id }),
    server: input.server,
    tool: input.tool,
    exposedName: input.exposedName,
    toolDefinitionDigest: input.toolDefinitionDigest,
    ...(input.toolDefinition ? { toolDefinition: input.toolDefinition } : {}),
    ...(input.definitionChangedSince ? { definitionChangedSince: input.definitionChangedSince } : {}),
    arguments: input.arguments ?? {},
    caller: {
      id: input.caller.id,
      groups: [...input.caller.groups],
      ...(input.caller.transport ? { transport: input.caller.transport } : {}),
      ...(input.caller.client ? { client: { ...input.caller.client } } : {}),
    },
    rules: requirements.map((r) => r.rule),
    reason: input.reason,
    approvers: [...new Set(requirements.flatMap((r) => r.approvers))].sort(compare),
    quorum: Math.max(...requirements.map((r) => r.quorum)),
    requirements,
    ttlMs: input.ttlMs,
    expiresAt: new Date(now.getTime() + input.ttlMs).toISOString(),
    ...(input.channels ? { channels: input.channels } : {}),
    policyVersion: input.policyVersion,
    createdAt: now.toISOString(),
    state: 'pending',
    decisions: [],
  };
  return ApprovalRequestSchema.parse(request);
}

/**
 * Whether the stored fields still hash to the stored digest, and the stored tool definition (what
 * approvers are shown) to the definition digest: run before executing stored arguments.
 */
export function verifyDigest(request: ApprovalRequest): boolean {
  const definition = request.toolDefinition;
  if (definition && toolDefinitionDigest(definition) !== request.toolDefinitionDigest) return false;
  return invocationDigest({ ...request, callerId: request.caller.id }) === request.digest;
}

/** Whether `principal` matches one of the requirement's approver entries. Says nothing about the requester. */
export function isListed(requirement: Requirement, principal: Identity): boolean {
  return requirement.approvers.some((entry) =>
    entry.startsWith('group:')
      ? principal.groups.includes(entry.slice('group:'.length))
      : principal.id === (entry.startsWith('user:') ? entry.slice('user:'.length) : entry),
  );
}

/** The requirements a principal's approval counts toward: none for the requester, whatever the lists say. */
export function countsToward(request: ApprovalRequest, principal: Identity): Requirement[] {
  if (principal.id === request.caller.id) return [];
  return request.requirements.filter((requirement) => isListed(requirement, principal));
}

export interface RequirementTally {
  rule: string;
  quorum: number;
  /** Distinct ids of listed approvers other than the requester who approved, in decision order. */
  approvedBy: string[];
  met: boolean;
}

/**
 * Recounts from the decision history rather than trusting a stored counter, and re-applies the
 * eligibility rules, so even a hand-edited store cannot make the requester or a stranger count.
 */
export function tally(request: ApprovalRequest): RequirementTally[] {
  return request.requirements.map((requirement) => {
    const approvedBy: string[] = [];
    for (const { approver, decision } of request.decisions) {
      if (decision !== 'approve' || approver.id === request.caller.id) continue;
      if (isListed(requirement, approver) && !approvedBy.includes(approver.id)) approvedBy.push(approver.id);
    }
    return {
      rule: requirement.rule,
      quorum: requirement.quorum,
      approvedBy,
      met: approvedBy.length >= requirement.quorum,
    };
  });
}

export function quorumReached(request: ApprovalRequest): boolean {
  return tally(request).every((t) => t.met);
}

export interface DecisionInput {
  /** As authenticated by the channel that carried the decision. */
  approver: Identity;
  decision: 'approve' | 'reject';
  /** Required for a rejection: it is what the model and the requester are told. */
  reason?: string;
  channel?: string;
}

/**
 * Records one approver's decision. Refuses (typed errors) a request that is not pending or past its
 * expiry, the requester, an approver listed for none of the rules, a second decision by the same
 * approver, and a rejection without a reason. A rejection is final; the approval that completes every
 * requirement's quorum makes the request `approved`.
 */
export function applyDecision(request: ApprovalRequest, input: DecisionInput, now: Date): ApprovalRequest {
  const context = { id: request.id, approver: input.approver.id };
  if (request.state !== 'pending') {
    throw new GatehouseError(
      'APPROVAL_NOT_PENDING',
      `approval ${request.id} is already ${request.state}: only a pending request takes decisions`,
      { ...context, state: request.state },
    );
  }
  if (isExpired(request, now)) {
    throw new GatehouseError('APPROVAL_EXPIRED', `approval ${request.id} expired at ${request.expiresAt}`, {
      ...context,
      expiresAt: request.expiresAt,
    });
  }
  if (input.approver.id === request.caller.id) {
    throw new GatehouseError(
      'APPROVER_IS_REQUESTER',
      `${input.approver.id} made this request and cannot decide on it; another approver must`,
      context,
    );
  }
  if (countsToward(request, input.approver).length === 0) {
    throw new GatehouseError(
      'APPROVER_NOT_LISTED',
      `${input.approver.id} is not an approver for this request (approvers: ${request.approvers.join(', ')})`,
      context,
    );
  }
  const previous = request.decisions.find((d) => d.approver.id === input.approver.id);
  if (previous) {
    throw new GatehouseError(
      'APPROVAL_ALREADY_DECIDED',
      `${input.approver.id} already decided on approval ${request.id} (${previous.decision} at ${previous.at})`,
      context,
    );
  }
  const reason = input.reason?.trim();
  if (input.decision === 'reject' && !reason) {
    throw new GatehouseError('APPROVAL_DECISION_INVALID', 'a rejection needs a reason', context);
  }

  const at = now.toISOString();
  const decided: ApprovalRequest = {
    ...request,
    decisions: [
      ...request.decisions,
      {
        approver: { id: input.approver.id, groups: [...input.approver.groups] },
        decision: input.decision,
        ...(reason ? { reason } : {}),
        at,
        ...(input.channel ? { channel: input.channel } : {}),
      },
    ],
  };
  if (input.decision === 'reject') {
    return move(decided, 'rejected', {
      closed: { at, reason: `rejected by ${input.approver.id}: ${reason}` },
    });
  }
  return quorumReached(decided) ? move(decided, 'approved', {}) : decided;
}

/** The ttl runs from creation and bounds execution too: an approval is no licence to run days later. */
export function isExpired(request: ApprovalRequest, now: Date): boolean {
  return now.getTime() >= Date.parse(request.expiresAt);
}

/**
 * The request as the clock makes it at `now`: a pending or approved request whose ttl has run out is
 * `expired`, closed at its expiry; any other request is returned unchanged. Every reader (the API, the
 * page, the model's results, the follow-up tools, tasks) sees requests through this, so nothing reads as
 * pending past its expiry; the sweep only persists what it returns.
 */
export function asOf(request: ApprovalRequest, now: Date): ApprovalRequest {
  if (!canTransition(request.state, 'expired') || !isExpired(request, now)) return request;
  const reason =
    request.state === 'pending'
      ? 'expired without enough approvals'
      : 'expired after approval, before it ran';
  return move(request, 'expired', { closed: { at: request.expiresAt, reason } });
}

/** The client cancelled the call, or an operator withdrew the request, before execution began. */
export function cancel(request: ApprovalRequest, reason: string, now: Date): ApprovalRequest {
  return move(request, 'cancelled', { closed: { at: now.toISOString(), reason } });
}

/** The executor's claim (approved → executing), recorded before the downstream call. Refuses after the ttl. */
export function startExecution(request: ApprovalRequest, now: Date): ApprovalRequest {
  if (request.state === 'approved' && isExpired(request, now)) {
    throw new GatehouseError('APPROVAL_EXPIRED', `approval ${request.id} expired at ${request.expiresAt}`, {
      id: request.id,
      expiresAt: request.expiresAt,
    });
  }
  return move(request, 'executing', { execution: { startedAt: now.toISOString() } });
}

/** The re-check before execution refused an approved request (a deny now, or a changed tool): it never ran. */
export function blockExecution(request: ApprovalRequest, error: ExecutionError, now: Date): ApprovalRequest {
  // `executing` may fail too, but that is finishExecution's: it keeps `startedAt`.
  if (request.state !== 'approved') throw transitionError(request, 'failed');
  return move(request, 'failed', { execution: { finishedAt: now.toISOString(), error } });
}

/** The result as the server sent it (validated, every field kept; `content` may be absent). */
export type ExecutionOutcome = { result: NonNullable<Execution['result']> } | { error: ExecutionError };

/**
 * The downstream call returned (`executed`, even when the result is an isError result: the tool ran)
 * or could not complete (`failed`: unavailable, timed out, cancelled mid-call).
 */
export function finishExecution(
  request: ApprovalRequest,
  outcome: ExecutionOutcome,
  now: Date,
): ApprovalRequest {
  const to = 'result' in outcome ? 'executed' : 'failed';
  if (request.state !== 'executing') throw transitionError(request, to);
  return move(request, to, {
    execution: { ...request.execution, finishedAt: now.toISOString(), ...outcome },
  });
}

/** A request found `executing` at start-up: the process died mid-call, so whether it ran is unknown. */
export function markUnknown(request: ApprovalRequest, now: Date): ApprovalRequest {
  return move(request, 'unknown', {
    closed: {
      at: now.toISOString(),
      reason: 'Gatehouse stopped while the call was executing; it is not re-run',
    },
  });
}

function move(request: ApprovalRequest, to: ApprovalState, patch: Partial<ApprovalRequest>): ApprovalRequest {
  if (!canTransition(request.state, to)) throw transitionError(request, to);
  return { ...request, ...patch, state: to };
}

function transitionError(request: ApprovalRequest, to: ApprovalState): GatehouseError {
  return new GatehouseError(
    'APPROVAL_TRANSITION_INVALID',
    `approval ${request.id} cannot go from ${request.state} to ${to}`,
    { id: request.id, from: request.state, to },
  );
}

// Code-unit order, independent of the process locale, so derived lists are stable across machines.
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
