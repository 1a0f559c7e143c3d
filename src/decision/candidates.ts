import type { CompiledRule, PolicySet, RuleGroups } from './compile.js';

/**
 * The match prefilter: which rules can apply to a server and tool. Computed once per pair and cached
 * on the (immutable) set, so a decision only evaluates the `when` of rules written for its tool.
 */

/** Bounds the cache if a caller sends many distinct names; refilling is cheap. */
const MAX_CACHED_PAIRS = 10_000;

export function candidatesFor(set: PolicySet, server: string, tool: string): RuleGroups {
  const key = `${server}\u0000${tool}`;
  const cached = set.candidates.get(key);
  if (cached) return cached;
  const groups: { deny: CompiledRule[]; approve: CompiledRule[]; allow: CompiledRule[] } = {
    deny: [],
    approve: [],
    allow: [],
  };
  for (const rule of set.rules) if (admits(rule, server, tool)) groups[rule.effect].push(rule);
  if (set.candidates.size >= MAX_CACHED_PAIRS) set.candidates.clear();
  set.candidates.set(key, groups);
  return groups;
}

export function admits(rule: CompiledRule, server: string, tool: string): boolean {
  return (!rule.servers || rule.servers.re.test(server)) && (!rule.tools || rule.tools.re.test(tool));
}

/** Why a rule's match did or did not admit the pair, for explanations. */
export function explainMatch(rule: CompiledRule, server: string, tool: string): string | undefined {
  if (rule.servers && !rule.servers.re.test(server))
    return `server "${server}" is not in match.servers [${rule.servers.globs.join(', ')}]`;
  if (rule.tools && !rule.tools.re.test(tool))
    return `tool "${tool}" is not in match.tools [${rule.tools.globs.join(', ')}]`;
  return undefined;
}

/**
 * Who the approve rules that can apply to these tools name (`group:security`, `alice`), sorted: whom
 * an approver account must be for the calls that may wait for one.
 */
export function approversFor(set: PolicySet, tools: readonly { server: string; tool: string }[]): string[] {
  const named = new Set<string>();
  for (const { server, tool } of tools) {
    for (const rule of candidatesFor(set, server, tool).approve) {
      for (const approver of rule.approval?.approvers ?? []) named.add(approver);
    }
  }
  return [...named].sort();
}
