import type { ToolCall } from '../pipeline/toolCall.js';
import { candidatesFor } from './candidates.js';
import type { CompiledRule, PolicySet } from './compile.js';
import { evaluateRule } from './evaluate.js';
import { toolValue } from './input.js';
import type { ToolVisibility } from './types.js';

/**
 * How a tool shows in tools/list. Rules that read only `tool` and `vars` ("static" rules) are
 * evaluated for the tool itself; rules that read the call (args, caller, now, request) might match.
 *
 * - hidden: a static deny rule matches (or any static rule fails, which denies every call), or no
 *   allow or approve rule can match and the default is deny: every call would be refused.
 * - may-need-approval: an approve rule can match.
 * - visible: otherwise. In shadow mode every tool is visible: shadow mode must not change what
 *   clients see.
 *
 * Hiding is a convenience; every call is still decided on its own.
 */
export function visibilityOf(
  set: PolicySet,
  tool: Pick<ToolCall, 'server' | 'tool' | 'exposedName' | 'definition'>,
): ToolVisibility {
  if (set.mode === 'shadow') return 'visible';
  const groups = candidatesFor(set, tool.server, tool.tool);
  const input = { tool: toolValue(tool), vars: set.vars };
  const outcome = (rule: CompiledRule): 'yes' | 'maybe' | 'no' | 'error' => {
    if (rule.dynamic) return 'maybe';
    const result = evaluateRule(rule, input, set.limits.evalDeadlineMs).result;
    return result === 'matched' ? 'yes' : result === 'error' ? 'error' : 'no';
  };

  const deny = groups.deny.map(outcome);
  if (deny.some((o) => o === 'yes' || o === 'error')) return 'hidden';
  const approve = groups.approve.map(outcome);
  const allow = groups.allow.map(outcome);
  if ([...approve, ...allow].includes('error')) return 'hidden';
  const approveCanMatch = approve.some((o) => o !== 'no');
  const allowCanMatch = allow.some((o) => o !== 'no');
  if (set.defaultEffect === 'deny' && !approveCanMatch && !allowCanMatch) return 'hidden';
  return approveCanMatch ? 'may-need-approval' : 'visible';
}
