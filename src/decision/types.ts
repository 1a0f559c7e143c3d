import type { ToolCall } from '../pipeline/toolCall.js';

export type Effect = 'allow' | 'deny' | 'approve';

/** One approve rule's demand: `quorum` distinct people, each matching one of `approvers`. */
export interface ApprovalRequirement {
  rule: string;
  /** User ids (`alice`, `user:alice`) and groups (`group:security`). */
  approvers: string[];
  quorum: number;
}

/** What the decision point answers for one call. Every field an auditor needs to replay it. */
export interface Decision {
  effect: Effect;
  /** Ids of the deciding rule(s), sorted; empty when the default applied or the input limits denied. */
  rules: string[];
  reason: string;
  /** Digest of the loaded policy set's content. */
  policyVersion: string;
  /** `shadow`: the effect is what enforcement would have done; the call is allowed anyway. */
  mode: 'enforce' | 'shadow';
  /**
   * The credentials the deciding rules name (sorted union), for effect allow or approve: what the
   * server gets for this one call once it runs (approved, for approve).
   */
  credentials?: string[];
  /** Present when effect is `approve`. */
  approval?: {
    /** Everyone who may approve (the union over `requirements`): whom to notify. */
    approvers: string[];
    /** The largest quorum among the requirements. */
    quorum: number;
    /** The shortest ttl among the matching rules. */
    ttlMs: number;
    /** Absent: all configured channels. */
    channels?: string[];
    /**
     * One entry per matching approve rule, sorted by rule id. The call is approved only when every
     * requirement is met: two rules asking for `group:security` and `group:data-owners` need both.
     */
    requirements: ApprovalRequirement[];
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
  decide: () => ({
    effect: 'allow',
    rules: [],
    reason: 'no policy loaded',
    policyVersion: 'none',
    mode: 'enforce',
  }),
  visibility: () => 'visible',
};
