import type { Channel } from '../../src/approvals/channels/channel.js';
import type { ApprovalRequest } from '../../src/approvals/request.js';
import { summaryOf } from './teamsSummary.js';

/**
 * Deliveries to a channel the way the outbox makes them, for channel tests: each with a new id (or,
 * for a retry, the id of the request's last delivery), and the memo the channel returned for the
 * request kept and handed to its next delivery.
 */
export interface OutboxStandIn {
  /** The memo each request has on this channel so far. */
  memos: Map<string, Record<string, string>>;
  /** The delivery of the request as it is now; `retry`: the same delivery again. */
  deliver(
    id: string,
    kind: 'announce' | 'update',
    on: Channel,
    retry?: boolean,
  ): ReturnType<Channel['deliver']>;
}

export function outboxStandIn(
  channelName: string,
  requestOf: (id: string) => Promise<ApprovalRequest | undefined>,
  pageUrl: () => string,
): OutboxStandIn {
  const memos = new Map<string, Record<string, string>>();
  const lastDelivery = new Map<string, string>();
  let deliveries = 0;
  return {
    memos,
    async deliver(id, kind, on, retry = false) {
      const request = (await requestOf(id))!;
      const deliveryId = retry ? lastDelivery.get(id)! : `${id}/${channelName}/${++deliveries}`;
      lastDelivery.set(id, deliveryId);
      const outcome = await on.deliver(
        {
          deliveryId,
          kind,
          event: {
            name: kind === 'announce' ? 'approval.requested' : 'approval.decided',
            at: request.createdAt,
          },
          attempt: 1,
          summary: summaryOf(request, pageUrl()),
          memo: memos.get(id) ?? {},
        },
        AbortSignal.timeout(10_000),
      );
      memos.set(id, outcome.memo ?? {});
      return outcome;
    },
  };
}
