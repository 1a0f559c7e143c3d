import type { ApprovalStore } from '../store/store.js';
import type { ApprovalRequest } from './request.js';
import { asOf, markUnknown } from './states.js';

/**
 * Start-up and periodic housekeeping over a store, built only from the state machine and the store's
 * compare-and-set, so it is safe to run while decisions arrive: whoever changes a request first wins.
 */

/**
 * Turns every pending or approved request whose ttl has run out into `expired`; returns their ids.
 * Reads only those (the store selects them), not every open request.
 */
export async function sweepExpired(store: ApprovalStore, now: Date): Promise<string[]> {
  const expired: string[] = [];
  for (const request of await store.expiredBy(now)) {
    const result = await store.transition(request.id, request.state, (r) => asOf(r, now));
    if (result.ok && result.request.state === 'expired') expired.push(request.id);
  }
  return expired;
}

export interface Recovery {
  /**
   * Requests found `executing` that no live process holds, now `unknown`: they may have run, so they
   * are never re-run on their own.
   */
  unknown: string[];
  expired: string[];
  /** Still waiting for decisions: their channels resume. */
  pending: ApprovalRequest[];
  /** Approved but never started: the executor claims each (approved → executing) and runs it once. */
  toExecute: ApprovalRequest[];
}

/**
 * Turns the executions no live process holds into `unknown` (they may or may not have run); returns
 * their ids. At start, what a previous process left; later, what a replica that died left.
 */
export async function markAbandoned(store: ApprovalStore, now: Date): Promise<string[]> {
  const unknown: string[] = [];
  for (const request of await store.abandonedExecutions()) {
    const result = await store.transition(request.id, 'executing', (r) => markUnknown(r, now));
    if (result.ok) unknown.push(request.id);
  }
  return unknown;
}

/** What a starting Gatehouse does with the requests a previous process left. Run before serving. */
export async function recoverOnStart(store: ApprovalStore, now: Date): Promise<Recovery> {
  const unknown = await markAbandoned(store, now);
  const expired = await sweepExpired(store, now);
  return {
    unknown,
    expired,
    pending: await store.list({ states: ['pending'] }),
    toExecute: await store.list({ states: ['approved'] }),
  };
}
