/**
 * Microsoft Teams as approval channels: the interactive bot (`teams-bot`) and the Workflows webhook
 * (`teams-workflow`), their config, and what the channels' wiring and store need from them.
 */
export { createTeamsBotChannel, type TeamsBotDeps } from './bot.js';
export { createTeamsWorkflowChannel, type TeamsWorkflowDeps } from './workflow.js';
export {
  TeamsAccountSchema,
  TeamsBotChannelSchema,
  TeamsWorkflowChannelSchema,
  teamsEndpoints,
  TEAMS_CLOUDS,
  type TeamsAccount,
  type TeamsBotChannelConfig,
  type TeamsWorkflowChannelConfig,
} from './config.js';
export {
  ConversationReferenceSchema,
  createMemoryConversationStore,
  type ConversationReference,
  type TeamsConversationStore,
} from './conversations.js';
export { teamsAccountConflicts, type DirectoryPerson } from './identity.js';
