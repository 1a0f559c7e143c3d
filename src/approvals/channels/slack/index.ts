/**
 * Slack as an approval channel (`type: slack`): its config, the channel itself, and what the channels'
 * wiring and config checks need from it.
 */
export { createSlackChannel, type SlackChannel, type SlackChannelDeps } from './channel.js';
export {
  SLACK_API_URL,
  SLACK_INTERACTIONS_PATH,
  SlackAccountSchema,
  SlackChannelSchema,
  type SlackAccount,
  type SlackChannelConfig,
} from './config.js';
export {
  approverFromSlack,
  slackAccountConflicts,
  slackClicker,
  type SlackClicker,
  type SlackDirectoryPerson,
} from './identity.js';
export { SLACK_BOT_SCOPES, SLACK_APP_SCOPES, slackManifest } from './manifest.js';
