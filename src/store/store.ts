import type { QuarantinedRecord } from '../approvals/quarantine.js';
import type { ApprovalRequest, ApprovalState } from '../approvals/request.js';

/**
 * The one interface every part of Gatehouse uses to keep approval requests: the embedded lowdb file
 * today, a shared database later. Implementations are linearizable: each write happens entirely before
 * or after any other, and its promise resolves only once it is durable (for the file store, fsynced).
 * Requests handed out are copies; changing one changes nothing stored.
 */
export interface ApprovalStore {
  /**
   * Stores a new pending request, or joins the open request (pending, approved or executing) that
   * already has its digest: then nothing is written and the existing request is returned, so identical
   * retries racing each other make one request. Throws STORE_CONFLICT for a reused id, a request that
   * is not pending, fails the schema or does not match its own digest.
   */
  create(request: ApprovalRequest): Promise<CreateResult>;

  get(id: string): Promise<ApprovalRequest | undefined>;

  /** The open request for this digest if there is one, else the most recently created one, if any. */
  findByDigest(digest: string): Promise<ApprovalRequest | undefined>;

  /** In creation order; all states when `states` is absent. */
  list(filter?: { states?: readonly ApprovalState[] }): Promise<ApprovalRequest[]>;

  /**
   * Compare-and-set on the state: when the stored request is in `expected`, `update` (synchronous,
   * given a copy of it) computes the new request, which is written atomically. Otherwise nothing is
   * written and `ok` is false: another writer got there first. Errors thrown by `update` (the state
   * machine's refusals) propagate and write nothing. Throws APPROVAL_NOT_FOUND for an unknown id and
   * STORE_CONFLICT when the update breaks the transition table or the digest binding.
   */
  transition(
    id: string,
    expected: ApprovalState,
    update: (current: ApprovalRequest) => ApprovalRequest,
  ): Promise<TransitionResult>;

  /**
   * Records found altered or corrupt when the store was opened, set aside as they were found. They are
   * no requests: no other method returns or changes them, so they never execute.
   */
  quarantined(): Promise<QuarantinedRecord[]>;

  /**
   * Moves finished requests (in a final state) that ended before `endedBefore` out of the live store
   * into its archive, durably and before they leave, and returns them. The live store stays small, so
   * every write stays fast; the archive keeps every finished request for the record.
   */
  archiveFinished(endedBefore: Date): Promise<ApprovalRequest[]>;

  /** Waits for pending writes, then releases the store (the file lock). Later calls fail. */
  close(): Promise<void>;
}

export interface CreateResult {
  /** False when an open request with the same digest was joined instead. */
  created: boolean;
  request: ApprovalRequest;
}

export interface TransitionResult {
  /** False when the request was not in the expected state: nothing was written. */
  ok: boolean;
  /** The request as stored now: the update's result, or the current request that refused the CAS. */
  request: ApprovalRequest;
}
