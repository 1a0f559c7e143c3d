import type { JsonValue } from '../../redact/index.js';
import type { ApprovalState } from '../request.js';

/**
 * LOCAL COPY for the Teams branch (owner: the channels helper): the types of the channel-neutral
 * summary as the issue 9 design describes it, with the field names of the channels helper's work in
 * progress, so the Teams cards compile before `summarize` lands. On merge the channels helper's file
 * (types and `summarize`) replaces this one.
 */

export type OutcomeKind =
  'executed' | 'executed-with-tool-error' | 'failed' | 'rejected' | 'expired' | 'cancelled' | 'unknown';

export interface SummaryArguments {
  /** Redacted, every key and string made visible and each long string cut. */
  value: Record<string, JsonValue>;
  /** `value` as indented JSON, cut as a whole. */
  display: string;
  /** JSON paths whose values were redacted. */
  redacted: string[];
  /** Something was cut: the request page has it all. */
  cut: boolean;
  digest?: string;
}

export interface ApprovalSummary {
  id: string;
  /** The request's page, where it can be seen whole and decided after sign-in. */
  url: string;
  server: string;
  tool: string;
  exposedName: string;
  toolDescription?: string;
  rules: string[];
  reason: string;
  requester: { id: string; groups: string[] };
  createdAt: string;
  expiresAt: string;
  digest: string;
  state: ApprovalState;
  /** `user:<id>`, `<id>` or `group:<name>` entries. */
  approvers: string[];
  quorum: number;
  approvals: { id: string; at: string; channel?: string }[];
  rejection?: { by: string; at: string; reason?: string };
  /** How it ended; absent while it is open. */
  outcome?: { kind: OutcomeKind; text: string };
  arguments: SummaryArguments;
  argumentsLine: string;
  flagged: boolean;
}
