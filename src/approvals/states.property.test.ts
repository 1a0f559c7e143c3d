import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../errors.js';
import { ApprovalRequestSchema, type ApprovalRequest, type Requirement } from './request.js';
import {
  TRANSITIONS,
  applyDecision,
  blockExecution,
  cancel,
  asOf,
  finishExecution,
  isTerminal,
  markUnknown,
  newApprovalRequest,
  startExecution,
  tally,
} from './states.js';

/*
 * A small world of users and groups, so that random requirements and random deciders collide often:
 * the requester is frequently listed, strangers and repeats are common.
 */
const USERS = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'];
const GROUPS = ['g0', 'g1', 'g2'];
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const TTL = 3_600_000;

const entry = fc.oneof(
  fc.constantFrom(...USERS),
  fc.constantFrom(...USERS).map((u) => `user:${u}`),
  fc.constantFrom(...GROUPS).map((g) => `group:${g}`),
);
const requirement = (rule: string) =>
  fc.record({
    rule: fc.constant(rule),
    approvers: fc.uniqueArray(entry, { minLength: 1, maxLength: 4 }),
    quorum: fc.integer({ min: 1, max: 3 }),
  });
const requirements = fc.oneof(fc.tuple(requirement('r0')), fc.tuple(requirement('r0'), requirement('r1')));
/** Each user's groups for one run; `x` ids belong to no list. */
const membership = fc.tuple(...USERS.map(() => fc.subarray(GROUPS)));
const decider = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: USERS.length - 1 }).map((i) => ({ user: i })) },
  { weight: 1, arbitrary: fc.constantFrom('stranger', 'group:g0', 'u0 ').map((id) => ({ stranger: id })) },
);
const decision = fc.record({
  who: decider,
  decision: fc.constantFrom('approve' as const, 'approve' as const, 'reject' as const),
  reason: fc.constantFrom(undefined, '', 'because'),
});

type Who = { id: string; groups: string[] };

function world(reqs: Requirement[], groups: string[][], callerIndex: number) {
  const principal = (i: number): Who => ({ id: USERS[i]!, groups: groups[i]! });
  const request = newApprovalRequest(
    {
      id: 'r',
      server: 's',
      tool: 't',
      exposedName: 's__t',
      toolDefinitionDigest: 'f'.repeat(64),
      arguments: { n: 1 },
      caller: principal(callerIndex),
      reason: 'property',
      requirements: reqs,
      ttlMs: TTL,
      policyVersion: 'p',
    },
    new Date(T0),
  );
  return { principal, request };
}

/** The reference model, written independently of states.ts: who may count for a requirement. */
function listedIn(req: Requirement, who: Who): boolean {
  return req.approvers.some((a) =>
    a.startsWith('group:') ? who.groups.includes(a.slice(6)) : who.id === a.replace(/^user:/, ''),
  );
}

type DecisionCase = {
  who: { user: number } | { stranger: string };
  decision: 'approve' | 'reject';
  reason: string | undefined;
};

/** Odd ids carry every group, so whether they count depends on the lists: the model decides. */
function decide(request: ApprovalRequest, d: DecisionCase, principal: (i: number) => Who, t: number) {
  const approver = 'user' in d.who ? principal(d.who.user) : { id: d.who.stranger, groups: GROUPS };
  const input = { approver, decision: d.decision, reason: d.reason };
  return { approver, next: () => applyDecision(request, input, new Date(t)) };
}

/** Runs `fn`; a GatehouseError is a refusal (the request stays as it was), anything else fails the test. */
function attempt(
  request: ApprovalRequest,
  fn: () => ApprovalRequest,
): { request: ApprovalRequest; refused: boolean } {
  try {
    return { request: fn(), refused: false };
  } catch (error) {
    if (!(error instanceof GatehouseError)) throw error;
    return { request, refused: true };
  }
}

describe('approval decisions (properties)', () => {
  it('match a reference model: only listed, distinct non-requesters count; quorum per rule; rejection is final', () => {
    fc.assert(
      fc.property(
        requirements,
        membership,
        fc.integer({ min: 0, max: USERS.length - 1 }),
        fc.array(decision, { maxLength: 14 }),
        (reqs, groups, callerIndex, decisions) => {
          const { principal, request: initial } = world(reqs, groups, callerIndex);
          const caller = USERS[callerIndex]!;
          let request = initial;
          // Model state.
          let state: 'pending' | 'approved' | 'rejected' = 'pending';
          const decided = new Set<string>();
          const approvals = new Map<string, Who>();

          decisions.forEach((d, i) => {
            const { approver, next } = decide(request, d, principal, T0 + i + 1);
            const outcome = attempt(request, next);
            request = outcome.request;

            const listed = reqs.some((r) => listedIn(r, approver));
            const valid =
              state === 'pending' &&
              approver.id !== caller &&
              listed &&
              !decided.has(approver.id) &&
              (d.decision === 'approve' || (d.reason ?? '').trim() !== '');
            expect(outcome.refused).toBe(!valid);
            if (!valid) return;
            decided.add(approver.id);
            if (d.decision === 'reject') {
              state = 'rejected';
              return;
            }
            approvals.set(approver.id, approver);
            const met = reqs.every(
              (r) => [...approvals.values()].filter((a) => listedIn(r, a)).length >= r.quorum,
            );
            if (met) state = 'approved';
          });

          expect(request.state).toBe(state);
          // Nobody who may not count was ever recorded, and nobody twice.
          const ids = request.decisions.map((d) => d.approver.id);
          expect(new Set(ids).size).toBe(ids.length);
          for (const d of request.decisions) {
            expect(d.approver.id).not.toBe(caller);
            expect(reqs.some((r) => listedIn(r, d.approver))).toBe(true);
          }
          expect(ApprovalRequestSchema.safeParse(request).success).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a quorum of n is never reached with fewer than n distinct listed approvers, however often they repeat', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: USERS.length - 1 }), { maxLength: 20 }),
        fc.integer({ min: 0, max: USERS.length - 1 }),
        (quorum, sequence, callerIndex) => {
          // Everyone, the requester included, is in g0.
          const groups = USERS.map(() => ['g0']);
          const reqs = [{ rule: 'r0', approvers: ['group:g0'], quorum }];
          const { principal, request: initial } = world(reqs, groups, callerIndex);
          let request = initial;
          const counted = new Set<number>();
          for (const [i, who] of sequence.entries()) {
            const wasPending = request.state === 'pending';
            request = attempt(request, () =>
              applyDecision(request, { approver: principal(who), decision: 'approve' }, new Date(T0 + i + 1)),
            ).request;
            if (wasPending && who !== callerIndex) counted.add(who);
            expect(request.state === 'approved').toBe(counted.size >= quorum);
            expect(tally(request)[0]!.approvedBy.length).toBe(Math.min(counted.size, quorum));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('after a rejection nothing can flip the request', () => {
    fc.assert(
      fc.property(
        membership,
        fc.integer({ min: 1, max: USERS.length - 1 }),
        fc.array(decision, { maxLength: 10 }),
        (groups, rejecter, later) => {
          const reqs = [{ rule: 'r0', approvers: USERS, quorum: 1 }];
          const { principal, request: initial } = world(reqs, groups, 0);
          const rejected = applyDecision(
            initial,
            { approver: principal(rejecter), decision: 'reject', reason: 'no' },
            new Date(T0 + 1),
          );
          expect(rejected.state).toBe('rejected');
          for (const [i, d] of later.entries()) {
            const { next } = decide(rejected, d, principal, T0 + i + 2);
            expect(attempt(rejected, next).refused).toBe(true);
          }
          for (const op of [
            () => startExecution(rejected, new Date(T0 + 5)),
            () => cancel(rejected, 'x', new Date(T0 + 5)),
            () => markUnknown(rejected, new Date(T0 + 5)),
          ]) {
            expect(attempt(rejected, op).refused).toBe(true);
          }
          expect(asOf(rejected, new Date(T0 + TTL * 2))).toBe(rejected);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('the life cycle (properties)', () => {
  const operation = fc.oneof(
    decision.map((d) => ({ kind: 'decide' as const, d })),
    fc.constant({ kind: 'expire' as const }),
    fc.constant({ kind: 'cancel' as const }),
    fc.constant({ kind: 'start' as const }),
    fc.constant({ kind: 'block' as const }),
    fc.constantFrom({ kind: 'finish' as const, ok: true }, { kind: 'finish' as const, ok: false }),
    fc.constant({ kind: 'unknown' as const }),
  );

  it('every change follows the table, terminal states never change, and the schema always holds', () => {
    fc.assert(
      fc.property(
        requirements,
        membership,
        fc.array(fc.tuple(operation, fc.integer({ min: 0, max: TTL / 1000 + 60 })), { maxLength: 25 }),
        (reqs, groups, ops) => {
          const { principal, request: initial } = world(reqs, groups, 0);
          let request = initial;
          let clock = T0;
          for (const [op, step] of ops) {
            clock += step * 100;
            const now = new Date(clock);
            const before = request;
            request = attempt(request, () => {
              switch (op.kind) {
                case 'decide':
                  return decide(request, op.d, principal, clock).next();
                case 'expire':
                  return asOf(request, now);
                case 'cancel':
                  return cancel(request, 'client cancelled', now);
                case 'start':
                  return startExecution(request, now);
                case 'block':
                  return blockExecution(request, { code: 'POLICY_DENIES', message: 'denied now' }, now);
                case 'finish':
                  return finishExecution(
                    request,
                    op.ok ? { result: { content: [] } } : { error: { code: 'X', message: 'y' } },
                    now,
                  );
                case 'unknown':
                  return markUnknown(request, now);
              }
            }).request;
            if (request.state !== before.state) {
              expect(TRANSITIONS[before.state]).toContain(request.state);
              expect(isTerminal(before.state)).toBe(false);
            }
            if (isTerminal(before.state)) expect(request).toBe(before);
            // The binding never moves.
            expect(request.digest).toBe(initial.digest);
            expect(request.arguments).toEqual(initial.arguments);
            if (request.state === 'executing') expect(clock).toBeLessThan(Date.parse(request.expiresAt));
          }
          expect(ApprovalRequestSchema.safeParse(request).success).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });
});
