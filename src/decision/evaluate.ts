import type { ToolCall } from '../pipeline/toolCall.js';
import { candidatesFor } from './candidates.js';
import { combine, limitDecision } from './combine.js';
import type { CompiledRule, PolicySet } from './compile.js';
import { RE2_MATCHES } from './env.js';
import { withDeadline } from './guard.js';
import { celInput, prepareArguments, type CelInput } from './input.js';
import type { Decision } from './types.js';

/**
 * The decision, as a pure function of the compiled set, the call and the time: no I/O, `now` read
 * once by the caller, and any error in a rule counted as that rule matching with a deny.
 */

export interface Outcome {
  rule: CompiledRule;
  result: 'matched' | 'not-matched' | 'error';
  /** For `error`: what went wrong, in words fit for the model and the audit log. */
  error?: string;
}

export interface Evaluation {
  decision: Decision;
  /** Every rule evaluated, in evaluation order. */
  outcomes: Outcome[];
  /** Set when the input limits denied the call before any rule ran. */
  limit?: string;
}

/**
 * Deny rules first; approve and allow rules only when no deny rule matched, since none of them can
 * change a deny. With `explain`, every candidate rule is evaluated, for the record; the decision is
 * computed the same way.
 */
export function evaluateCall(set: PolicySet, call: ToolCall, now: Date, explain = false): Evaluation {
  const prepared = prepareArguments(call.arguments ?? {}, set.limits);
  if (!prepared.ok) {
    const decision = limitDecision(set, prepared.reason, prepared.unrepresentable);
    return { decision, outcomes: [], limit: prepared.reason };
  }
  const input = celInput(call, prepared.args, now, set.vars);
  const groups = candidatesFor(set, call.server, call.tool);
  const deadline = set.limits.evalDeadlineMs;

  const denies = groups.deny.map((rule) => evaluateRule(rule, input, deadline));
  const decidedByDeny = denies.some((o) => o.result !== 'not-matched');
  const others =
    decidedByDeny && !explain
      ? []
      : [...groups.approve, ...groups.allow].map((rule) => evaluateRule(rule, input, deadline));
  return { decision: combine(set, denies, others), outcomes: [...denies, ...others] };
}

export function evaluateRule(
  rule: CompiledRule,
  input: CelInput | Pick<CelInput, 'tool' | 'vars'>,
  deadlineMs: number,
): Outcome {
  const when = rule.when;
  if (!when) return { rule, result: 'matched' };
  let value: unknown;
  if (when.guarded) {
    const run = withDeadline(deadlineMs, () => when.evaluate(input));
    if (!run.ok) return { rule, result: 'error', error: describeError(run.error) };
    value = run.value;
  } else {
    try {
      value = when.evaluate(input);
    } catch (error) {
      return { rule, result: 'error', error: describeError(error) };
    }
  }
  if (value === true) return { rule, result: 'matched' };
  if (value === false) return { rule, result: 'not-matched' };
  return { rule, result: 'error', error: `when evaluated to ${describeValue(value)}, not a bool` };
}

/** cel-js errors carry a summary without the source excerpt; others a plain message. */
function describeError(error: unknown): string {
  const summary = (error as { summary?: unknown }).summary;
  const text = typeof summary === 'string' ? summary : error instanceof Error ? error.message : String(error);
  return text.replaceAll(RE2_MATCHES, 'matches');
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return `the int ${value}`;
  if (typeof value === 'string') return 'a string';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `a ${typeof value}`;
}
