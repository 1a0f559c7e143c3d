import type { ToolCall } from '../pipeline/toolCall.js';
import { explainMatch } from './candidates.js';
import type { PolicySet } from './compile.js';
import { formatDuration } from './duration.js';
import type { Evaluation } from './evaluate.js';
import type { Decision } from './types.js';

/** Decisions and their explanations as people and scripts read them (`policy eval`, `policy test`). */

export interface RuleExplanation {
  rule: string;
  /** `file:line` of the rule. */
  at: string;
  effect: string;
  result: 'matched' | 'not matched' | 'error' | 'not considered' | 'not evaluated';
  detail: string;
}

/** Every rule of the set, in precedence order, and what became of it for this call. */
export function explainEvaluation(set: PolicySet, call: ToolCall, evaluation: Evaluation): RuleExplanation[] {
  const outcomes = new Map(evaluation.outcomes.map((o) => [o.rule.id, o]));
  return set.rules.map((rule) => {
    const base = { rule: rule.id, at: `${rule.file}:${rule.line}`, effect: rule.effect };
    const outcome = outcomes.get(rule.id);
    const when = rule.when ? `when ${oneLine(rule.when.source)}` : 'no when';
    if (outcome?.result === 'matched') return { ...base, result: 'matched', detail: `${when}: true` };
    if (outcome?.result === 'not-matched')
      return { ...base, result: 'not matched', detail: `${when}: false` };
    if (outcome?.result === 'error') return { ...base, result: 'error', detail: `${when}: ${outcome.error}` };
    const skipped = explainMatch(rule, call.server, call.tool);
    if (skipped) return { ...base, result: 'not considered', detail: skipped };
    return {
      ...base,
      result: 'not evaluated',
      detail: evaluation.limit ?? 'a deny rule had already decided',
    };
  });
}

/** One line per rule; rules written for other servers are counted, not listed. */
export function formatExplanation(lines: readonly RuleExplanation[]): string[] {
  const shown = lines.filter((l) => !(l.result === 'not considered' && l.detail.startsWith('server ')));
  const out = shown.map((l) => `${l.rule} (${l.at}, ${l.effect}): ${l.result}: ${l.detail}`);
  const hidden = lines.length - shown.length;
  if (hidden > 0) out.push(`(${hidden} rule(s) for other servers not shown)`);
  return out;
}

/** The decision as `policy eval` prints it. */
export function decisionJson(decision: Decision): Record<string, unknown> {
  return {
    effect: decision.effect,
    rule: decision.rules[0] ?? null,
    rules: decision.rules,
    reason: decision.reason,
    approvers: decision.approval?.approvers ?? null,
    quorum: decision.approval?.quorum ?? null,
    ttl: decision.approval ? formatDuration(decision.approval.ttlMs) : null,
    ...(decision.approval?.channels ? { channels: decision.approval.channels } : {}),
    ...(decision.approval && decision.approval.requirements.length > 1
      ? { requirements: decision.approval.requirements }
      : {}),
    mode: decision.mode,
    policyVersion: decision.policyVersion,
  };
}

function oneLine(source: string): string {
  return source.replace(/\s+/g, ' ').trim();
}
