import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatehouseError } from '../../errors.js';
import type { ApprovalSummary } from './summary.js';

/**
 * The one interface every approval channel implements (Teams bot, Teams Workflows, signed webhooks; the
 * page is the store itself and delivers nothing). The outbox (outbox.ts) calls `deliver` off the tool
 * call's path, retries what throws a retryable ChannelDeliveryError, and hands each delivery's memo
 * back with the next delivery of the same request on the same channel. A channel never decides
 * anything by delivering: decisions come back through `routes`, authenticated by the channel, and go to
 * ApprovalService.decide like the page's.
 */

export const CHANNEL_TYPES = ['page', 'slack', 'teams-bot', 'teams-workflow', 'webhook'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/**
 * What happened to the request, as channels name it (the signed webhooks' event types). `requested`
 * announces; the others update. `call.failed` also covers a call found executing after a crash
 * (outcome `unknown`: it may or may not have run).
 */
export const CHANNEL_EVENTS = [
  'approval.requested',
  'approval.decided',
  'approval.expired',
  'approval.cancelled',
  'call.executed',
  'call.failed',
] as const;
export type ChannelEventName = (typeof CHANNEL_EVENTS)[number];

export interface ChannelEvent {
  name: ChannelEventName;
  /** For `approval.decided`: which decision (1-based, in the summary's `decisions`). */
  decision?: number;
  /** When it happened (the request's creation, the decision, the end), not when it is delivered. */
  at: string;
}

export interface ChannelMessage {
  /** Stable id of this delivery: the idempotency key a receiver may see twice (webhook-id). */
  deliveryId: string;
  /** 'announce' once per request; 'update' for every later change worth telling. */
  kind: 'announce' | 'update';
  /** The change this delivery tells of; the summary is the request as it is now. */
  event: ChannelEvent;
  /** Channel-neutral, rendered when the delivery is attempted: see summary.ts. */
  summary: ApprovalSummary;
  /** What this channel stored from earlier deliveries of this request (a Teams activity id). */
  memo?: Record<string, string>;
  /** Which attempt this is (1 for the first). */
  attempt: number;
}

export interface DeliveryOutcome {
  /** Kept with the request's deliveries and handed back as `memo` next time. */
  memo?: Record<string, string>;
  /** Where it went, without secrets (host, conversation), for the page, status and audit. */
  target?: string;
}

/**
 * A delivery that did not go through. `retryable`: a network error, a timeout, 408, 429 or a 5xx;
 * anything else (another 4xx, a message the channel refuses to send) gives up at once.
 * `retryAfterMs`: the receiver's Retry-After, which the outbox honours (within its bounds).
 */
export class ChannelDeliveryError extends GatehouseError {
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  readonly target: string | undefined;

  constructor(
    message: string,
    options: { retryable: boolean; retryAfterMs?: number; target?: string; status?: number; cause?: unknown },
  ) {
    super(
      'CHANNEL_DELIVERY_FAILED',
      message,
      {
        retryable: options.retryable,
        ...(options.status !== undefined ? { status: options.status } : {}),
        ...(options.target !== undefined ? { target: options.target } : {}),
      },
      options.cause !== undefined ? { cause: options.cause } : undefined,
    );
    this.name = 'ChannelDeliveryError';
    this.retryable = options.retryable;
    this.retryAfterMs = options.retryAfterMs;
    this.target = options.target;
  }
}

export interface Channel {
  /** The instance name from the config. */
  readonly name: string;
  readonly type: ChannelType;
  /**
   * Sends (announce) or updates (update) the request's message. Resolves once the receiver
   * acknowledged it; throws ChannelDeliveryError otherwise (any other error counts as retryable).
   * `signal` aborts at the outbox's time limit or at shutdown.
   */
  deliver(message: ChannelMessage, signal: AbortSignal): Promise<DeliveryOutcome>;
  /** Whether this channel tells of `event` at all (default: every event); others are never enqueued. */
  wants?(event: ChannelEvent): boolean;
  /** Inbound HTTP this channel serves (the Teams bot endpoint, webhook callbacks), if any. */
  routes?(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  close?(): Promise<void>;
}

/**
 * Whether an HTTP status is worth another try: 408, 429 and 5xx are; any other 4xx is the receiver's
 * final word (a bad request, a revoked credential) and repeating it would only repeat the refusal.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable
 * (then the outbox's own backoff applies).
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
