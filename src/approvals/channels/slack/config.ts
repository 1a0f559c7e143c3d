import { z } from 'zod';
import { ListenerPath, SecureUrl } from '../urls.js';

/**
 * The config of a Slack channel (`approvals.channels.<name>` with `type: slack`) and of an approver's
 * Slack account (`approvers.directory[].slack`). Two transports bring clicks back: `http` (Slack POSTs
 * them, signed, to Gatehouse's public URL) and `socket` (Socket Mode: Gatehouse opens a WebSocket to
 * Slack with an app-level token, so no public URL is needed). Messages go out through the Web API
 * with the bot token either way.
 */

export const SLACK_TRANSPORTS = ['http', 'socket'] as const;

/** Slack's public Web API. */
export const SLACK_API_URL = 'https://slack.com/api/';

/** The default path of the interactivity endpoint on Gatehouse's listener. */
export const SLACK_INTERACTIONS_PATH = '/api/slack/interactions';

const slackId = (first: string, what: string) =>
  z.string().regex(new RegExp(`^[${first}][A-Z0-9]{6,}$`), `must be a Slack ${what} id (${first[0]}…)`);

const secret = (prefix: string, what: string) =>
  z
    .string()
    .min(1)
    .refine((value) => value.startsWith(prefix), `${what} starts with "${prefix}"; pass it as \${VAR}`);

export const SlackChannelSchema = z
  .strictObject({
    type: z.literal('slack'),
    botToken: secret('xoxb-', 'a bot token').describe(
      "The app's Bot User OAuth Token (xoxb-…, OAuth & Permissions); use ${VAR}.",
    ),
    transport: z
      .enum(SLACK_TRANSPORTS)
      .default('http')
      .describe(
        'How clicks reach Gatehouse: `http` (Slack POSTs them to approvals.publicUrl + `path`) or `socket` (Socket Mode: Gatehouse connects out to Slack; no public URL needed).',
      ),
    signingSecret: z
      .string()
      .min(16, 'a signing secret is 32 characters (Basic Information → App Credentials)')
      .optional()
      .describe("HTTP transport: the app's Signing Secret (Basic Information); use ${VAR}."),
    appToken: secret('xapp-', 'an app-level token')
      .optional()
      .describe('Socket Mode: an app-level token (xapp-…) with the connections:write scope; use ${VAR}.'),
    channels: z
      .array(slackId('CGD', 'conversation'))
      .min(1, 'name at least one Slack conversation to post to')
      .describe(
        'Conversation ids (C… for a channel, G… or D… for private ones) where requests are posted; invite the app there first.',
      ),
    path: ListenerPath(SLACK_INTERACTIONS_PATH)
      .default(SLACK_INTERACTIONS_PATH)
      .describe(
        "HTTP transport: the interactivity endpoint's path on Gatehouse's listener; the app's Request URL is approvals.publicUrl + this path.",
      ),
    mentionRequester: z
      .boolean()
      .default(true)
      .describe(
        'When a request ends, reply in its thread mentioning the requester (their approvers.directory Slack account), so they are notified.',
      ),
    apiUrl: SecureUrl.default(SLACK_API_URL).describe(
      "Slack's Web API base URL (also where Socket Mode asks for its WebSocket URL).",
    ),
    maxBodyBytes: z
      .number()
      .int()
      .min(16_384)
      .default(1_048_576)
      .describe('HTTP transport: largest interaction body read; a larger one gets 413 unread.'),
    maxRememberedInteractions: z
      .number()
      .int()
      .positive()
      .default(10_000)
      .describe(
        'Interactions remembered against replays (for the 5-minute timestamp window); when full, further clicks are refused until older ones age out.',
      ),
  })
  .superRefine((config, ctx) => {
    const needs = config.transport === 'http' ? 'signingSecret' : 'appToken';
    const unused = config.transport === 'http' ? 'appToken' : 'signingSecret';
    if (config[needs] === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [needs],
        message:
          config.transport === 'http'
            ? 'the http transport verifies every click with the app\'s signing secret: give "signingSecret"'
            : 'Socket Mode connects with an app-level token: give "appToken" (xapp-…)',
      });
    }
    if (config[unused] !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [unused],
        message: `"${unused}" is not used by the ${config.transport} transport; remove it (or set "transport")`,
      });
    }
  });
export type SlackChannelConfig = z.infer<typeof SlackChannelSchema>;

/**
 * An approver's Slack account, in `approvers.directory[].slack`: clicks in Slack count as them. A
 * member id is unique within its workspace, and within an Enterprise organization across all of its
 * workspaces (Slack's `W…` ids): the account is the member id with the one or the other.
 */
export const SlackAccountSchema = z
  .strictObject({
    userId: slackId('UW', 'user').describe('Their Slack member id (U… or W…; profile → ⋯ → Copy member ID).'),
    teamId: z
      .string()
      .regex(
        /^T[A-Z0-9]{6,}$/,
        'must be a Slack workspace id (T…); an E… id is an Enterprise organization, given as "enterpriseId"',
      )
      .optional()
      .describe('The id of their workspace (T…). Give this or enterpriseId.'),
    enterpriseId: slackId('E', 'Enterprise organization')
      .optional()
      .describe(
        'Enterprise Grid: the id of the organization (E…), for an app deployed to the whole organization; their clicks count in any of its workspaces. Give this or teamId.',
      ),
  })
  .superRefine((account, ctx) => {
    const given = [account.teamId, account.enterpriseId].filter((id) => id !== undefined).length;
    if (given === 1) return;
    ctx.addIssue({
      code: 'custom',
      path: given === 0 ? ['teamId'] : ['enterpriseId'],
      message:
        given === 0
          ? 'name where the member id belongs: "teamId" (T…, a workspace) or "enterpriseId" (E…, an Enterprise organization)'
          : 'give "teamId" or "enterpriseId", not both: an organization-wide account is its member id in the organization',
    });
  });
export type SlackAccount = z.infer<typeof SlackAccountSchema>;
