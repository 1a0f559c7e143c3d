import type { PolicySet } from './compile.js';
import type { Outcome } from './evaluate.js';
import type { Decision } from './types.js';

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
  const base = { policyVersion: set.version, mode: set.mode };

  const denied = denyOutcomes.filter((o) => o.result !== 'not-matched');
  const failed = byId(denied.length > 0 ? denied : otherOutcomes.filter((o) => o.result === 'error'));
  if (failed.length > 0)
    return { ...base, effect: 'deny', rules: failed.map((o) => o.rule.id), reason: reasons(failed) };

  const approvals = otherOutcomes.filter((o) => o.result === 'matched' && o.rule.effect === 'approve');
  if (approvals.length > 0) {
    const requirements = approvals.map(({ rule }) => ({
      rule: rule.id,
      approvers: rule.approval!.approvers,
      quorum: rule.approval!.quorum,
    }));
    const everyNamesChannels = approvals.every((o) => o.rule.approval!.channels);
    return {
      ...base,
      effect: 'approve',
      rules: approvals.map((o) => o.rule.id),
      reason: reasons(approvals),
      approval: {
        approvers: [...new Set(requirements.flatMap((r) => r.approvers))].sort(),
        quorum: Math.max(...requirements.map((r) => r.quorum)),
        ttlMs: Math.min(...approvals.map((o) => o.rule.approval!.ttlMs)),
        ...(everyNamesChannels
          ? { channels: [...new Set(approvals.flatMap((o) => o.rule.approval!.channels!))].sort() }
          : {}),
        requirements,
      },
    };
  }

  const allows = otherOutcomes.filter((o) => o.result === 'matched');
  if (allows.length > 0)
    return { ...base, effect: 'allow', rules: allows.map((o) => o.rule.id), reason: reasons(allows) };

  const reason =
    set.defaultEffect === 'deny'
      ? 'no policy rule allows this call (the default is deny)'
      : 'no policy rule matched (the default is allow)';
  return { ...base, effect: set.defaultEffect, rules: [], reason };
}

/** Arguments over the configured bounds: denied before any rule runs. */
export function limitDecision(set: PolicySet, reason: string): Decision {
  return {
    policyVersion: set.version,
    mode: set.mode,
    effect: 'deny',
    rules: [],
    reason: `${reason}, so no policy rule was evaluated`,
  };
}

/** Approve and allow rules are evaluated in two runs; the ids a decision lists are sorted as one. */
function byId(outcomes: Outcome[]): Outcome[] {
  return outcomes.sort((a, b) => (a.rule.id < b.rule.id ? -1 : a.rule.id > b.rule.id ? 1 : 0));
}

function reasons(outcomes: readonly Outcome[]): string {
  const texts = outcomes.map((o) =>
    o.result === 'error'
      ? `rule ${o.rule.id} failed to evaluate (${o.error}), which denies the call`
      : o.rule.reason,
  );
  return [...new Set(texts)].join('; ');
}
