import {
  deliveryId,
  stageOrder,
  type CallbackToken,
  type ConversationRecord,
  type DeliveryRecord,
} from '../approvals/channels/delivery.js';
import { GatehouseError } from '../errors.js';
import type { StoreDocument } from './document.js';
import type {
  CallbackTokenUse,
  ChannelDeliveryCounts,
  ClaimedDelivery,
  DeliverySettlement,
  NewDelivery,
} from './store.js';

/**
 * The outbox's rules over a store document, pure: each takes the committed document and returns the
 * next one (or the same object when nothing changes) with its answer. The document store runs them
 * one at a time and makes the result durable before anyone sees it.
 */

type Change<T> = { next: StoreDocument; value: T };

export function enqueue(
  document: StoreDocument,
  wanted: readonly NewDelivery[],
  now: Date,
): Change<DeliveryRecord[]> {
  const known = new Set(document.deliveries.map((d) => d.id));
  const added: DeliveryRecord[] = [];
  for (const { approvalId, channel, stage } of wanted) {
    const id = deliveryId(approvalId, channel, stage);
    if (known.has(id)) continue;
    known.add(id);
    const at = now.toISOString();
    added.push({
      id,
      approvalId,
      channel,
      stage,
      state: 'pending',
      createdAt: at,
      attempts: 0,
      nextAttemptAt: at,
    });
  }
  if (added.length === 0) return { next: document, value: [] };
  return { next: { ...document, deliveries: [...document.deliveries, ...added] }, value: added };
}

export function claim(
  document: StoreDocument,
  owner: string,
  now: Date,
  leaseMs: number,
  limit: number,
): Change<ClaimedDelivery[]> {
  const at = now.getTime();
  const chosen = new Set<string>();
  for (const d of heads(document.deliveries)) {
    if (chosen.size >= limit) break;
    // Not yet due, or under a live lease (another worker's, or this one's still at work): not now.
    if (dueAt(d) > at) continue;
    chosen.add(d.id);
  }
  if (chosen.size === 0) return { next: document, value: [] };
  const lease = { owner, until: new Date(at + leaseMs).toISOString() };
  const deliveries = document.deliveries.map((d) => (chosen.has(d.id) ? { ...d, lease } : d));
  const value = deliveries
    .filter((d) => chosen.has(d.id))
    .map((delivery) => {
      const memo = document.channelMemos.find(
        (m) => m.approvalId === delivery.approvalId && m.channel === delivery.channel,
      )?.memo;
      return { delivery, ...(memo ? { memo: { ...memo } } : {}) };
    });
  return { next: { ...document, deliveries }, value };
}

/** When a claim can next take something (see ApprovalStore.nextDeliveryDue), read only. */
export function nextDue(document: StoreDocument): Date | undefined {
  let earliest = Infinity;
  for (const d of heads(document.deliveries)) earliest = Math.min(earliest, dueAt(d));
  return earliest === Infinity ? undefined : new Date(earliest);
}

/** Per channel, what ApprovalStore.deliveryCounts says; among failures at the same time, the later one. */
export function counts(document: StoreDocument): ChannelDeliveryCounts[] {
  const byChannel = new Map<string, ChannelDeliveryCounts>();
  for (const d of document.deliveries) {
    let c = byChannel.get(d.channel);
    if (!c) byChannel.set(d.channel, (c = { channel: d.channel, pending: 0, failed: 0, delivered: 0 }));
    c[d.state]++;
    if (d.deliveredAt && (!c.lastDeliveredAt || d.deliveredAt > c.lastDeliveredAt)) {
      c.lastDeliveredAt = d.deliveredAt;
    }
    if (d.lastError !== undefined && d.lastAttemptAt !== undefined) {
      if (!c.lastFailure || d.lastAttemptAt >= c.lastFailure.at) {
        c.lastFailure = { at: d.lastAttemptAt, message: d.lastError };
      }
    }
  }
  return [...byChannel.values()].sort((a, b) => (a.channel < b.channel ? -1 : 1));
}

/** The first pending delivery of each request on each channel, in stage order: only it may go. */
function heads(deliveries: readonly DeliveryRecord[]): Iterable<DeliveryRecord> {
  const first = new Map<string, DeliveryRecord>();
  for (const d of deliveries) {
    if (d.state !== 'pending') continue;
    const key = `${d.approvalId}\u0000${d.channel}`;
    const head = first.get(key);
    if (!head || stageOrder(d.stage) < stageOrder(head.stage)) first.set(key, d);
  }
  return first.values();
}

/** When a pending delivery can be claimed: once due, and once a lease on it has run out. */
const dueAt = (d: DeliveryRecord) =>
  Math.max(Date.parse(d.nextAttemptAt), d.lease ? Date.parse(d.lease.until) : -Infinity);

export function settle(
  document: StoreDocument,
  id: string,
  owner: string,
  settlement: DeliverySettlement,
  storeName: string,
): Change<DeliveryRecord> {
  const current = document.deliveries.find((d) => d.id === id);
  if (!current) throw conflict(storeName, `no delivery ${id}`);
  if (current.state !== 'pending') throw conflict(storeName, `delivery ${id} is ${current.state} already`);
  if (current.lease?.owner !== owner) throw conflict(storeName, `delivery ${id} is not held by ${owner}`);
  const { lease: _lease, ...rest } = current;
  const at = settlement.at.toISOString();
  const base = {
    ...rest,
    attempts: current.attempts + 1,
    lastAttemptAt: at,
    ...(settlement.target !== undefined ? { target: settlement.target } : {}),
  };
  let next: DeliveryRecord;
  let channelMemos = document.channelMemos;
  if (settlement.result === 'delivered') {
    const { lastError: _error, ...clean } = base;
    next = { ...clean, state: 'delivered', deliveredAt: at };
    if (settlement.memo && Object.keys(settlement.memo).length > 0) {
      const match = (m: (typeof channelMemos)[number]) =>
        m.approvalId === current.approvalId && m.channel === current.channel;
      const old = channelMemos.find(match);
      const memo = { ...old?.memo, ...settlement.memo };
      channelMemos = old
        ? channelMemos.map((m) => (match(m) ? { ...m, memo } : m))
        : [...channelMemos, { approvalId: current.approvalId, channel: current.channel, memo }];
    }
  } else if (settlement.result === 'retry') {
    next = { ...base, lastError: settlement.error, nextAttemptAt: settlement.nextAttemptAt.toISOString() };
  } else {
    next = { ...base, state: 'failed', lastError: settlement.error, failedAt: at };
  }
  return {
    next: { ...document, deliveries: document.deliveries.map((d) => (d.id === id ? next : d)), channelMemos },
    value: next,
  };
}

/** Leases are held by a live process; a file store opened under its lock holds none of those. */
export function releaseLeases(document: StoreDocument): StoreDocument {
  if (!document.deliveries.some((d) => d.lease)) return document;
  return {
    ...document,
    deliveries: document.deliveries.map(({ lease: _lease, ...d }) => d),
  };
}

export function saveToken(document: StoreDocument, token: CallbackToken, storeName: string): Change<void> {
  if (document.callbackTokens.some((t) => t.hash === token.hash)) {
    throw conflict(storeName, 'a callback token with this hash is kept already');
  }
  return { next: { ...document, callbackTokens: [...document.callbackTokens, token] }, value: undefined };
}

/**
 * One delivery carries one decision, however many attempts (each with a token of its own) reached the
 * receiver: using one token uses its siblings too, and giving it back gives them back.
 */
export function useToken(document: StoreDocument, hash: string, now: Date): Change<CallbackTokenUse> {
  const token = document.callbackTokens.find((t) => t.hash === hash);
  if (!token) return { next: document, value: { ok: false, reason: 'unknown' } };
  if (token.usedAt) return { next: document, value: { ok: false, reason: 'used' } };
  if (Date.parse(token.expiresAt) <= now.getTime()) {
    return { next: document, value: { ok: false, reason: 'expired' } };
  }
  const usedAt = now.toISOString();
  const callbackTokens = document.callbackTokens.map((t) =>
    t.deliveryId === token.deliveryId && !t.usedAt ? { ...t, usedAt } : t,
  );
  return { next: { ...document, callbackTokens }, value: { ok: true, token: { ...token, usedAt } } };
}

export function releaseToken(document: StoreDocument, hash: string): Change<void> {
  const token = document.callbackTokens.find((t) => t.hash === hash);
  if (!token?.usedAt) return { next: document, value: undefined };
  const callbackTokens = document.callbackTokens.map(({ usedAt, ...t }) =>
    t.deliveryId === token.deliveryId && usedAt === token.usedAt
      ? t
      : { ...t, ...(usedAt ? { usedAt } : {}) },
  );
  return { next: { ...document, callbackTokens }, value: undefined };
}

export function saveConversation(document: StoreDocument, record: ConversationRecord): Change<void> {
  const same = (c: ConversationRecord) => c.channel === record.channel && c.id === record.id;
  const conversations = document.conversations.some(same)
    ? document.conversations.map((c) => (same(c) ? record : c))
    : [...document.conversations, record];
  return { next: { ...document, conversations }, value: undefined };
}

export function removeConversation(document: StoreDocument, channel: string, id: string): Change<void> {
  const conversations = document.conversations.filter((c) => c.channel !== channel || c.id !== id);
  return { next: { ...document, conversations }, value: undefined };
}

/** The document without what belongs to requests that leave it. */
export function forgetRequests(document: StoreDocument, ids: ReadonlySet<string>): StoreDocument {
  return {
    ...document,
    deliveries: document.deliveries.filter((d) => !ids.has(d.approvalId)),
    channelMemos: document.channelMemos.filter((m) => !ids.has(m.approvalId)),
    callbackTokens: document.callbackTokens.filter((t) => !ids.has(t.approvalId)),
  };
}

function conflict(name: string, message: string): GatehouseError {
  return new GatehouseError('STORE_CONFLICT', `${name}: ${message}`, { store: name });
}
