import { z } from 'zod';
import { ChannelDeliveryError } from '../channel.js';
import { ADAPTIVE_CARD_CONTENT_TYPE, type AdaptiveCard } from './adaptiveCard.js';
import type { EntraTokens } from './entra.js';
import { send } from './send.js';

/**
 * The Bot Connector REST calls a card needs: post it to a conversation
 * (POST {serviceUrl}/v3/conversations/{id}/activities), replace it in place
 * (PUT …/activities/{activityId}), and look up a member (GET …/members/{userId}) for the Teams user id
 * its refresh names. Each carries the bot's Entra token. A 401 means the token was refused: it is
 * dropped, and the retry gets a fresh one.
 */

export interface ConnectorClient {
  /** Posts the card; resolves to the new activity's id. */
  post(target: ConnectorTarget, card: AdaptiveCard, signal: AbortSignal): Promise<string>;
  update(target: ConnectorTarget, activityId: string, card: AdaptiveCard, signal: AbortSignal): Promise<void>;
  /**
   * The conversation's member with this Entra object id (or Teams user id, or UPN): their Teams user
   * id, the bot-scoped `29:…`. Undefined when they are not a member (404).
   */
  member(target: ConnectorTarget, userId: string, signal: AbortSignal): Promise<{ id: string } | undefined>;
}

export interface ConnectorTarget {
  serviceUrl: string;
  conversationId: string;
}

/** A posted activity's answer and a member both: an object with an id, whatever else it carries. */
const WithIdSchema = z.looseObject({ id: z.string().min(1) });

const ACTIONS = {
  GET: 'looking up a member of',
  POST: 'posting the card in',
  PUT: 'updating the card in',
} as const;

export function createConnectorClient(tokens: EntraTokens): ConnectorClient {
  async function call(
    method: keyof typeof ACTIONS,
    target: ConnectorTarget,
    path: string,
    body: unknown,
    signal: AbortSignal,
  ): Promise<Response> {
    const host = new URL(target.serviceUrl).host;
    const url = `${target.serviceUrl.replace(/\/+$/, '')}/v3/conversations/${encodeURIComponent(target.conversationId)}${path}`;
    // Entra's own refusals pass as they are: a 401 from Entra is a wrong credential, not a stale token.
    const token = await tokens.token(signal);
    try {
      return await send(
        url,
        {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal,
        },
        { action: `${ACTIONS[method]} ${target.conversationId}`, target: host },
      );
    } catch (error) {
      if (error instanceof ChannelDeliveryError && error.context.status === 401) {
        tokens.invalidate();
        throw new ChannelDeliveryError(`${error.message} (the token is renewed for the next try)`, {
          retryable: true,
          status: 401,
          target: host,
        });
      }
      throw error;
    }
  }

  const message = (card: AdaptiveCard, id?: string) => ({
    type: 'message',
    ...(id ? { id } : {}),
    attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: card }],
  });

  return {
    async post(target, card, signal) {
      const response = await call('POST', target, '/activities', message(card), signal);
      const posted = WithIdSchema.safeParse(await response.json().catch(() => undefined));
      if (!posted.success) {
        // Posted, perhaps, but with no id to update it by: not worth posting twice.
        throw new ChannelDeliveryError(`the Bot Connector answered without an activity id`, {
          retryable: false,
          target: new URL(target.serviceUrl).host,
        });
      }
      return posted.data.id;
    },
    async update(target, activityId, card, signal) {
      await call(
        'PUT',
        target,
        `/activities/${encodeURIComponent(activityId)}`,
        message(card, activityId),
        signal,
      );
    },
    async member(target, userId, signal) {
      let response: Response;
      try {
        response = await call('GET', target, `/members/${encodeURIComponent(userId)}`, undefined, signal);
      } catch (error) {
        if (error instanceof ChannelDeliveryError && error.context.status === 404) return undefined;
        throw error;
      }
      const member = WithIdSchema.safeParse(await response.json().catch(() => undefined));
      if (!member.success) {
        throw new ChannelDeliveryError('the Bot Connector answered a member lookup without an id', {
          retryable: false,
          target: new URL(target.serviceUrl).host,
        });
      }
      return { id: member.data.id };
    },
  };
}
