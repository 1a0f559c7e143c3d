import { z } from 'zod';
import { ListenerPath, SecureUrl } from '../urls.js';

/**
 * The config of the two Teams channels (`approvals.channels.<name>` with `type: teams-bot` or
 * `teams-workflow`) and of an approver's Teams account (`approvers.directory[].teams`). Sovereign clouds
 * are configuration: `cloud` picks Microsoft's endpoints for it, and each one can be overridden.
 */

/** Microsoft's endpoints per cloud, as Microsoft's Teams SDK and its proactive-messaging docs give them. */
export const TEAMS_CLOUDS = {
  public: {
    login: 'https://login.microsoftonline.com',
    botScope: 'https://api.botframework.com/.default',
    tokenIssuer: 'https://api.botframework.com',
    openIdMetadata: 'https://login.botframework.com/v1/.well-known/openidconfiguration',
    serviceUrl: 'https://smba.trafficmanager.net/teams',
  },
  gcc: {
    login: 'https://login.microsoftonline.com',
    botScope: 'https://api.botframework.com/.default',
    tokenIssuer: 'https://api.botframework.com',
    openIdMetadata: 'https://login.botframework.com/v1/.well-known/openidconfiguration',
    serviceUrl: 'https://smba.infra.gcc.teams.microsoft.com/teams',
  },
  'gcc-high': {
    login: 'https://login.microsoftonline.us',
    botScope: 'https://api.botframework.us/.default',
    tokenIssuer: 'https://api.botframework.us',
    openIdMetadata: 'https://login.botframework.azure.us/v1/.well-known/openidconfiguration',
    serviceUrl: 'https://smba.infra.gov.teams.microsoft.us/teams',
  },
  dod: {
    login: 'https://login.microsoftonline.us',
    botScope: 'https://api.botframework.us/.default',
    tokenIssuer: 'https://api.botframework.us',
    openIdMetadata: 'https://login.botframework.azure.us/v1/.well-known/openidconfiguration',
    serviceUrl: 'https://smba.infra.dod.teams.microsoft.us/teams',
  },
  china: {
    login: 'https://login.partner.microsoftonline.cn',
    botScope: 'https://api.botframework.azure.cn/.default',
    tokenIssuer: 'https://api.botframework.azure.cn',
    openIdMetadata: 'https://login.botframework.azure.cn/v1/.well-known/openidconfiguration',
    // No published proactive endpoint: conversations are reached through the serviceUrl learned at install.
    serviceUrl: undefined,
  },
} as const;
export type TeamsCloud = keyof typeof TEAMS_CLOUDS;

const Guid = z.string().regex(/^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/, 'must be a GUID');

/** Teams and Power Automate refuse messages above about 28 KB; the card alone must leave room for the envelope. */
const maxCardBytes = z
  .number()
  .int()
  .min(4_096)
  .max(27_000)
  .default(25_000)
  .describe(
    "Largest card JSON, in bytes (Teams refuses messages over about 28 KB): long arguments, descriptions and reasons are cut to fit, with the request page's link for the rest.",
  );

export const TeamsBotChannelSchema = z
  .strictObject({
    type: z.literal('teams-bot'),
    appId: Guid.describe("The bot's Microsoft App ID (its Entra app registration's client id)."),
    appPassword: z
      .string()
      .min(1)
      .optional()
      .describe("A client secret of the bot's app registration; use ${VAR}. Or give `certificate`."),
    certificate: z
      .strictObject({
        privateKey: z.string().min(1).describe('The PEM private key; use ${VAR}.'),
        certificate: z
          .string()
          .min(1)
          .describe('The PEM certificate uploaded to the app registration (its thumbprint names the key).'),
      })
      .optional()
      .describe("A certificate credential of the bot's app registration, instead of `appPassword`."),
    tenantId: z
      .string()
      .min(1)
      .describe(
        "The Entra tenant (GUID or domain) of the bot's single-tenant app registration: tokens come from it, and only conversations and people of this tenant count.",
      ),
    conversations: z
      .array(
        z.strictObject({
          id: z
            .string()
            .min(1)
            .describe(
              'A conversation id: a channel (19:…@thread.tacv2), a group chat (19:…@thread.v2) or a personal chat (a:…). Gatehouse logs the id of each conversation the bot is installed in.',
            ),
          serviceUrl: SecureUrl.optional().describe(
            'Its Bot Connector endpoint; default: the one learned when the bot was installed, or `endpoints.serviceUrl`.',
          ),
        }),
      )
      .default([])
      .describe('Where approval cards are posted. The bot must be installed there (the team, chat or user).'),
    path: ListenerPath('/api/teams/messages')
      .default('/api/teams/messages')
      .describe(
        "The messaging endpoint's path on Gatehouse's listener; the Azure Bot's messaging endpoint is approvals.publicUrl + this path.",
      ),
    cloud: z
      .enum(Object.keys(TEAMS_CLOUDS) as [TeamsCloud, ...TeamsCloud[]])
      .default('public')
      .describe("Microsoft's cloud: public, gcc, gcc-high, dod or china; picks the defaults of `endpoints`."),
    endpoints: z
      .strictObject({
        login: SecureUrl.optional().describe(
          'Entra sign-in authority; tokens come from <login>/<tenantId>/oauth2/v2.0/token.',
        ),
        botScope: z.string().min(1).optional().describe('The scope of outbound tokens.'),
        tokenIssuer: z.string().min(1).optional().describe('The `iss` of tokens Teams sends to the bot.'),
        openIdMetadata: SecureUrl.optional().describe(
          'OpenID metadata whose `jwks_uri` publishes the keys of tokens Teams sends to the bot.',
        ),
        serviceUrl: SecureUrl.optional().describe(
          'Bot Connector endpoint for conversations with no learned or configured serviceUrl.',
        ),
      })
      .default({})
      .describe("Overrides of the cloud's endpoints."),
    maxCardBytes,
    maxActivityBytes: z
      .number()
      .int()
      .min(16_384)
      .default(262_144)
      .describe('Largest activity body accepted on the messaging endpoint; a larger one gets 413 unread.'),
  })
  .refine((c) => (c.appPassword === undefined) !== (c.certificate === undefined), {
    message: 'give exactly one credential: appPassword or certificate',
    path: ['appPassword'],
  });
export type TeamsBotChannelConfig = z.infer<typeof TeamsBotChannelSchema>;

export const TeamsWorkflowChannelSchema = z.strictObject({
  type: z.literal('teams-workflow'),
  url: SecureUrl.describe(
    'The URL of a Teams workflow "When a Teams webhook request is received"; it holds a signature, so use ${VAR}.',
  ),
  maxCardBytes,
});
export type TeamsWorkflowChannelConfig = z.infer<typeof TeamsWorkflowChannelSchema>;

/** An approver's Teams account, in `approvers.directory[].teams`: decisions clicked in Teams count as them. */
export const TeamsAccountSchema = z.strictObject({
  aadObjectId: Guid.describe('Their Entra object id (Teams sends it as from.aadObjectId).'),
  tenantId: z.string().min(1).describe('Their Entra tenant id.'),
});
export type TeamsAccount = z.infer<typeof TeamsAccountSchema>;

export interface TeamsEndpoints {
  login: string;
  botScope: string;
  tokenIssuer: string;
  openIdMetadata: string;
  serviceUrl: string | undefined;
}

/** The cloud's endpoints with the configured overrides, without trailing slashes. */
export function teamsEndpoints(config: Pick<TeamsBotChannelConfig, 'cloud' | 'endpoints'>): TeamsEndpoints {
  const preset: (typeof TEAMS_CLOUDS)[TeamsCloud] = TEAMS_CLOUDS[config.cloud];
  const trim = (url: string) => url.replace(/\/+$/, '');
  const serviceUrl = config.endpoints.serviceUrl ?? preset.serviceUrl;
  return {
    login: trim(config.endpoints.login ?? preset.login),
    botScope: config.endpoints.botScope ?? preset.botScope,
    tokenIssuer: config.endpoints.tokenIssuer ?? preset.tokenIssuer,
    openIdMetadata: config.endpoints.openIdMetadata ?? preset.openIdMetadata,
    serviceUrl: serviceUrl && trim(serviceUrl),
  };
}
