import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../../config/schema.js';
import { GatehouseError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { ApprovalStore } from '../../store/store.js';
import type { ApprovalService } from '../service.js';
import type { Channel, ChannelType } from './channel.js';
import type { ChannelConfig } from './config.js';
import type { DirectoryEntry } from './config.js';
import { createDirectory, type ApproverDirectory } from './directory.js';
import type { ApprovalRequest } from '../request.js';
import type { ApprovalSummary } from './summary.js';
import { createSlackChannel } from './slack/channel.js';
import type { SlackChannelConfig } from './slack/config.js';
import { createTeamsBotChannel } from './teams/bot.js';
import type { TeamsBotChannelConfig, TeamsWorkflowChannelConfig } from './teams/config.js';
import { storedConversations } from './teams/conversations.js';
import { createTeamsWorkflowChannel } from './teams/workflow.js';
import { createWebhookCallbacks } from './webhook/callbacks.js';
import { createWebhookChannel } from './webhook/channel.js';
import type { WebhookChannelConfig } from './webhook/config.js';

/**
 * The configured channels, built once at start: the delivering ones by name (for the outbox), and the
 * inbound HTTP they serve (webhook callbacks, the Teams bot and Slack endpoints), tried before the
 * approval page and API on Gatehouse's listener.
 */

/** What every channel factory may use. */
export interface ChannelDeps {
  store: ApprovalStore;
  service: ApprovalService;
  directory: ApproverDirectory;
  /** approvers.directory as configured: who has which account on other channels. */
  people: readonly DirectoryEntry[];
  /** The request as every channel shows it (redacted, with its page's URL). */
  summarize: (request: ApprovalRequest) => ApprovalSummary;
  /** approvals.publicUrl or the listener's URL. */
  baseUrl: () => string;
  logger: Logger;
  now?: () => Date;
}

export type ChannelFactory<T extends ChannelConfig = ChannelConfig> = (
  name: string,
  config: T,
  deps: ChannelDeps,
) => Channel;

/**
 * How each channel type is built. The page delivers nothing (it is the store), so it has none. The
 * Teams types are added here by the Teams channels (src/approvals/channels/teams/).
 */
export const CHANNEL_FACTORIES: Partial<Record<ChannelType, ChannelFactory<never>>> = {
  webhook: ((name, config, deps) =>
    createWebhookChannel(name, config, deps)) satisfies ChannelFactory<WebhookChannelConfig>,
  'teams-bot': ((name, config, deps) =>
    createTeamsBotChannel(config, {
      name,
      service: deps.service,
      directory: deps.people,
      conversations: storedConversations(deps.store, name),
      summarize: deps.summarize,
      logger: deps.logger,
    })) satisfies ChannelFactory<TeamsBotChannelConfig>,
  'teams-workflow': ((name, config, deps) =>
    createTeamsWorkflowChannel(config, {
      name,
      logger: deps.logger,
    })) satisfies ChannelFactory<TeamsWorkflowChannelConfig>,
  slack: ((name, config, deps) =>
    createSlackChannel(config, {
      name,
      service: deps.service,
      directory: deps.directory,
      people: deps.people,
      summarize: deps.summarize,
      logger: deps.logger,
      ...(deps.now ? { now: deps.now } : {}),
    })) satisfies ChannelFactory<SlackChannelConfig>,
};

export interface Channels {
  /** The delivering channels by instance name. */
  byName: ReadonlyMap<string, Channel>;
  directory: ApproverDirectory;
  /** Inbound HTTP of every channel; resolves false when none of them answers this path. */
  routes(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  close(): Promise<void>;
}

export function createChannels(
  config: Pick<Config, 'approvals' | 'approvers'>,
  deps: Omit<ChannelDeps, 'directory' | 'people'>,
  factories: Partial<Record<ChannelType, ChannelFactory<never>>> = CHANNEL_FACTORIES,
): Channels {
  const directory = createDirectory(config.approvers);
  const full = { ...deps, directory, people: config.approvers.directory };
  const byName = new Map<string, Channel>();
  const webhooks = new Map<string, WebhookChannelConfig>();
  for (const [name, channel] of Object.entries(config.approvals.channels)) {
    if (channel.type === 'page') continue;
    const factory = factories[channel.type] as ChannelFactory | undefined;
    if (!factory) {
      throw new GatehouseError(
        'CONFIG_INVALID',
        `approvals.channels.${name}: channels of type ${channel.type} are not available in this build`,
      );
    }
    byName.set(name, factory(name, channel, full));
    if (channel.type === 'webhook') webhooks.set(name, channel);
  }
  const callbacks =
    webhooks.size > 0
      ? createWebhookCallbacks({
          channels: webhooks,
          store: deps.store,
          service: deps.service,
          directory,
          logger: deps.logger,
          ...(deps.now ? { now: deps.now } : {}),
        })
      : undefined;
  return {
    byName,
    directory,
    async routes(req, res) {
      if (callbacks && (await callbacks.routes(req, res))) return true;
      for (const channel of byName.values()) {
        if (channel.routes && (await channel.routes(req, res))) return true;
      }
      return false;
    },
    async close() {
      await Promise.allSettled([...byName.values()].map((c) => c.close?.()));
    },
  };
}
