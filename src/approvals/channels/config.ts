import { z } from 'zod';
import { SlackAccountSchema, SlackChannelSchema } from './slack/config.js';
import { slackAccountConflicts } from './slack/identity.js';
import { TeamsAccountSchema, TeamsBotChannelSchema, TeamsWorkflowChannelSchema } from './teams/config.js';
import { teamsAccountConflicts } from './teams/identity.js';
import { WebhookChannelSchema } from './webhook/config.js';

/**
 * The channels part of the config: named channel instances (`approvals.channels`), the ones a rule
 * without `channels` uses (`approvals.defaultChannels`), how deliveries are retried
 * (`approvals.delivery`), and who approvers are across channels (`approvers.directory`). The
 * type-specific schemas live beside their channel.
 */

/** The approval page: always there as `page`, whether configured or not. It delivers nothing. */
export const PAGE_CHANNEL = 'page';

export const ChannelName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'channel names are 1-64 characters of A-Z a-z 0-9 _ . -');

export const PageChannelSchema = z.strictObject({ type: z.literal('page') });

export const ChannelConfigSchema = z.discriminatedUnion(
  'type',
  [
    PageChannelSchema,
    SlackChannelSchema,
    TeamsBotChannelSchema,
    TeamsWorkflowChannelSchema,
    WebhookChannelSchema,
  ],
  { error: 'a channel needs a "type": page, slack, teams-bot, teams-workflow or webhook' },
);
export type ChannelConfig = z.infer<typeof ChannelConfigSchema>;

export const ChannelsSchema = z
  .record(ChannelName, ChannelConfigSchema)
  .default({})
  .describe(
    'Named channel instances that approval requests are sent to: {type: "webhook" | "slack" | ' +
      '"teams-bot" | "teams-workflow" | "page", ...}; rules name them in `channels`. `page` always exists.',
  );

export const DefaultChannelsSchema = z
  .array(ChannelName)
  .default([PAGE_CHANNEL])
  .describe('The channels of a rule that names none.');

export const DeliverySchema = z.strictObject({
  maxAttempts: z
    .number()
    .int()
    .positive()
    .default(12)
    .describe(
      'Tries of one delivery (network errors, timeouts, 408, 429, 5xx) before it is given up as failed.',
    ),
  initialBackoffMs: z
    .number()
    .int()
    .positive()
    .default(1000)
    .describe('Wait before the first retry; it doubles with each try, with jitter.'),
  maxBackoffMs: z
    .number()
    .int()
    .positive()
    .default(600_000)
    .describe("The longest wait between tries of Gatehouse's own backoff."),
  maxRetryAfterMs: z
    .number()
    .int()
    .positive()
    .default(3_600_000)
    .describe("A receiver's Retry-After (on 429 and 503) is honoured up to this long."),
  timeoutMs: z.number().int().positive().default(10_000).describe('Time limit of one delivery attempt.'),
  concurrency: z
    .number()
    .int()
    .positive()
    .default(4)
    .describe('Deliveries under way at once (each request and channel still in order).'),
});
export type DeliverySettings = z.infer<typeof DeliverySchema>;

export const DirectoryEntrySchema = z.strictObject({
  id: z.string().min(1).describe('The Gatehouse identity: the id rules and approver lists name.'),
  groups: z
    .array(z.string().min(1))
    .default([])
    .describe('Groups, for approver lists, when this person decides through Slack, Teams or a webhook.'),
  teams: TeamsAccountSchema.optional().describe('Their Microsoft Teams account (aadObjectId and tenantId).'),
  slack: SlackAccountSchema.optional().describe(
    'Their Slack account: userId, and teamId (a workspace) or enterpriseId (an Enterprise organization).',
  ),
});
export type DirectoryEntry = z.infer<typeof DirectoryEntrySchema>;

export const DirectorySchema = z
  .array(DirectoryEntrySchema)
  .default([])
  .describe(
    'Approvers as one person across channels: the id and groups a decision from Slack, Teams or a webhook ' +
      'counts as. A local account of the same id must have the same groups.',
  );

/** The channel names a rule may use: every configured one, and `page`. */
export function channelNames(channels: Readonly<Record<string, unknown>>): Set<string> {
  return new Set([PAGE_CHANNEL, ...Object.keys(channels)]);
}

interface CheckedConfig {
  approvals: { channels: Record<string, ChannelConfig>; defaultChannels: string[] };
  approvers: { accounts: { id: string; groups: string[] }[]; directory: DirectoryEntry[] };
}

/**
 * What the shapes alone cannot say, reported with the JSON path of the offending value: default
 * channels that are not configured, a `page` channel of another type, a directory that names a person
 * twice or disagrees with their local account on groups, a webhook allow-list naming nobody known, and
 * one secret on two webhook channels.
 */
export function checkChannelConfig(config: CheckedConfig, ctx: z.RefinementCtx): void {
  const { channels, defaultChannels } = config.approvals;
  const known = channelNames(channels);
  defaultChannels.forEach((name, i) => {
    if (!known.has(name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['approvals', 'defaultChannels', i],
        message: `no channel "${name}" is configured (approvals.channels has: ${[...known].join(', ')})`,
      });
    }
  });
  const page = channels[PAGE_CHANNEL];
  if (page && page.type !== 'page') {
    ctx.addIssue({
      code: 'custom',
      path: ['approvals', 'channels', PAGE_CHANNEL, 'type'],
      message: 'the name "page" is the approval page\'s; give this channel another name',
    });
  }
  const directory = new Map<string, DirectoryEntry>();
  config.approvers.directory.forEach((entry, i) => {
    if (directory.has(entry.id)) {
      ctx.addIssue({
        code: 'custom',
        path: ['approvers', 'directory', i, 'id'],
        message: `"${entry.id}" is in the directory twice`,
      });
    }
    directory.set(entry.id, entry);
    const account = config.approvers.accounts.find((a) => a.id === entry.id);
    if (account && !sameGroups(account.groups, entry.groups)) {
      ctx.addIssue({
        code: 'custom',
        path: ['approvers', 'directory', i, 'groups'],
        message:
          `"${entry.id}" has groups [${entry.groups.join(', ')}] here but [${account.groups.join(', ')}] ` +
          'as a local account: one person has one set of groups on every channel',
      });
    }
  });
  // One Teams or Slack account is one person: a click must not count as whichever entry comes first.
  for (const { index, message } of teamsAccountConflicts(config.approvers.directory)) {
    ctx.addIssue({ code: 'custom', path: ['approvers', 'directory', index, 'teams'], message });
  }
  for (const { index, message } of slackAccountConflicts(config.approvers.directory)) {
    ctx.addIssue({ code: 'custom', path: ['approvers', 'directory', index, 'slack'], message });
  }
  // Two channels serving one path on the listener: the first would answer (and refuse) the other's.
  const paths = new Map<string, string>();
  for (const [name, channel] of Object.entries(channels)) {
    const path = inboundPath(channel);
    if (path === undefined) continue;
    const other = paths.get(path);
    if (other !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['approvals', 'channels', name, 'path'],
        message: `channel ${other} serves ${path} already; give each channel its own path`,
      });
    }
    paths.set(path, name);
  }
  // A callback is told apart from another channel's by the secret that signed it.
  const secrets = new Map<string, string>();
  for (const [name, channel] of Object.entries(channels)) {
    if (channel.type !== 'webhook') continue;
    channel.secrets.forEach((secret, i) => {
      const other = secrets.get(secret);
      if (other !== undefined && other !== name) {
        ctx.addIssue({
          code: 'custom',
          path: ['approvals', 'channels', name, 'secrets', i],
          message: `this secret is channel ${other}'s too; each webhook channel needs its own`,
        });
      }
      secrets.set(secret, name);
    });
  }
  for (const [name, channel] of Object.entries(channels)) {
    if (channel.type !== 'webhook' || !channel.approvers) continue;
    channel.approvers.forEach((id, i) => {
      if (directory.has(id) || config.approvers.accounts.some((a) => a.id === id)) return;
      ctx.addIssue({
        code: 'custom',
        path: ['approvals', 'channels', name, 'approvers', i],
        message: `"${id}" is neither in approvers.directory nor a local account`,
      });
    });
  }
}

/** The path a channel serves on Gatehouse's listener, if it serves one. */
function inboundPath(channel: ChannelConfig): string | undefined {
  if (channel.type === 'teams-bot') return channel.path;
  if (channel.type === 'slack' && channel.transport === 'http') return channel.path;
  return undefined;
}

function sameGroups(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((g) => right.has(g));
}
