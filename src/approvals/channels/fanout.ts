import { ChannelDeliveryError, type ChannelMessage } from './channel.js';

/**
 * One delivery to several places (the Teams conversations, the Slack channels of one channel
 * instance), where some may take it and another fail. The outbox keeps a memo only from a delivery
 * that succeeded, so what a failed attempt did reach is kept here, in memory, until the retry: neither
 * the retry nor a later update posts a second message where one already is. After a restart the memo
 * of the last successful delivery is all there is.
 */

/** Requests whose last delivery was partial, remembered at most (the oldest forgotten first). */
const MAX_PARTIAL_REQUESTS = 1_000;

export interface FanOut<T> {
  /**
   * Calls `each` for every target this delivery has not reached yet, with the memo it may read and
   * add to; resolves to the memo for the next delivery (the keys `keep` accepts), or throws one
   * ChannelDeliveryError for all that failed (retryable when any failure is).
   */
  deliver(
    message: ChannelMessage,
    targets: readonly T[],
    each: (target: T, memo: Record<string, string>) => Promise<void>,
  ): Promise<Record<string, string>>;
}

export function createFanOut<T>(options: {
  /** How a target is named in marks and messages (a conversation id). */
  idOf: (target: T) => string;
  /** Memo keys that go on to later deliveries (message ids); the rest served this delivery only. */
  keep: (key: string) => boolean;
  /** What the targets are, for the message of a failure: "conversations". */
  what: string;
}): FanOut<T> {
  const partial = new Map<string, Record<string, string>>();

  function remember(approvalId: string, memo: Record<string, string>): void {
    partial.delete(approvalId);
    partial.set(approvalId, memo);
    if (partial.size > MAX_PARTIAL_REQUESTS) partial.delete(partial.keys().next().value!);
  }

  return {
    async deliver(message, targets, each) {
      const approvalId = message.summary.id;
      const memo = { ...message.memo, ...partial.get(approvalId) };
      const failures: ChannelDeliveryError[] = [];
      for (const target of targets) {
        const done = `done:${message.deliveryId}:${options.idOf(target)}`;
        if (memo[done]) continue;
        try {
          await each(target, memo);
          memo[done] = '1';
        } catch (error) {
          failures.push(
            error instanceof ChannelDeliveryError
              ? error
              : new ChannelDeliveryError(String(error), { retryable: true, cause: error }),
          );
        }
      }
      if (failures.length > 0) {
        remember(approvalId, memo);
        throw combined(failures, targets.length, options.what);
      }
      partial.delete(approvalId);
      return Object.fromEntries(Object.entries(memo).filter(([key]) => options.keep(key)));
    },
  };
}

/** One error for a delivery that failed somewhere: retried when any failure may pass. */
function combined(failures: ChannelDeliveryError[], total: number, what: string): ChannelDeliveryError {
  if (failures.length === 1) return failures[0]!;
  const retryable = failures.some((f) => f.retryable);
  const waits = failures.map((f) => f.retryAfterMs).filter((ms): ms is number => ms !== undefined);
  return new ChannelDeliveryError(
    `${failures.length} of ${total} ${what} failed: ${failures.map((f) => f.message).join('; ')}`,
    { retryable, ...(waits.length > 0 ? { retryAfterMs: Math.max(...waits) } : {}) },
  );
}
