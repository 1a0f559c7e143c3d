import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../../log.js';
import type { ApprovalRequest } from '../../request.js';
import type { ApprovalService } from '../../service.js';
import type { Channel, ChannelMessage, DeliveryOutcome } from '../channel.js';
import type { ApproverDirectory } from '../directory.js';
import { createFanOut } from '../fanout.js';
import type { ApprovalSummary } from '../summary.js';
import { createReplayGuard } from '../webhook/replay.js';
import { createSlackApi, type SlackApi } from './api.js';
import type { SlackChannelConfig } from './config.js';
import { createInteractionRoute } from './http.js';
import { slackUserOf, type SlackDirectoryPerson } from './identity.js';
import { createInteractionHandler } from './interactions.js';
import { approvalMessage, outcomeReply } from './message.js';
import { startSocketMode, type SocketConnection, type SocketModeOptions } from './socket.js';

/**
 * Slack as an approval channel: each request is posted as a Block Kit message to the configured
 * conversations and replaced in place (chat.update) as it moves on; when it ends, a reply in its thread
 * mentions the requester. Clicks come back over HTTP (signed, on Gatehouse's listener) or Socket Mode
 * (a WebSocket Gatehouse opens), and decide through the ApprovalService as the directory's person.
 */

export interface SlackChannelDeps {
  /** The instance name from the config: decisions are recorded with it as their channel. */
  name: string;
  service: Pick<ApprovalService, 'get' | 'decide'>;
  /** Who a verified Slack account is (approvers.directory). */
  directory: Pick<ApproverDirectory, 'bySlackAccount'>;
  /** approvers.directory as configured: whose Slack account to mention. */
  people: readonly SlackDirectoryPerson[];
  /** The request as every channel shows it (summarize, with the redactor and the page's base URL). */
  summarize: (request: ApprovalRequest) => ApprovalSummary;
  logger: Logger;
  now?: () => Date;
  /** Socket Mode's timing (tests shorten it). */
  socket?: SocketModeOptions;
}

export interface SlackChannel extends Channel {
  /** Socket Mode: resolves once connected; HTTP: at once. */
  ready(): Promise<void>;
}

/** How long `close` waits for decisions acknowledged but still being made. */
const CLOSE_GRACE_MS = 5_000;

export function createSlackChannel(config: SlackChannelConfig, deps: SlackChannelDeps): SlackChannel {
  const log = deps.logger.child({ module: 'slack', channel: deps.name });
  const now = deps.now ?? (() => new Date());
  const api: SlackApi = createSlackApi({ token: config.botToken, apiUrl: config.apiUrl, logger: log });
  const handle = createInteractionHandler({
    channel: deps.name,
    service: deps.service,
    directory: deps.directory,
    people: deps.people,
    summarize: deps.summarize,
    api,
    replays: createReplayGuard(config.maxRememberedInteractions),
    logger: log,
    now,
  });
  // Work acknowledged to Slack and still under way: close waits for it.
  const working = new Set<Promise<void>>();
  const later = (work: () => Promise<void>) => {
    const done = work()
      .catch((error: unknown) => log.error({ err: error }, 'Slack interaction failed after its answer'))
      .finally(() => working.delete(done));
    working.add(done);
  };
  const routes =
    config.transport === 'http'
      ? createInteractionRoute({ config, handle, later, logger: log, now })
      : undefined;
  const socket: SocketConnection | undefined =
    config.transport === 'socket'
      ? startSocketMode({
          config,
          handle,
          later,
          logger: log,
          now,
          ...(deps.socket ? { socket: deps.socket } : {}),
        })
      : undefined;

  // The message ts per conversation, and whether the requester was told, go on to the next delivery.
  const fanOut = createFanOut<string>({
    idOf: (channelId) => channelId,
    keep: (key) => key.startsWith('ts:') || key.startsWith('told:'),
    what: 'Slack conversations',
  });

  async function deliver(message: ChannelMessage, signal: AbortSignal): Promise<DeliveryOutcome> {
    const { summary } = message;
    const body = approvalMessage(summary);
    const requester = config.mentionRequester ? slackUserOf(deps.people, summary.requester.id) : undefined;
    const memo = await fanOut.deliver(message, config.channels, async (channelId, memo) => {
      const key = `ts:${channelId}`;
      // A message already posted is replaced in place; a conversation without one gets it now.
      if (memo[key]) await api.update(channelId, memo[key], body, signal);
      else memo[key] = await api.postMessage(channelId, body, signal);
      // Editing a message notifies nobody: the requester learns the end from a reply that mentions them.
      const told = `told:${channelId}`;
      if (summary.outcome && requester && !memo[told]) {
        await api.postMessage(channelId, outcomeReply(summary, requester), signal, memo[key]);
        memo[told] = '1';
      }
    });
    return { memo, target: config.channels.join(', ') };
  }

  return {
    name: deps.name,
    type: 'slack',
    deliver,
    ...(routes ? { routes: (req: IncomingMessage, res: ServerResponse) => routes(req, res) } : {}),
    ready: () => socket?.ready ?? Promise.resolve(),
    async close() {
      await socket?.close();
      const grace = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
      await Promise.race([Promise.allSettled([...working]), grace]);
    },
  };
}
