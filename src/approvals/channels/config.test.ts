import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.js';
import { compilePolicySet } from '../../decision/compile.js';
import { formatProblems } from '../../decision/problems.js';
import { defaultLimits } from '../../decision/testkit.js';
import { GatehouseError } from '../../errors.js';
import { channelNames } from './config.js';
import { createDirectory } from './directory.js';

const FILE = '/configs/mcp.json';
const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

/** The message a config text is refused with. */
function refusal(config: unknown, env: NodeJS.ProcessEnv = {}): string {
  try {
    parseConfig(JSON.stringify(config, null, 2), FILE, env);
  } catch (error) {
    if (error instanceof GatehouseError) return error.message;
    throw error;
  }
  throw new Error('the config was accepted');
}

const webhook = (extra: Record<string, unknown> = {}) => ({
  type: 'webhook',
  url: 'https://hooks.example/gatehouse',
  secrets: [SECRET],
  ...extra,
});

describe('channel config', () => {
  it('accepts named channels, defaults and a directory, with defaults filled in', () => {
    const config = parseConfig(
      JSON.stringify({
        approvals: { channels: { hooks: webhook() }, defaultChannels: ['page', 'hooks'] },
        approvers: { directory: [{ id: 'bob', groups: ['security'] }] },
      }),
      FILE,
      {},
    );
    expect(config.approvals.channels.hooks).toEqual({
      ...webhook(),
      headers: {},
      decisions: true,
      maxRememberedIds: 10_000,
    });
    expect(config.approvals.delivery).toEqual({
      maxAttempts: 12,
      initialBackoffMs: 1000,
      maxBackoffMs: 600_000,
      maxRetryAfterMs: 3_600_000,
      timeoutMs: 10_000,
      concurrency: 4,
    });
    expect(parseConfig('{}', FILE, {}).approvals.defaultChannels).toEqual(['page']);
  });

  it('takes the secret from ${VAR}, and names the variable when it is unset', () => {
    const config = { approvals: { channels: { hooks: webhook({ secrets: ['${HOOK_SECRET}'] }) } } };
    expect(
      parseConfig(JSON.stringify(config), FILE, { HOOK_SECRET: SECRET }).approvals.channels.hooks,
    ).toMatchObject({
      secrets: [SECRET],
    });
    expect(refusal(config)).toMatch(
      /\$\.approvals\.channels\.hooks\.secrets\[0\]: environment variable HOOK_SECRET is not set/,
    );
  });

  it('refuses a webhook without a secret, with a bad secret or a bad URL, naming the JSON path', () => {
    const { secrets: _secrets, ...noSecret } = webhook();
    expect(refusal({ approvals: { channels: { hooks: noSecret } } })).toMatch(
      /^\/configs\/mcp\.json:\d+:\d+: \$\.approvals\.channels\.hooks\.secrets: a webhook channel needs its signing secret/,
    );
    expect(refusal({ approvals: { channels: { hooks: webhook({ secrets: ['hunter2'] }) } } })).toMatch(
      /\$\.approvals\.channels\.hooks\.secrets\[0\]: a webhook secret is "whsec_" followed by the base64 of 24 to 64 random bytes/,
    );
    expect(
      refusal({
        approvals: {
          channels: { hooks: webhook({ secrets: [`whsec_${Buffer.alloc(8).toString('base64')}`] }) },
        },
      }),
    ).toMatch(/secrets\[0\]: a webhook secret/);
    expect(refusal({ approvals: { channels: { hooks: webhook({ secrets: [] }) } } })).toMatch(
      /\$\.approvals\.channels\.hooks\.secrets: a webhook channel needs at least one signing secret/,
    );
    expect(refusal({ approvals: { channels: { hooks: webhook({ url: 'ftp://x.example' }) } } })).toMatch(
      /\$\.approvals\.channels\.hooks\.url: url must be an http\(s\) URL/,
    );
    expect(refusal({ approvals: { channels: { hooks: webhook({ verbose: true }) } } })).toMatch(
      /\$\.approvals\.channels\.hooks\.verbose: unknown key "verbose"/,
    );
  });

  it('refuses a channel of no known type, a bad name, and "page" for anything but the page', () => {
    expect(refusal({ approvals: { channels: { hooks: { type: 'discord' } } } })).toMatch(
      /\$\.approvals\.channels\.hooks(\.type)?: a channel needs a "type": page, slack, teams-bot, teams-workflow or webhook/,
    );
    expect(refusal({ approvals: { channels: { 'no spaces': webhook() } } })).toMatch(
      /channel names are 1-64 characters/,
    );
    expect(refusal({ approvals: { channels: { page: webhook() } } })).toMatch(
      /\$\.approvals\.channels\.page\.type: the name "page" is the approval page's/,
    );
  });

  it('refuses default channels that are not configured', () => {
    expect(refusal({ approvals: { defaultChannels: ['page', 'teams'] } })).toMatch(
      /\$\.approvals\.defaultChannels\[1\]: no channel "teams" is configured \(approvals\.channels has: page\)/,
    );
  });

  it('refuses a directory that names a person twice, or disagrees with their local account on groups', () => {
    const account = { id: 'bob', groups: ['security'], passwordHash: 'x' };
    expect(refusal({ approvers: { directory: [{ id: 'bob' }, { id: 'bob' }] } })).toMatch(
      /\$\.approvers\.directory\[1\]\.id: "bob" is in the directory twice/,
    );
    expect(
      refusal({ approvers: { accounts: [account], directory: [{ id: 'bob', groups: ['admins'] }] } }),
    ).toMatch(
      /\$\.approvers\.directory\[0\]\.groups: "bob" has groups \[admins\] here but \[security\] as a local account/,
    );
  });

  it('refuses one secret on two webhook channels: their callbacks could not be told apart', () => {
    expect(refusal({ approvals: { channels: { a: webhook(), b: webhook() } } })).toMatch(
      /\$\.approvals\.channels\.b\.secrets\[0\]: this secret is channel a's too; each webhook channel needs its own/,
    );
  });

  it('refuses a webhook allow-list naming nobody Gatehouse knows', () => {
    expect(refusal({ approvals: { channels: { hooks: webhook({ approvers: ['ghost'] }) } } })).toMatch(
      /\$\.approvals\.channels\.hooks\.approvers\[0\]: "ghost" is neither in approvers\.directory nor a local account/,
    );
  });
});

describe('a rule naming a channel', () => {
  const policy = (channels: string) =>
    [
      'rules:',
      '  - id: writes',
      '    effect: approve',
      '    approvers: [group:security]',
      `    channels: ${channels}`,
      '',
    ].join('\n');
  const compile = (text: string, channels?: ReadonlySet<string>) =>
    compilePolicySet([{ file: 'policies/writes.yaml', text }], {
      limits: defaultLimits,
      ...(channels ? { channels } : {}),
    });

  it('fails the policy load at the unknown channel, file:line:col', () => {
    const result = compile(policy('[page, hooks, teams]'), channelNames({ hooks: {} }));
    expect(result.ok).toBe(false);
    expect(formatProblems(result.ok ? [] : result.problems)).toMatch(
      /^policies\/writes\.yaml:5:29: rule writes: no channel "teams" is configured \(approvals\.channels has: hooks, page\)/,
    );
  });

  it('loads when every channel is configured, and when the config is unknown', () => {
    expect(compile(policy('[page, hooks]'), channelNames({ hooks: {} })).ok).toBe(true);
    expect(compile(policy('[anything]')).ok).toBe(true);
  });
});

describe('the approver directory', () => {
  const directory = createDirectory({
    directory: [
      { id: 'bob', groups: ['security'], teams: { aadObjectId: 'AAAA-1', tenantId: 'T-1' } },
      { id: 'erin', groups: [] },
    ],
    accounts: [{ id: 'carol', groups: ['ops'] }],
  });

  it('resolves an id through the directory, else a local account of that id', () => {
    expect(directory.byId('bob')).toEqual({ id: 'bob', groups: ['security'] });
    expect(directory.byId('carol')).toEqual({ id: 'carol', groups: ['ops'] });
    expect(directory.byId('mallory')).toBeUndefined();
  });

  it('resolves a Teams account by object id and tenant, in any case, and nothing else', () => {
    expect(directory.byTeamsAccount('aaaa-1', 't-1')).toEqual({ id: 'bob', groups: ['security'] });
    expect(directory.byTeamsAccount('AAAA-1', 'T-2')).toBeUndefined();
    expect(directory.byTeamsAccount('erin', 'T-1')).toBeUndefined();
  });
});
