import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatehouseError } from '../../errors.js';
import type { ApprovalSummary } from './summary.js';

/**
 * LOCAL COPY for the Teams branch (owner: the channels helper): the Channel interface exactly as the
 * issue 9 design gives it, so the Teams channels compile before the channels helper's file lands.
 * On merge the channels helper's file replaces this one. `ChannelDeliveryError`'s constructor,
 * `isRetryableStatus` and `parseRetryAfter` follow the channels helper's work in progress.
 */

export type ChannelType = 'page' | 'teams-bot' | 'teams-workflow' | 'webhook';

export interface ChannelMessage {
  /** Stable id of this delivery: the idempotency key a receiver may see twice (webhook-id). */
  deliveryId: string;
  /** 'announce' once per request; 'update' for every later change worth telling. */
  kind: 'announce' | 'update';
  summary: ApprovalSummary;
  /** What this channel stored from earlier deliveries of this request (a Teams activity id). */
  memo?: Record<string, string>;
}

export interface DeliveryOutcome {
  /** Kept with the request's deliveries and handed back as `memo` next time. */
  memo?: Record<string, string>;
  /** Where it went, without secrets (host, conversation), for the page, status and audit. */
  target?: string;
}

/**
 * A delivery that did not go through. `retryable`: a network error, a timeout, 408, 429 or a 5xx;
 * anything else gives up at once. `retryAfterMs`: the receiver's Retry-After.
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
  deliver(message: ChannelMessage, signal: AbortSignal): Promise<DeliveryOutcome>;
  /** Inbound HTTP this channel serves (the Teams bot endpoint, webhook callbacks), if any. */
  routes?(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  close?(): Promise<void>;
}

/** 408, 429 and 5xx are worth another try; any other 4xx is the receiver's final word. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Retry-After as milliseconds (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
