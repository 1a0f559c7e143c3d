import type { PolicySet } from './compile.js';
import type { Outcome } from './evaluate.js';
import type { Decision, Effect } from './types.js';

/**
 * Precedence, whatever the order of files and rules (outcomes arrive in id order, so the ids and
 * reasons a decision lists are stable too):
 *
 * | what happened                                  | effect                      |
 * | ---------------------------------------------- | --------------------------- |
 * | a deny rule matched, or failed to evaluate     | deny                        |
 * | an approve or allow rule failed to evaluate    | deny (fail closed)          |
 * | an approve rule matched                        | approve (every one of them) |
 * | an allow rule matched                          | allow                       |
 * | nothing matched                                | the set's default           |
 */
export function combine(
  set: PolicySet,
  denyOutcomes: readonly Outcome[],
  otherOutcomes: readonly Outcome[],
): Decision {
  const denied = denyOutcomes.filter((o) => o.result !== 'not-matched');
  const failed = byId(denied.length > 0 ? denied : otherOutcomes.filter((o) => o.result === 'error'));
  if (failed.length > 0) return decision(set, 'deny', ids(failed), reasons(failed));

  const approvals = otherOutcomes.filter((o) => o.result === 'matched' && o.rule.effect === 'approve');
  if (approvals.length > 0)
    return withCredentials(
      decision(set, 'approve', ids(approvals), reasons(approvals), approval(approvals)),
      approvals,
    );

  const allows = otherOutcomes.filter((o) => o.result === 'matched');
  if (allows.length > 0) return withCredentials(decision(set, 'allow', ids(allows), reasons(allows)), allows);

  const reason =
    set.defaultEffect === 'deny'
      ? 'no policy rule allows this call (the default is deny)'
      : 'no policy rule matched (the default is allow)';
  return decision(set, set.defaultEffect, [], reason);
}

/**
 * Arguments over the configured bounds: denied before any rule runs. Arguments the server could not
 * receive as sent are refused in shadow mode too: letting them through would run a call no rule saw.
 */
export function limitDecision(set: PolicySet, reason: string, unrepresentable = false): Decision {
  const out = decision(set, 'deny', [], `${reason}, so no policy rule was evaluated`);
  if (unrepresentable) out.mode = 'enforce';
  return out;
}

/** Every matching approve rule is a requirement; the rest is merged for notification. */
function approval(approvals: readonly Outcome[]): NonNullable<Decision['approval']> {
  const rules = approvals.map((o) => o.rule.approval!);
  const requirements = approvals.map(({ rule }) => ({
    rule: rule.id,
    approvers: rule.approval!.approvers,
    quorum: rule.approval!.quorum,
  }));
  const merged: NonNullable<Decision['approval']> = {
    approvers: [...new Set(rules.flatMap((r) => r.approvers))].sort(),
    quorum: Math.max(...rules.map((r) => r.quorum)),
    ttlMs: Math.min(...rules.map((r) => r.ttlMs)),
    requirements,
  };
  // A rule without channels means "all configured channels", which the union cannot narrow.
  if (rules.every((r) => r.channels))
    merged.channels = [...new Set(rules.flatMap((r) => r.channels!))].sort();
  return merged;
}

/** A literal, not a spread: object spread costs microseconds on the hot path in Node 20. */
function decision(
  set: PolicySet,
  effect: Effect,
  rules: string[],
  reason: string,
  approval?: Decision['approval'],
): Decision {
  const out: Decision = { effect, rules, reason, policyVersion: set.version, mode: set.mode };
  if (approval) out.approval = approval;
  return out;
}

/** The credentials the deciding rules name, when any does. */
function withCredentials(out: Decision, deciding: readonly Outcome[]): Decision {
  const names = deciding.flatMap((o) => o.rule.credentials ?? []);
  if (names.length > 0) out.credentials = [...new Set(names)].sort();
  return out;
}

/** Approve and allow rules are evaluated in two runs; the ids a decision lists are sorted as one. */
function byId(outcomes: Outcome[]): Outcome[] {
  return outcomes.sort((a, b) => (a.rule.id < b.rule.id ? -1 : a.rule.id > b.rule.id ? 1 : 0));
}

function ids(outcomes: readonly Outcome[]): string[] {
  return outcomes.map((o) => o.rule.id);
}

function reasons(outcomes: readonly Outcome[]): string {
  const texts = outcomes.map((o) =>
    o.result === 'error'
      ? `rule ${o.rule.id} failed to evaluate (${o.error}), which denies the call`
      : o.rule.reason,
  );
  return [...new Set(texts)].join('; ');
}
