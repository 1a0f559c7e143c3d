import type { ApprovalRequest, ApprovalState } from './request.js';
import type { DecisionInput } from './states.js';

/**
 * What channels (the approval page and API, Teams, webhooks) and the pipeline use to work with approval
 * requests. Every method validates and refuses with typed GatehouseErrors; a decision resolves only
 * after it is durable in the store.
 */
export interface ApprovalService {
  list(filter?: { states?: readonly ApprovalState[] }): Promise<ApprovalRequest[]>;
  get(id: string): Promise<ApprovalRequest | undefined>;
  /**
   * One approver's decision, as authenticated by the channel that carried it. The decision that
   * completes the quorum starts the execution of the stored, approved arguments right away.
   */
  decide(id: string, input: DecisionInput): Promise<ApprovalRequest>;
  /** Called after every durable change of any request (created, decided, executing, finished, expired). */
  onChange(listener: (request: ApprovalRequest) => void): () => void;
}
