import type { QuarantinedRecord } from '../approvals/quarantine.js';
import type { ApprovalRequest, ApprovalState } from '../approvals/request.js';
import type { CallOf } from './callKey.js';
import type {
  CallbackToken,
  ConversationRecord,
  DeliveryRecord,
  DeliveryState,
  Stage,
} from '../approvals/channels/delivery.js';

/** Which page of a list: at most `limit` items, after `cursor` (absent: from the start). */
export interface PageRequest {
  limit: number;
  cursor?: string;
}

export interface RequestPage {
  requests: ApprovalRequest[];
  /** The cursor of the next page, when more may follow (a page may hold fewer than `limit` then). */
  next?: string;
}

/**
 * The one interface every part of Gatehouse uses to keep approval requests: the embedded lowdb file
 * for one machine, PostgreSQL for several replicas. Implementations are linearizable: each write happens entirely before
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

  /**
   * The latest request (in creation order) for the same call as `call` (the same caller id, server,
   * tool and arguments, as `callKeyOf` says) that was made against another definition of the tool:
   * one whose toolDefinitionDigest is not `call.toolDefinitionDigest`. A query by the call's key, not
   * a list to filter: every new approval request asks, and must not read every request.
   */
  latestWithOtherDefinition(
    call: CallOf & Pick<ApprovalRequest, 'toolDefinitionDigest'>,
  ): Promise<ApprovalRequest | undefined>;

  /** In creation order; all states when `states` is absent. */
  list(filter?: { states?: readonly ApprovalState[] }): Promise<ApprovalRequest[]>;

  /**
   * Up to `limit` requests in `states` (all when absent), the latest created first, continuing after
   * `cursor` (a `next` this store gave out). `next` is there when more may follow. Pages go by
   * creation, which never changes, so paging through misses and repeats nothing, whatever changes
   * meanwhile; a request archived meanwhile is gone from the pages still to come. (Should the very
   * request a page ended with be archived, the document stores go on from its creation time, and one
   * created in the same millisecond may show twice.) A query, not a list to cut: the API pages through
   * a week of finished requests. Throws LIST_CURSOR_INVALID for a cursor this store did not give out.
   */
  listPage(filter: { states?: readonly ApprovalState[] }, page: PageRequest): Promise<RequestPage>;

  /**
   * The `limit` requests in `states` that changed last, the latest first (in the order their changes
   * were written; the document stores, which keep no such order, go by the times the request
   * records): what the approval page shows under the pending ones. A query, not a list to sort: finished requests stay in the store
   * until `approvals.archiveAfterMs` (a week by default), and the page must not read them all on
   * every load.
   */
  latestChanged(states: readonly ApprovalState[], limit: number): Promise<ApprovalRequest[]>;

  /**
   * Pending and approved requests whose expiry is at or before `at`, in creation order: what the
   * expiry sweep turns `expired`. A query, not a list to filter: the sweep runs periodically, and
   * must not cost more as the number of open requests grows.
   */
  expiredBy(at: Date): Promise<ApprovalRequest[]>;

  /** The earliest expiry of a pending or approved request, if any: when the sweep next has work. */
  nextExpiry(): Promise<Date | undefined>;

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
   * Requests `executing` that no live process holds, in creation order: they may or may not have run.
   * A file store (one live process under its lock) returns those that were executing when it was
   * opened; a shared store those whose execution lease expired (the replica running them died),
   * never one a live replica is running. A transition of an execution another live replica holds
   * does not happen: it returns `ok: false`.
   */
  abandonedExecutions(): Promise<ApprovalRequest[]>;

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

  /**
   * Changes that other processes made to requests (a shared store's other replicas), each revision
   * once, soon after they were written; absent where no other process writes (the file store).
   */
  watch?(listener: (request: ApprovalRequest) => void): () => void;

  /** Waits for pending writes, then releases the store (the file lock). Later calls fail. */
  close(): Promise<void>;

  // The channels' outbox (approvals/channels/outbox.ts). Deliveries, memos and callback tokens of a
  // request leave the store with it when it is archived.

  /**
   * Adds each delivery whose id (`<approvalId>/<channel>/<stage>`) is not stored yet, pending and due at
   * once; returns those it added. Enqueueing the same change twice adds it once.
   */
  enqueueDeliveries(deliveries: readonly NewDelivery[], now: Date): Promise<DeliveryRecord[]>;

  /** In the order they were enqueued; of one request, and/or in some states, when asked. */
  listDeliveries(filter?: {
    approvalId?: string;
    states?: readonly DeliveryState[];
  }): Promise<DeliveryRecord[]>;

  /**
   * Claims up to `limit` deliveries for `owner` until `now + leaseMs`, atomically: each pending, due at
   * `now`, not under another owner's live lease, and the first pending delivery (in stage order) of its
   * request on its channel, so one request's updates on one channel go in order. Two claimers never
   * hold the same delivery. Each comes with what its channel kept from earlier deliveries of the request.
   */
  claimDeliveries(owner: string, now: Date, leaseMs: number, limit: number): Promise<ClaimedDelivery[]>;

  /**
   * When `claimDeliveries` can next take something: the earliest time at which the first pending
   * delivery of a request on a channel is due and under no lease (the later of its `nextAttemptAt`
   * and its lease's end); undefined when nothing is pending. Deliveries behind another pending one of
   * their request and channel do not count: they cannot go before it. A query, not a list: the outbox
   * asks after claims, and the answer must not cost more as the backlog grows.
   */
  nextDeliveryDue(): Promise<Date | undefined>;

  /**
   * Per channel that has deliveries, in channel order: how many are pending, failed and delivered,
   * when one was last delivered, and the latest attempt that failed (for status and the page).
   * Counted by the store: the outbox asks after every attempt, and must not read every delivery.
   */
  deliveryCounts(): Promise<ChannelDeliveryCounts[]>;

  /**
   * Records how an attempt of a delivery `owner` holds ended, and releases the lease: `delivered`
   * (merging `memo` into the request's memo for the channel), `retry` at `nextAttemptAt`, or `failed`
   * (given up). Throws STORE_CONFLICT when `owner` no longer holds it, and for a delivery that is not
   * pending: an acknowledged delivery is never turned back.
   */
  settleDelivery(id: string, owner: string, settlement: DeliverySettlement): Promise<DeliveryRecord>;

  /** Keeps a new callback token (by its hash). Throws STORE_CONFLICT for a hash already kept. */
  saveCallbackToken(token: CallbackToken): Promise<void>;

  /**
   * Marks the token with this hash used, atomically, when it is known, unused and not expired at `now`;
   * otherwise says why not. Two concurrent uses: one gets it, the other `used`.
   */
  useCallbackToken(hash: string, now: Date): Promise<CallbackTokenUse>;

  /** Makes a used token usable again: the decision it carried was refused and changed nothing. */
  releaseCallbackToken(hash: string): Promise<void>;

  /** Keeps a Teams conversation reference, replacing the one with the same channel and id. */
  saveConversation(record: ConversationRecord): Promise<void>;

  /** Forgets a conversation (the bot was removed from it); nothing when unknown. */
  removeConversation(channel: string, id: string): Promise<void>;

  /** The conversation references kept for a channel, in the order they were first saved. */
  listConversations(channel: string): Promise<ConversationRecord[]>;
}

export interface NewDelivery {
  approvalId: string;
  channel: string;
  stage: Stage;
}

export interface ClaimedDelivery {
  delivery: DeliveryRecord;
  /** What the channel kept from earlier deliveries of this request, if anything. */
  memo?: Record<string, string>;
}

export interface ChannelDeliveryCounts {
  channel: string;
  pending: number;
  failed: number;
  delivered: number;
  lastDeliveredAt?: string;
  /** The latest attempt that ended in an error (of a delivery still pending, or given up). */
  lastFailure?: { at: string; message: string };
}

export type DeliverySettlement =
  | { result: 'delivered'; at: Date; memo?: Record<string, string>; target?: string }
  | { result: 'retry'; at: Date; error: string; nextAttemptAt: Date; target?: string }
  | { result: 'failed'; at: Date; error: string; target?: string };

export type CallbackTokenUse =
  { ok: true; token: CallbackToken } | { ok: false; reason: 'unknown' | 'used' | 'expired' };

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
