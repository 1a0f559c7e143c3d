import type { Logger } from '../../../log.js';
import type { Channel, ChannelMessage, DeliveryOutcome } from '../channel.js';
import { ADAPTIVE_CARD_CONTENT_TYPE } from './adaptiveCard.js';
import { approvalCard } from './card.js';
import type { TeamsWorkflowChannelConfig } from './config.js';
import { send } from './send.js';

/**
 * Teams through a Workflows webhook (Power Automate's "When a Teams webhook request is received"
 * trigger, with a "Post card in a chat or channel" step): no Azure setup, but the card can only open
 * links, so approvers decide on the request's page after signing in. Each request gets its card once,
 * and one follow-up card when it has ended; a workflow posts new messages and cannot change old ones.
 * The URL carries the workflow's signature: only its host is ever logged or shown.
 */

export interface TeamsWorkflowDeps {
  name: string;
  logger: Logger;
}

/** What the memo holds once the follow-up card went out. */
const REPORTED = 'reported';

export function createTeamsWorkflowChannel(
  config: TeamsWorkflowChannelConfig,
  deps: TeamsWorkflowDeps,
): Channel {
  const target = new URL(config.url).host;
  const log = deps.logger.child({ module: 'teams-workflow', channel: deps.name, target });

  async function post(message: ChannelMessage, signal: AbortSignal): Promise<void> {
    const card = approvalCard(message.summary, { mode: 'workflow', maxBytes: config.maxCardBytes });
    await send(
      config.url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8' },
        // The envelope the workflow trigger expects: a message with Adaptive Card attachments.
        body: JSON.stringify({
          type: 'message',
          attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, contentUrl: null, content: card }],
        }),
        signal,
      },
      { action: `posting the card of ${message.summary.id} to the Teams workflow`, target },
    );
  }

  async function deliver(message: ChannelMessage, signal: AbortSignal): Promise<DeliveryOutcome> {
    const { summary } = message;
    const memo = { ...message.memo };
    if (message.kind === 'announce') {
      await post(message, signal);
      return { memo, target };
    }
    // Updates along the way (one approval of two, approved and running) would be noise: only the end.
    if (!summary.outcome || memo[REPORTED]) return { memo, target };
    await post(message, signal);
    log.debug(
      { approvalId: summary.id, outcome: summary.outcome.kind },
      'outcome posted to the Teams workflow',
    );
    return { memo: { ...memo, [REPORTED]: summary.outcome.kind }, target };
  }

  return { name: deps.name, type: 'teams-workflow', deliver };
}
