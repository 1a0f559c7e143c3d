import { z } from 'zod';
import { lastChangeOf, type ApprovalRequest } from '../approvals/request.js';
import { canTransition, endedAt, isOpen } from '../approvals/states.js';
import { GatehouseError, describeError } from '../errors.js';
import { CallbackTokenSchema, ConversationRecordSchema } from '../approvals/channels/delivery.js';
import type { StoreDocument } from './document.js';
import { callKeyOf } from './callKey.js';
import * as outbox from './outbox.js';
import { checkedNew, conflict, nextRequest, notFound, parsed } from './rules.js';
import { serial } from '../shared/serial.js';
import { decodeCursor, encodeCursor } from './pageCursor.js';
import type { ApprovalStore, CreateResult, TransitionResult } from './store.js';

/** Ids kept from one millisecond; beyond, the first listed of them may show again (none is skipped). */
const MAX_SAME = 100;

/**
 * Where a page ended: its last request, its creation time, and the ids listed so far that were created
 * in that same millisecond (`same`). Should that request be archived before the next page, the page
 * goes on from its creation time and skips exactly those, so nothing shows twice or is skipped.
 */
const DocumentCursorSchema = z.strictObject({
  id: z.string().min(1),
  createdAt: z.string().min(1),
  same: z.array(z.string().min(1)).max(MAX_SAME).default([]),
});

/** How a document store makes a new document durable, and what it lets go of on close. */
export interface Persistence {
  /** Resolves once `document` is durable; a rejection leaves the previous document in force. */
  write(document: StoreDocument): Promise<void>;
  /** Resolves once `requests` are durably in the archive, before the document lets them go. */
  archive(requests: readonly ApprovalRequest[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * An ApprovalStore over one in-memory document that is replaced whole on every change: the shared core
 * of the memory and the file store. Writes run one at a time; a new document becomes visible to
 * readers only after `persistence.write` resolved, so nobody acts on a change that is not on disk.
 * After a failed write the store refuses further writes: the file may hold either document, and
 * retrying after an fsync error can report success for data that never reached the disk.
 */
export function documentStore(initial: StoreDocument, persistence: Persistence, name: string): ApprovalStore {
  let committed = initial;
  let failure: unknown;
  let closed = false;
  const exclusive = serial();
  // Whatever was executing when the store was opened was left by a process that is gone (the file
  // lock admits one live process); what starts executing later is this process's own.
  const leftExecuting = new Set(initial.approvals.filter((r) => r.state === 'executing').map((r) => r.id));

  function usable(): void {
    if (closed)
      throw new GatehouseError('STORE_UNAVAILABLE', `${name}: the store is closed`, { store: name });
    if (failure !== undefined) {
      throw new GatehouseError(
        'STORE_UNAVAILABLE',
        `${name}: an earlier write failed (${describeError(failure)}); restart Gatehouse to reopen the store`,
        { store: name },
        { cause: failure },
      );
    }
  }

  async function commit(next: StoreDocument, archived: readonly ApprovalRequest[] = []): Promise<void> {
    try {
      if (archived.length > 0) await persistence.archive(archived);
      await persistence.write(next);
    } catch (error) {
      failure = error;
      throw new GatehouseError(
        'STORE_UNAVAILABLE',
        `${name}: cannot write the store: ${describeError(error)}`,
        { store: name },
        { cause: error },
      );
    }
    committed = next;
  }

  const find = (id: string) => committed.approvals.find((r) => r.id === id);
  // A stored request is never changed in place (a change replaces it), so its key is computed once.
  const callKeys = new WeakMap<ApprovalRequest, string>();
  const callKey = (r: ApprovalRequest) => {
    let key = callKeys.get(r);
    if (key === undefined) callKeys.set(r, (key = callKeyOf(r)));
    return key;
  };
  /** A request whose expiry still lies ahead of it: one the sweep may have to expire. */
  const expires = (r: ApprovalRequest) => canTransition(r.state, 'expired');

  /** Runs a pure outbox change exclusively and commits it when it changed anything. */
  const change = <T>(run: (document: StoreDocument) => { next: StoreDocument; value: T }) =>
    exclusive(async () => {
      usable();
      const { next, value } = run(committed);
      if (next !== committed) await commit(next);
      return structuredClone(value);
    });

  return {
    create: (request) =>
      exclusive(async (): Promise<CreateResult> => {
        usable();
        const candidate = checkedNew(request, name);
        const joined = committed.approvals.find((r) => r.digest === candidate.digest && isOpen(r.state));
        if (joined) return { created: false, request: structuredClone(joined) };
        if (find(candidate.id)) throw conflict(name, `an approval with id ${candidate.id} already exists`);
        await commit({ ...committed, approvals: [...committed.approvals, candidate] });
        return { created: true, request: structuredClone(candidate) };
      }),

    get: async (id) => {
      const request = find(id);
      return request && structuredClone(request);
    },

    findByDigest: async (digest) => {
      const matches = committed.approvals.filter((r) => r.digest === digest);
      const chosen = matches.find((r) => isOpen(r.state)) ?? matches.at(-1);
      return chosen && structuredClone(chosen);
    },

    quarantined: async () => structuredClone(committed.quarantined),

    abandonedExecutions: async () =>
      structuredClone(committed.approvals.filter((r) => r.state === 'executing' && leftExecuting.has(r.id))),

    latestWithOtherDefinition: async (call) => {
      const key = callKeyOf(call);
      const chosen = committed.approvals.findLast(
        (r) => r.toolDefinitionDigest !== call.toolDefinitionDigest && callKey(r) === key,
      );
      return chosen && structuredClone(chosen);
    },

    list: async (filter = {}) => {
      const { states } = filter;
      const chosen = states
        ? committed.approvals.filter((r) => states.includes(r.state))
        : committed.approvals;
      return structuredClone(chosen);
    },

    listPage: async ({ states }, { limit, cursor }) => {
      const all = committed.approvals;
      const matches = (r: ApprovalRequest) => !states || states.includes(r.state);
      let end = all.length;
      let after: z.infer<typeof DocumentCursorSchema> | undefined;
      if (cursor !== undefined) {
        after = decodeCursor(cursor, DocumentCursorSchema);
        const { id, createdAt } = after;
        const found = all.findIndex((r) => r.id === id);
        // The request the last page ended with was archived since: go on from its creation time.
        end = found >= 0 ? found : all.findLastIndex((r) => r.createdAt <= createdAt) + 1;
      }
      const listed = new Set(after?.same);
      const requests: ApprovalRequest[] = [];
      let more = false;
      for (let i = end - 1; i >= 0 && !more; i--) {
        const request = all[i]!;
        if (!matches(request) || (request.createdAt === after?.createdAt && listed.has(request.id))) continue;
        if (requests.length === limit) more = true;
        else requests.push(request);
      }
      const last = requests.at(-1);
      if (!more || !last) return { requests: structuredClone(requests) };
      const same = [
        ...(last.createdAt === after?.createdAt ? after.same : []),
        ...requests.filter((r) => r.createdAt === last.createdAt).map((r) => r.id),
      ].slice(-MAX_SAME);
      return {
        requests: structuredClone(requests),
        next: encodeCursor({ id: last.id, createdAt: last.createdAt, same }),
      };
    },

    latestChanged: async (states, limit) => {
      const changed = committed.approvals
        .filter((r) => states.includes(r.state))
        .map((request, order) => ({ request, order, at: Date.parse(lastChangeOf(request)) }))
        // Of two that changed at the same moment, the one created later first.
        .sort((a, b) => b.at - a.at || b.order - a.order);
      return structuredClone(changed.slice(0, limit).map(({ request }) => request));
    },

    expiredBy: async (at) =>
      structuredClone(
        committed.approvals.filter((r) => expires(r) && Date.parse(r.expiresAt) <= at.getTime()),
      ),

    nextExpiry: async () => {
      const earliest = Math.min(...committed.approvals.filter(expires).map((r) => Date.parse(r.expiresAt)));
      return earliest === Infinity ? undefined : new Date(earliest);
    },

    transition: (id, expected, update) =>
      exclusive(async (): Promise<TransitionResult> => {
        usable();
        const current = find(id);
        if (!current) throw notFound(id);
        if (current.state !== expected) return { ok: false, request: structuredClone(current) };
        const next = nextRequest(current, expected, update, name);
        if (!next) return { ok: true, request: structuredClone(current) };
        await commit({ ...committed, approvals: committed.approvals.map((r) => (r.id === id ? next : r)) });
        return { ok: true, request: structuredClone(next) };
      }),

    archiveFinished: (endedBefore) =>
      exclusive(async () => {
        usable();
        const cutoff = endedBefore.getTime();
        const leaving = committed.approvals.filter((r) => {
          const ended = endedAt(r);
          return ended !== undefined && Date.parse(ended) < cutoff;
        });
        if (leaving.length === 0) return [];
        // A crash between the two writes leaves them in both files; a later archiving appends them
        // again, so readers of the archive keep the last line for an id.
        const gone = new Set(leaving);
        const remaining = { ...committed, approvals: committed.approvals.filter((r) => !gone.has(r)) };
        await commit(outbox.forgetRequests(remaining, new Set(leaving.map((r) => r.id))), leaving);
        return structuredClone(leaving);
      }),

    enqueueDeliveries: (deliveries, now) => change((d) => outbox.enqueue(d, deliveries, now)),

    listDeliveries: async (filter = {}) => {
      const { approvalId, states } = filter;
      return structuredClone(
        committed.deliveries.filter(
          (d) =>
            (approvalId === undefined || d.approvalId === approvalId) &&
            (!states || states.includes(d.state)),
        ),
      );
    },

    claimDeliveries: (owner, now, leaseMs, limit) =>
      change((d) => outbox.claim(d, owner, now, leaseMs, limit)),

    nextDeliveryDue: async () => outbox.nextDue(committed),

    deliveryCounts: async () => outbox.counts(committed),

    settleDelivery: (id, owner, settlement) => change((d) => outbox.settle(d, id, owner, settlement, name)),

    saveCallbackToken: async (token) => {
      const valid = parsed(CallbackTokenSchema, token, 'callback token');
      return change((d) => outbox.saveToken(d, valid, name));
    },

    useCallbackToken: (hash, now) => change((d) => outbox.useToken(d, hash, now)),

    releaseCallbackToken: (hash) => change((d) => outbox.releaseToken(d, hash)),

    saveConversation: async (record) => {
      const valid = parsed(ConversationRecordSchema, record, 'conversation reference');
      return change((d) => outbox.saveConversation(d, valid));
    },

    removeConversation: (channel, id) => change((d) => outbox.removeConversation(d, channel, id)),

    listConversations: async (channel) =>
      structuredClone(committed.conversations.filter((c) => c.channel === channel)),

    close: () =>
      exclusive(async () => {
        if (closed) return;
        closed = true;
        await persistence.close();
      }),
  };
}
