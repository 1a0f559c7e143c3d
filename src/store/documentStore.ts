import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import { ApprovalRequestSchema, type ApprovalRequest } from '../approvals/request.js';
import { canTransition, endedAt, isOpen, isTerminal, verifyDigest } from '../approvals/states.js';
import { GatehouseError, describeError } from '../errors.js';
import { CallbackTokenSchema, ConversationRecordSchema } from '../approvals/channels/delivery.js';
import type { StoreDocument } from './document.js';
import * as outbox from './outbox.js';
import { serial } from './serial.js';
import type { ApprovalStore, CreateResult, TransitionResult } from './store.js';

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
        const candidate = checked(request, name);
        if (candidate.state !== 'pending') {
          throw conflict(
            name,
            `approval ${candidate.id} is ${candidate.state}; only a pending request is created`,
          );
        }
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

    list: async (filter = {}) => {
      const { states } = filter;
      const chosen = states
        ? committed.approvals.filter((r) => states.includes(r.state))
        : committed.approvals;
      return structuredClone(chosen);
    },

    transition: (id, expected, update) =>
      exclusive(async (): Promise<TransitionResult> => {
        usable();
        const current = find(id);
        if (!current)
          throw new GatehouseError('APPROVAL_NOT_FOUND', `no approval request with id ${id}`, { id });
        if (current.state !== expected) return { ok: false, request: structuredClone(current) };
        const next = checked(update(structuredClone(current)), name);
        if (isDeepStrictEqual(next, current)) return { ok: true, request: structuredClone(current) };
        if (next.id !== id || next.digest !== current.digest) {
          throw conflict(name, `an update of approval ${id} changed its id or the invocation it is bound to`);
        }
        if (isTerminal(expected)) throw conflict(name, `approval ${id} is ${expected}, which is final`);
        if (next.state !== expected && !canTransition(expected, next.state)) {
          throw conflict(name, `approval ${id} cannot go from ${expected} to ${next.state}`);
        }
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

/** A private, validated copy whose stored fields still hash to its digest. */
function checked(request: ApprovalRequest, name: string): ApprovalRequest {
  const parsed = ApprovalRequestSchema.safeParse(request);
  if (!parsed.success) {
    throw conflict(
      name,
      `approval ${String(request?.id)} does not match the schema: ${parsed.error.issues[0]?.message}`,
    );
  }
  if (!verifyDigest(parsed.data)) {
    throw conflict(name, `approval ${parsed.data.id}: the stored invocation does not match its digest`);
  }
  // The parse may share nested argument values with the caller's object.
  return structuredClone(parsed.data);
}

/** A validated private copy of a record handed in from outside, or STORE_CONFLICT naming what is wrong. */
function parsed<T>(schema: z.ZodType<T>, value: T, what: string): T {
  const result = schema.safeParse(structuredClone(value));
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new GatehouseError(
    'STORE_CONFLICT',
    `the ${what} does not match the schema: ${issue?.path.join('.')}: ${issue?.message}`,
  );
}

function conflict(name: string, message: string): GatehouseError {
  return new GatehouseError('STORE_CONFLICT', `${name}: ${message}`, { store: name });
}
