import { z } from 'zod';
import { JsonObjectAsIs } from '../../shared/json.js';
import type { ApprovalRequest } from '../request.js';
import type { ChannelEvent, ChannelEventName } from './channel.js';

/**
 * The outbox's records, as the store keeps them (schema version 4), and the pure rules that say which
 * deliveries a request is owed. A delivery is keyed `<approvalId>/<channel>/<stage>`, so enqueueing the
 * same change twice (from an event and from the reconciliation at start) adds it once.
 */

const Time = z.iso.datetime({ offset: true });

/**
 * What a delivery tells: `requested` (the announce), `decision-<n>` (the n-th decision, which may
 * approve or reject the request), and how it ended when it did not end by a decision.
 */
export const StageSchema = z
  .string()
  .regex(
    /^(?:requested|decision-[1-9]\d*|executed|failed|expired|cancelled|unknown)$/,
    'not a delivery stage',
  );
export type Stage = z.infer<typeof StageSchema>;

export const DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const;
export const DeliveryStateSchema = z.enum(DELIVERY_STATES);
export type DeliveryState = z.infer<typeof DeliveryStateSchema>;

export const DeliveryRecordSchema = z.strictObject({
  id: z.string().min(1),
  approvalId: z.string().min(1),
  /** The channel instance's name in the config. */
  channel: z.string().min(1),
  stage: StageSchema,
  /** `pending` until the channel acknowledged it (`delivered`) or it was given up (`failed`). */
  state: DeliveryStateSchema,
  createdAt: Time,
  attempts: z.number().int().nonnegative(),
  /** When a pending delivery may next be tried. */
  nextAttemptAt: Time,
  lastAttemptAt: Time.optional(),
  /** Why the last attempt failed, without secrets. */
  lastError: z.string().optional(),
  /** Who is delivering it now, and until when that claim holds. */
  lease: z.strictObject({ owner: z.string().min(1), until: Time }).optional(),
  deliveredAt: Time.optional(),
  failedAt: Time.optional(),
  /** Where it went (a host, a conversation), without credentials. */
  target: z.string().optional(),
});
export type DeliveryRecord = z.infer<typeof DeliveryRecordSchema>;

/** What a channel kept from earlier deliveries of one request (a Teams activity id), handed back next time. */
export const ChannelMemoSchema = z.strictObject({
  approvalId: z.string().min(1),
  channel: z.string().min(1),
  memo: z.record(z.string(), z.string()),
});
export type ChannelMemo = z.infer<typeof ChannelMemoSchema>;

/**
 * A webhook decision callback token, stored only as its SHA-256: whoever reads the store cannot
 * decide with it. Good for one decision on one request until the request expires.
 */
export const CallbackTokenSchema = z.strictObject({
  hash: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  approvalId: z.string().min(1),
  channel: z.string().min(1),
  /** The delivery that carried it. */
  deliveryId: z.string().min(1),
  expiresAt: Time,
  usedAt: Time.optional(),
});
export type CallbackToken = z.infer<typeof CallbackTokenSchema>;

/** A Teams conversation the bot was installed in (its conversation reference), kept across restarts. */
export const ConversationRecordSchema = z.strictObject({
  /** The channel instance's name. */
  channel: z.string().min(1),
  /** The conversation's id: one record per channel and conversation. */
  id: z.string().min(1),
  reference: JsonObjectAsIs,
  savedAt: Time,
});
export type ConversationRecord = z.infer<typeof ConversationRecordSchema>;

export const deliveryId = (approvalId: string, channel: string, stage: Stage) =>
  `${approvalId}/${channel}/${stage}`;

const FINAL_STAGES: Readonly<Partial<Record<ApprovalRequest['state'], Stage>>> = {
  executed: 'executed',
  failed: 'failed',
  expired: 'expired',
  cancelled: 'cancelled',
  unknown: 'unknown',
};

/**
 * Every stage the request's stored state calls for, in order: the announce, one per decision, and how
 * it ended (a rejection ends by its decision).
 */
export function stagesOf(request: ApprovalRequest): Stage[] {
  const final = FINAL_STAGES[request.state];
  return ['requested', ...request.decisions.map((_, i) => `decision-${i + 1}`), ...(final ? [final] : [])];
}

/** Deliveries of one request on one channel go in this order. */
export function stageOrder(stage: Stage): number {
  if (stage === 'requested') return 0;
  const decision = /^decision-(\d+)$/.exec(stage);
  return decision ? Number(decision[1]) : Number.MAX_SAFE_INTEGER;
}

/** The name channels give the change a stage tells of. */
export function eventNameOf(stage: Stage): ChannelEventName {
  if (stage.startsWith('decision-')) return 'approval.decided';
  switch (stage) {
    case 'requested':
      return 'approval.requested';
    case 'executed':
      return 'call.executed';
    case 'expired':
      return 'approval.expired';
    case 'cancelled':
      return 'approval.cancelled';
    default:
      // failed, and unknown (found executing after a crash: it may or may not have run).
      return 'call.failed';
  }
}

/** The change a stage tells of, with when it happened according to the request. */
export function eventOf(stage: Stage, request: ApprovalRequest): ChannelEvent {
  const name = eventNameOf(stage);
  const decision = /^decision-(\d+)$/.exec(stage);
  if (decision) {
    const index = Number(decision[1]);
    return { name, decision: index, at: request.decisions[index - 1]?.at ?? request.createdAt };
  }
  if (stage === 'requested') return { name, at: request.createdAt };
  return { name, at: request.execution?.finishedAt ?? request.closed?.at ?? request.createdAt };
}
