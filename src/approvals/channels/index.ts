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
import type { SlackChannelConfig } from './slack/config.js';
import type { TeamsBotChannelConfig, TeamsWorkflowChannelConfig } from './teams/config.js';
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
) => Channel | Promise<Channel>;

/**
 * How each channel type is built. The page delivers nothing (it is the store), so it has none. The
 * Teams types are added here by the Teams channels (src/approvals/channels/teams/). Each loads its
 * module (and the SDKs behind it: Slack's clients, jose, undici) only when the config names such a
 * channel: a Gatehouse without them starts, and answers its first client, without that work.
 */
export const CHANNEL_FACTORIES: Partial<Record<ChannelType, ChannelFactory<never>>> = {
  webhook: (async (name, config, deps) =>
    (await import('./webhook/channel.js')).createWebhookChannel(
      name,
      config,
      deps,
    )) satisfies ChannelFactory<WebhookChannelConfig>,
  'teams-bot': (async (name, config, deps) => {
    const [{ createTeamsBotChannel }, { storedConversations }] = await Promise.all([
      import('./teams/bot.js'),
      import('./teams/conversations.js'),
    ]);
    return createTeamsBotChannel(config, {
      name,
      service: deps.service,
      directory: deps.people,
      conversations: storedConversations(deps.store, name),
      summarize: deps.summarize,
      logger: deps.logger,
    });
  }) satisfies ChannelFactory<TeamsBotChannelConfig>,
  'teams-workflow': (async (name, config, deps) =>
    (await import('./teams/workflow.js')).createTeamsWorkflowChannel(config, {
      name,
      logger: deps.logger,
    })) satisfies ChannelFactory<TeamsWorkflowChannelConfig>,
  slack: (async (name, config, deps) =>
    (await import('./slack/channel.js')).createSlackChannel(config, {
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

export async function createChannels(
  config: Pick<Config, 'approvals' | 'approvers'>,
  deps: Omit<ChannelDeps, 'directory' | 'people'>,
  factories: Partial<Record<ChannelType, ChannelFactory<never>>> = CHANNEL_FACTORIES,
): Promise<Channels> {
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
    byName.set(name, await factory(name, channel, full));
    if (channel.type === 'webhook') webhooks.set(name, channel);
  }
  const callbacks =
    webhooks.size > 0
      ? (await import('./webhook/callbacks.js')).createWebhookCallbacks({
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
