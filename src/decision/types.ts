import type { ToolCall } from '../pipeline/toolCall.js';

export type Effect = 'allow' | 'deny' | 'approve';

/** What the decision point answers for one call. Every field an auditor needs to replay it. */
export interface Decision {
  effect: Effect;
  /** Ids of the deciding rule(s); empty when the default applied. */
  rules: string[];
  reason: string;
  /** Digest of the loaded policy set's content. */
  policyVersion: string;
  /** `shadow`: the effect is what enforcement would have done; the call is allowed anyway. */
  mode: 'enforce' | 'shadow';
  /** Present when effect is `approve`. */
  approval?: {
    approvers: string[];
    quorum: number;
    ttlMs: number;
    channels?: string[];
  };
}

/** How a tool appears in tools/list. Hiding is a convenience; the call is still decided on its own. */
export type ToolVisibility = 'visible' | 'hidden' | 'may-need-approval';

export interface DecisionPoint {
  decide(call: ToolCall, now?: Date): Decision | Promise<Decision>;
  visibility(tool: Pick<ToolCall, 'server' | 'tool' | 'exposedName' | 'definition'>): ToolVisibility;
}

/** Issue 2's decision point: the proxy is transparent until a policy set is loaded. */
export const allowAll: DecisionPoint = {
  decide: () => ({ effect: 'allow', rules: [], reason: 'no policy loaded', policyVersion: 'none', mode: 'enforce' }),
  visibility: () => 'visible',
};
