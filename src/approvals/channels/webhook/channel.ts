import { Webhook } from 'standardwebhooks';
import type { ApprovalStore } from '../../../store/store.js';
import { VERSION } from '../../../version.js';
import {
  ChannelDeliveryError,
  isRetryableStatus,
  parseRetryAfter,
  type Channel,
  type ChannelMessage,
} from '../channel.js';
import type { SummaryDecision, ApprovalSummary } from '../summary.js';
import type { WebhookChannelConfig } from './config.js';
import { undici } from '../../../shared/undici.js';
import { hashCallbackToken, newCallbackToken } from './tokens.js';

/**
 * Signed webhooks, outbound: each event is a JSON POST signed by the Standard Webhooks scheme with the
 * scheme's reference library (`webhook-id` is the delivery id, so a receiver that sees a retry of
 * something it already has can tell; `webhook-signature` carries one `v1,` signature per configured
 * secret, so receivers keep verifying while the secret rotates). While the request is pending the event
 * carries a decision callback: where to POST, and a fresh single-use token minted for this attempt,
 * kept only as its hash.
 */

/** The JSON body of every event (the Standard Webhooks payload shape: type, timestamp, data). */
export interface WebhookEvent {
  type: ChannelMessage['event']['name'];
  /** When the change happened. */
  timestamp: string;
  data: {
    /** The request as it is now: redacted arguments, untrusted text made visible (summary.ts). */
    approval: ApprovalSummary;
    /** For approval.decided: the decision this event tells of. */
    decision?: SummaryDecision;
    /** While the request is pending and this channel takes decisions. */
    callback?: WebhookCallback;
  };
}

export interface WebhookCallback {
  method: 'POST';
  url: string;
  /** Single use; send it back in the body as `token`, with the decision, signed like the events. */
  token: string;
  expiresAt: string;
}

export interface WebhookChannelDeps {
  store: Pick<ApprovalStore, 'saveCallbackToken'>;
  /** Where receivers reach Gatehouse's API: approvals.publicUrl or the listener. */
  baseUrl: () => string;
  now?: () => Date;
}

export function createWebhookChannel(
  name: string,
  config: WebhookChannelConfig,
  deps: WebhookChannelDeps,
): Channel {
  const now = deps.now ?? (() => new Date());
  const signers = config.secrets.map((secret) => new Webhook(secret));
  // The host only: a path or query may hold a credential.
  const target = new URL(config.url).host;
  const events = config.events && new Set(config.events);

  async function callbackFor(message: ChannelMessage): Promise<WebhookCallback | undefined> {
    const { summary } = message;
    if (!config.decisions || summary.state !== 'pending') return undefined;
    const token = newCallbackToken();
    await deps.store.saveCallbackToken({
      hash: hashCallbackToken(token),
      approvalId: summary.id,
      channel: name,
      deliveryId: message.deliveryId,
      expiresAt: summary.expiresAt,
    });
    const base = deps.baseUrl().replace(/\/+$/, '');
    return {
      method: 'POST',
      url: `${base}/api/approvals/${encodeURIComponent(summary.id)}/decision`,
      token,
      expiresAt: summary.expiresAt,
    };
  }

  return {
    name,
    type: 'webhook',
    wants: (event) => !events || events.has(event.name),
    async deliver(message, signal) {
      const callback = await callbackFor(message).catch((error: unknown) => {
        throw new ChannelDeliveryError(`cannot keep the callback token: ${String(error)}`, {
          retryable: true,
          target,
          cause: error,
        });
      });
      const decision =
        message.event.decision !== undefined
          ? message.summary.decisions[message.event.decision - 1]
          : undefined;
      const event: WebhookEvent = {
        type: message.event.name,
        timestamp: message.event.at,
        data: {
          approval: message.summary,
          ...(decision ? { decision } : {}),
          ...(callback ? { callback } : {}),
        },
      };
      const body = JSON.stringify(event);
      const sentAt = now();
      const signature = signers.map((signer) => signer.sign(message.deliveryId, sentAt, body)).join(' ');
      let response;
      try {
        response = await undici().request(config.url, {
          method: 'POST',
          signal,
          headers: {
            ...config.headers,
            'content-type': 'application/json',
            'user-agent': `Gatehouse/${VERSION}`,
            'webhook-id': message.deliveryId,
            'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
            'webhook-signature': signature,
          },
          body,
        });
      } catch (error) {
        if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : error;
        throw new ChannelDeliveryError(`cannot reach ${target}: ${(error as Error).message}`, {
          retryable: true,
          target,
          cause: error,
        });
      }
      // The body is the receiver's business; reading it would only hold the connection.
      await response.body.dump().catch(() => undefined);
      const status = response.statusCode;
      if (status >= 200 && status < 300) return { target };
      const retryAfterMs =
        status === 429 || status === 503
          ? parseRetryAfter(response.headers['retry-after'], now().getTime())
          : undefined;
      throw new ChannelDeliveryError(
        `HTTP ${status} from ${target}` +
          (retryAfterMs !== undefined ? `; Retry-After ${Math.round(retryAfterMs / 1000)} s` : ''),
        {
          retryable: isRetryableStatus(status),
          status,
          target,
          ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        },
      );
    },
  };
}
