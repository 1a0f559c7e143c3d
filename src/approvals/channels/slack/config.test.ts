import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.js';
import { GatehouseError } from '../../../errors.js';
import { createDirectory } from '../directory.js';
import { SlackChannelSchema } from './config.js';
import { slackClicker, type SlackClicker, type SlackPayloadParties } from './identity.js';
import { slackManifest, slackManifestProblems, SLACK_BOT_SCOPES } from './manifest.js';

const FILE = '/configs/mcp.json';

const slack = (extra: Record<string, unknown> = {}) => ({
  type: 'slack',
  botToken: 'xoxb-1-2-abc',
  signingSecret: '8f742231b10e8888abcd99yyyzzz85a5',
  channels: ['C0APPROVALS'],
  ...extra,
});

const problems = (value: unknown) =>
  SlackChannelSchema.safeParse(value).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

/** The message a whole config is refused with. */
function refusal(config: unknown): string {
  try {
    parseConfig(JSON.stringify(config, null, 2), FILE, {});
  } catch (error) {
    if (error instanceof GatehouseError) return error.message;
    throw error;
  }
  throw new Error('the config was accepted');
}

describe('slack channel config', () => {
  it('takes the http transport by default, with its defaults', () => {
    expect(SlackChannelSchema.parse(slack())).toEqual({
      ...slack(),
      transport: 'http',
      path: '/api/slack/interactions',
      mentionRequester: true,
      apiUrl: 'https://slack.com/api/',
      maxBodyBytes: 1_048_576,
      maxRememberedInteractions: 10_000,
    });
  });

  it('needs the secret of its transport and refuses the other one', () => {
    expect(problems(slack({ signingSecret: undefined }))).toEqual([
      'signingSecret: the http transport verifies every click with the app\'s signing secret: give "signingSecret"',
    ]);
    expect(problems(slack({ transport: 'socket' }))).toEqual([
      'appToken: Socket Mode connects with an app-level token: give "appToken" (xapp-…)',
      'signingSecret: "signingSecret" is not used by the socket transport; remove it (or set "transport")',
    ]);
    expect(
      problems(slack({ transport: 'socket', signingSecret: undefined, appToken: 'xapp-1-A-2-x' })),
    ).toEqual([]);
    expect(problems(slack({ appToken: 'xapp-1-A-2-x' }))).toEqual([
      'appToken: "appToken" is not used by the http transport; remove it (or set "transport")',
    ]);
  });

  it('refuses tokens of the wrong kind, names instead of ids, http beyond localhost', () => {
    expect(problems(slack({ botToken: 'xoxp-user-token' }))).toEqual([
      'botToken: a bot token starts with "xoxb-"; pass it as ${VAR}',
    ]);
    expect(problems(slack({ channels: ['#approvals'] }))).toEqual([
      'channels.0: must be a Slack conversation id (C…)',
    ]);
    expect(problems(slack({ channels: [] }))).toEqual([
      'channels: name at least one Slack conversation to post to',
    ]);
    expect(problems(slack({ apiUrl: 'http://slack.internal/api/' }))).toEqual([
      'apiUrl: must be an https URL (plain http only to localhost)',
    ]);
    expect(problems(slack({ apiUrl: 'http://127.0.0.1:9/api/' }))).toEqual([]);
  });

  it('one Slack account is one person, and two channels never share a path', () => {
    const bob = { userId: 'U0BOB0001', teamId: 'T0GATEHOUSE' };
    expect(
      refusal({
        approvers: {
          directory: [
            { id: 'bob', slack: bob },
            { id: 'eve', slack: bob },
          ],
        },
      }),
    ).toMatch(
      /\$\.approvers\.directory\[1\]\.slack: this Slack account is also "bob"'s: one account is one approver/,
    );
    // The same member id in another workspace is another account.
    expect(() =>
      parseConfig(
        JSON.stringify({
          approvers: {
            directory: [
              { id: 'bob', slack: bob },
              { id: 'eve', slack: { ...bob, teamId: 'T0OTHER00' } },
            ],
          },
        }),
        FILE,
        {},
      ),
    ).not.toThrow();
    expect(refusal({ approvals: { channels: { a: slack(), b: slack() } } })).toMatch(
      /\$\.approvals\.channels\.b\.path: channel a serves \/api\/slack\/interactions already/,
    );
    expect(
      refusal({ approvers: { directory: [{ id: 'bob', slack: { userId: 'bob', teamId: 'T0GATEHOUSE' } }] } }),
    ).toMatch(/slack\.userId: must be a Slack user id \(U…\)/);
  });

  it('the directory resolves a Slack account by member id and workspace, exactly', () => {
    const directory = createDirectory({
      directory: [{ id: 'bob', groups: ['security'], slack: { userId: 'U0BOB0001', teamId: 'T0GATEHOUSE' } }],
      accounts: [],
    });
    const bob = { id: 'bob', groups: ['security'] };
    expect(directory.bySlackAccount({ userId: 'U0BOB0001', teamId: 'T0GATEHOUSE' })).toEqual(bob);
    expect(directory.bySlackAccount({ userId: 'U0BOB0001', teamId: 'T0ELSEWHERE' })).toBeUndefined();
    expect(directory.bySlackAccount({ userId: 'u0bob0001', teamId: 'T0GATEHOUSE' })).toBeUndefined();
    // A workspace of an Enterprise organization is still that workspace.
    expect(
      directory.bySlackAccount({ userId: 'U0BOB0001', teamId: 'T0GATEHOUSE', enterpriseId: 'E0GATEORG' }),
    ).toEqual(bob);
    expect(directory.bySlackAccount({ userId: 'U0BOB0001', enterpriseId: 'E0GATEORG' })).toBeUndefined();
  });

  it('an Enterprise Grid account is a member id in its organization, in any of its workspaces', () => {
    const entries = [
      { id: 'erin', groups: ['security'], slack: { userId: 'W0ERIN001', enterpriseId: 'E0GATEORG' } },
    ];
    const directory = createDirectory({ directory: entries, accounts: [] });
    const erin = { id: 'erin', groups: ['security'] };
    expect(directory.bySlackAccount({ userId: 'W0ERIN001', enterpriseId: 'E0GATEORG' })).toEqual(erin);
    expect(
      directory.bySlackAccount({ userId: 'W0ERIN001', teamId: 'T0ANYWHERE', enterpriseId: 'E0GATEORG' }),
    ).toEqual(erin);
    expect(directory.bySlackAccount({ userId: 'W0ERIN001', enterpriseId: 'E0ELSEWHERE' })).toBeUndefined();
    expect(directory.bySlackAccount({ userId: 'W0ERIN001', teamId: 'T0ANYWHERE' })).toBeUndefined();

    // One member id given to two people, once in its workspace and once in its organization: the
    // config cannot tell that the workspace is the organization's, so a click matching both is nobody's.
    const both = createDirectory({
      directory: [
        ...entries,
        { id: 'mallory', groups: ['security'], slack: { userId: 'W0ERIN001', teamId: 'T0ANYWHERE' } },
      ],
      accounts: [],
    });
    expect(
      both.bySlackAccount({ userId: 'W0ERIN001', teamId: 'T0ANYWHERE', enterpriseId: 'E0GATEORG' }),
    ).toBeUndefined();
    expect(both.bySlackAccount({ userId: 'W0ERIN001', enterpriseId: 'E0GATEORG' })).toEqual(erin);
  });

  it('reads who clicked from the payload as Slack sends it, with or without an organization', () => {
    const user = (team_id?: string) => ({ id: 'W0ERIN001', ...(team_id ? { team_id } : {}) });
    const orgWorkspace = { id: 'T0GATEHOUSE', enterprise_id: 'E0GATEORG' };
    const org = { id: 'E0GATEORG' };
    const cases: [string, SlackPayloadParties, Omit<SlackClicker, 'userId'>][] = [
      [
        'a workspace outside any organization',
        { user: user('T0GATEHOUSE'), team: { id: 'T0GATEHOUSE' }, enterprise: null },
        { teamId: 'T0GATEHOUSE' },
      ],
      [
        "a workspace of an organization: the member's team_id is the organization's id",
        { user: user('E0GATEORG'), team: orgWorkspace, enterprise: org },
        { teamId: 'T0GATEHOUSE', enterpriseId: 'E0GATEORG' },
      ],
      [
        'an organization-wide app: team is null',
        { user: user('E0GATEORG'), team: null, enterprise: org },
        { enterpriseId: 'E0GATEORG' },
      ],
      [
        "the organization only in the member's team_id",
        { user: user('E0GATEORG'), team: { id: 'T0GATEHOUSE' } },
        { teamId: 'T0GATEHOUSE', enterpriseId: 'E0GATEORG' },
      ],
      // Slack Connect: someone of another workspace, or of another organization, clicks in a
      // conversation of this one. The organization is theirs, never the conversation's.
      [
        'Slack Connect, from another workspace, through an organization-wide app',
        { user: user('T0OUTSIDE'), team: null, enterprise: org },
        { teamId: 'T0OUTSIDE' },
      ],
      [
        'Slack Connect, from another workspace, in a workspace',
        { user: user('T0OUTSIDE'), team: { id: 'T0GATEHOUSE' } },
        { teamId: 'T0OUTSIDE' },
      ],
      [
        'Slack Connect, from another organization',
        { user: user('E0OTHERORG'), team: orgWorkspace, enterprise: org },
        { teamId: 'T0GATEHOUSE', enterpriseId: 'E0OTHERORG' },
      ],
      [
        'no team_id on the user: the organization the click came from',
        { user: user(), team: orgWorkspace },
        { teamId: 'T0GATEHOUSE', enterpriseId: 'E0GATEORG' },
      ],
    ];
    for (const [what, payload, where] of cases)
      expect(slackClicker(payload), what).toEqual({ userId: 'W0ERIN001', ...where });
  });

  it('a Slack account names a workspace or an organization, one of the two', () => {
    const refusalOf = (slack: Record<string, string>) =>
      refusal({ approvers: { directory: [{ id: 'bob', slack }] } });
    expect(refusalOf({ userId: 'U0BOB0001' })).toMatch(
      /slack\.teamId: name where the member id belongs: "teamId" \(T…, a workspace\) or "enterpriseId"/,
    );
    expect(refusalOf({ userId: 'U0BOB0001', teamId: 'E0GATEORG' })).toMatch(
      /slack\.teamId: must be a Slack workspace id \(T…\); an E… id is an Enterprise organization, given as "enterpriseId"/,
    );
    expect(refusalOf({ userId: 'W0BOB0001', teamId: 'T0GATEHOUSE', enterpriseId: 'E0GATEORG' })).toMatch(
      /slack\.enterpriseId: give "teamId" or "enterpriseId", not both/,
    );
    expect(refusalOf({ userId: 'W0BOB0001', enterpriseId: 'T0GATEHOUSE' })).toMatch(
      /slack\.enterpriseId: must be a Slack Enterprise organization id \(E…\)/,
    );
    // The same member id in one organization twice is one account given to two people; so is one
    // member id in a workspace for one person and in an organization for another.
    const directoryRefusal = (...accounts: [string, Record<string, string>][]) =>
      refusal({ approvers: { directory: accounts.map(([id, slack]) => ({ id, slack })) } });
    expect(
      directoryRefusal(
        ['bob', { userId: 'W0BOB0001', enterpriseId: 'E0GATEORG' }],
        ['eve', { userId: 'W0BOB0001', enterpriseId: 'E0GATEORG' }],
      ),
    ).toMatch(/\$\.approvers\.directory\[1\]\.slack: this Slack account is also "bob"'s/);
    expect(
      directoryRefusal(
        ['bob', { userId: 'W0BOB0001', teamId: 'T0GATEHOUSE' }],
        ['eve', { userId: 'W0EVE0001', enterpriseId: 'E0GATEORG' }],
        ['mallory', { userId: 'W0BOB0001', enterpriseId: 'E0GATEORG' }],
      ),
    ).toMatch(
      /\$\.approvers\.directory\[2\]\.slack: member id W0BOB0001 is also "bob"'s, in workspace T0GATEHOUSE: a click from a workspace of that organization would count as both/,
    );
  });

  it('the app manifest asks for exactly the scopes the channel uses', () => {
    expect(SLACK_BOT_SCOPES).toEqual(['chat:write']);
    expect(slackManifest({ transport: 'http', publicUrl: 'https://g.example/' })).toMatchObject({
      oauth_config: { scopes: { bot: ['chat:write'] } },
      settings: {
        interactivity: { is_enabled: true, request_url: 'https://g.example/api/slack/interactions' },
        socket_mode_enabled: false,
      },
    });
    expect(slackManifest({ transport: 'socket' })).toMatchObject({
      settings: { interactivity: { is_enabled: true }, socket_mode_enabled: true },
    });
  });

  it("the manifests pass Slack's published app manifest schema, which refuses what Slack would", () => {
    for (const transport of ['http', 'socket'] as const) {
      for (const orgWide of [false, true]) {
        expect(
          slackManifestProblems(slackManifest({ transport, orgWide, publicUrl: 'https://g.example' })),
        ).toEqual([]);
      }
    }
    expect(slackManifest({ transport: 'socket', orgWide: true })).toMatchObject({
      settings: { org_deploy_enabled: true },
    });
    // The check is the schema's: Slack's limits and its closed objects.
    expect(slackManifestProblems(slackManifest({ transport: 'socket', name: 'G'.repeat(36) }))).toEqual([
      '$.display_information.name: must NOT have more than 35 characters',
    ]);
    expect(
      slackManifestProblems({ display_information: { name: 'G' }, settings: { orgWide: true } }),
    ).toEqual(['$.settings: must NOT have additional properties (orgWide)']);
  });

  it("the README's manifests are the ones the channel needs, for both transports", () => {
    const readme = readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
    for (const transport of ['http', 'socket'] as const) {
      const block = new RegExp(
        `<!-- slack-manifest:${transport} -->\\s*\`\`\`json\\n([\\s\\S]*?)\`\`\``,
      ).exec(readme);
      expect(block, `the ${transport} manifest in README.md`).not.toBeNull();
      expect(JSON.parse(block![1]!)).toEqual(slackManifest({ transport }));
    }
  });
});
