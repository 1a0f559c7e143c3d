import { describe, expect, it } from 'vitest';
import { TeamsBotChannelSchema, teamsEndpoints } from './config.js';

const APP = '00000000-0000-0000-0000-00000000b07a';
const bot = (extra: Record<string, unknown> = {}) => ({
  type: 'teams-bot',
  appId: APP,
  appPassword: 'secret',
  tenantId: 'contoso.onmicrosoft.com',
  ...extra,
});
const problems = (input: unknown) =>
  TeamsBotChannelSchema.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

describe('teams-bot config', () => {
  it('takes exactly one credential', () => {
    expect(problems(bot())).toEqual([]);
    expect(problems(bot({ appPassword: undefined }))).toEqual([
      'appPassword: give exactly one credential: appPassword or certificate',
    ]);
    expect(problems(bot({ certificate: { privateKey: 'k', certificate: 'c' } }))).toEqual([
      'appPassword: give exactly one credential: appPassword or certificate',
    ]);
  });

  it('refuses a non-GUID app id, plain http endpoints off this machine, and a bad path', () => {
    expect(problems(bot({ appId: 'my-bot' }))).toEqual(['appId: must be a GUID']);
    expect(problems(bot({ endpoints: { login: 'http://login.example.com' } }))).toEqual([
      'endpoints.login: must be an https URL (plain http only to localhost)',
    ]);
    expect(problems(bot({ endpoints: { login: 'http://127.0.0.1:9000' } }))).toEqual([]);
    expect(
      problems(bot({ conversations: [{ id: '19:x@thread.tacv2', serviceUrl: 'http://smba.example' }] })),
    ).toEqual(['conversations.0.serviceUrl: must be an https URL (plain http only to localhost)']);
    expect(problems(bot({ path: 'api/teams' }))).toEqual(['path: a path such as /api/teams/messages']);
  });

  it("takes the public cloud's endpoints by default, another cloud's by name, and overrides one by one", () => {
    const parsed = TeamsBotChannelSchema.parse(bot());
    expect(teamsEndpoints(parsed)).toEqual({
      login: 'https://login.microsoftonline.com',
      botScope: 'https://api.botframework.com/.default',
      tokenIssuer: 'https://api.botframework.com',
      openIdMetadata: 'https://login.botframework.com/v1/.well-known/openidconfiguration',
      serviceUrl: 'https://smba.trafficmanager.net/teams',
    });
    const gov = teamsEndpoints(
      TeamsBotChannelSchema.parse(
        bot({ cloud: 'gcc-high', endpoints: { serviceUrl: 'https://x.example/teams/' } }),
      ),
    );
    expect(gov).toMatchObject({
      login: 'https://login.microsoftonline.us',
      tokenIssuer: 'https://api.botframework.us',
      serviceUrl: 'https://x.example/teams',
    });
    expect(teamsEndpoints(TeamsBotChannelSchema.parse(bot({ cloud: 'china' }))).serviceUrl).toBeUndefined();
    expect(problems(bot({ cloud: 'mars' }))[0]).toMatch(/^cloud: /);
  });
});
